"""What every daemon operation works with: the engine, the gatherer, the locks, the id generator.

Reads of the store are `async` methods here: they call the engine inline when it does not block
(LevelDB, memory: no thread hop) and through a worker thread when it may (a remote engine), so
the event loop never waits on one. Operations take them under their locks, as before.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from dmd.metadata import keys
from dmd.metadata.engine import Engine, Op, prefix_cursor, sys_int
from dmd.metadata.gatherer import WriteGatherer
from dmd.metadata.locks import LockSpace
from dmd.metadata.notify.notifier import Notifier
from dmd.metadata.notify.outbox import Outbox
from dmd.metadata.sessions import SessionLocks, SharedEngine
from dmd.metadata.versionids import VersionIdGenerator
from dmd.metadata.versioning import MD, Plan
from shared import constants as C
from shared.contract.records import is_inline
from shared.errors import S3Error, ServiceUnavailable

log = logging.getLogger("coffer.metadata")

T = TypeVar("T")


def dumps(value: Any) -> bytes:
    """A stored value: every value but a few `__sys` scalars is an orjson document."""
    return orjson.dumps(value)


def loads(raw: bytes | None) -> Any:
    return None if raw is None else orjson.loads(raw)


class MetadataContext:
    def __init__(self, engine: Engine, replication_group: str, sync: bool = True) -> None:
        self.engine = engine
        self.gatherer = WriteGatherer(engine, sync=sync)
        # On an engine several daemons share, locks hold across daemons and locked writes commit
        # with their locks (sessions.py); version ids come from this daemon's slot of the sequence.
        self.shared = isinstance(engine, SharedEngine)
        self.sessions = SessionLocks(engine, sync) if isinstance(engine, SharedEngine) else None
        self.buckets = LockSpace("bucket", self.sessions)
        self.uploads = LockSpace("upload", self.sessions)
        self.keys = LockSpace("key", self.sessions)
        self.leases = LockSpace("lease", self.sessions)
        slot, stride = (engine.vid_slot(), C.PG_VID_SLOTS) if isinstance(engine, SharedEngine) else (0, 1)
        self.vids = VersionIdGenerator(replication_group, sys_int(engine, "vid_hwm"), slot, stride)
        self.boot_id = str(uuid.uuid4())
        self.outbox = Outbox(self)      # event records of mutations (no targets: nothing is ever queued)
        self.notifier = Notifier(self)  # the targets and their delivery workers

    # -- reads -------------------------------------------------------------
    async def run(self, read: Callable[..., T], *args: Any) -> T:
        """A read of the engine: inline when the engine does not block, else in a worker thread."""
        if self.engine.blocking:
            return await asyncio.to_thread(read, *args)
        return read(*args)

    async def read_json(self, key: bytes) -> Any:
        return loads(await self.run(self.engine.get, key))

    async def bucket_attrs(self, bucket: str) -> MD:
        attrs = await self.read_json(keys.metastore_key(bucket))
        if attrs is None:
            raise S3Error("NoSuchBucket", BucketName=bucket)
        return attrs

    async def read_object(self, bucket: str, raw_key: str) -> MD | None:
        """A master (`key`) or a version (`key\\0vid`, see keys.version_key)."""
        return await self.read_json(keys.object_key(bucket, raw_key))

    async def next_version(self, bucket: str, key: str, exclude_vid: str) -> MD | None:
        """The newest version of `key` other than `exclude_vid`: one seek to `key\\0`."""
        return await self.run(self._next_version, bucket, key, exclude_vid)

    def _next_version(self, bucket: str, key: str, exclude_vid: str) -> MD | None:
        start, stop = keys.versions_range(bucket, key)
        with self.engine.cursor(start, stop) as cursor:
            for raw_key, raw in cursor:
                if keys.version_of(bucket, key, raw_key) != exclude_vid:
                    return loads(raw)
        return None

    async def read_overview(self, bucket: str, key: str, upload_id: str) -> MD | None:
        """A multipart upload's overview, None when there is no such upload."""
        return await self.read_json(keys.overview_key(bucket, key, upload_id))

    async def read_part(self, bucket: str, upload_id: str, number: int) -> MD | None:
        return await self.read_json(keys.part_key(bucket, upload_id, number))

    async def read_parts(self, bucket: str, upload_id: str) -> list[tuple[bytes, MD]]:
        """Every stored part of an upload, by number, with its key."""
        return await self.run(self._read_parts, bucket, upload_id)

    def _read_parts(self, bucket: str, upload_id: str) -> list[tuple[bytes, MD]]:
        with prefix_cursor(self.engine, keys.parts_prefix(bucket, upload_id)) as cursor:
            return [(raw_key, loads(raw)) for raw_key, raw in cursor]

    # -- writes ------------------------------------------------------------
    def new_version_id(self, master: MD | None = None) -> str:
        """A version id newer than every one made here, and than the key's latest version (`master`)."""
        return self.vids.next((master or {}).get("versionId"))

    def hwm_ops(self) -> list[Op]:
        """The id clock's high-water mark, kept so ids keep growing across a restart.

        Not on a shared engine: one row written by every PUT of every daemon would serialize them
        all; there the ids follow each key's latest version under its lock (new_version_id).
        """
        return [] if self.shared else [(keys.sys_key("vid_hwm"), str(self.vids.last_ms).encode())]

    def plan_ops(self, bucket: str, plan: Plan, reason: str) -> tuple[list[Op], list[dict[str, Any]]]:
        """A versioning plan as engine ops, with `__gc` entries for the data it drops."""
        ops: list[Op] = [(keys.object_key(bucket, k), None) for k in plan.dels]
        ops += [(keys.object_key(bucket, k), dumps(v)) for k, v in plan.puts]
        gc_ops, gc = self.gc_entries(bucket, plan.garbage, reason)
        return ops + gc_ops, gc

    def gc_entries(self, bucket: str, versions: list[MD], reason: str) -> tuple[list[Op], list[dict[str, Any]]]:
        """One `__gc` entry per dropped data piece (design.md §9.1)."""
        ms = int(time.time() * 1000)
        ops: list[Op] = []
        gc: list[dict[str, Any]] = []
        for md in versions:
            for piece in md.get("location") or []:
                if is_inline(piece):
                    continue                            # the bytes went with the record
                key = keys.gc_key(ms, piece["key"])      # gcKey below is relative to the __gc sub-level
                ops.append((keys.gc_entry(key), dumps({"bucket": bucket, "key": md.get("key"),
                                                       "versionId": md.get("versionId"), "reason": reason,
                                                       "location": piece})))
                gc.append({"gcKey": key, "location": [piece]})
        return ops, gc

    async def commit(self, ops: list[Op]) -> None:
        """Make `ops` durable: in the locked operation's own transaction on a shared engine, else gathered."""
        try:
            if self.sessions is None or not await self.sessions.commit(ops):
                await self.gatherer.write(ops)
        finally:
            if self.outbox.pending:         # written or not, its records are no longer in flight
                self.outbox.settled(ops)
        if self.outbox.armed:           # false until a bucket with rules sees an event
            self.outbox.wake()
        changed = [name for name in (keys.metastore_bucket(key) for key, _ in ops) if name is not None]
        if changed:
            await self.announce(changed)

    async def announce(self, names: list[str]) -> None:
        """Front-ends cache bucket attributes (and identities: IAM_CHANGED): they forget these
        before the write is acknowledged; the other daemons' front-ends soon after (not before the ack)."""
        await self.announce_bucket_change(names)
        if self.shared:
            await self._notify_others(names)

    async def _notify_others(self, buckets: list[str]) -> None:
        payload = orjson.dumps({"from": self.boot_id, "buckets": buckets}).decode()
        try:
            await self.run(self.engine.notify, C.PG_BUCKETS_CHANNEL, payload)
        except ServiceUnavailable as exc:   # the write is durable: a lost notice is not its failure
            log.warning("could not tell the other daemons of a bucket change",
                        extra={"buckets": buckets, "error": str(exc)})

    def listen_for_bucket_changes(self, loop: asyncio.AbstractEventLoop) -> None:
        """On a shared engine, pass other daemons' bucket changes on to this daemon's front-ends."""
        if not self.shared:
            return

        def deliver(payload: str) -> None:
            note = orjson.loads(payload)
            if note.get("from") != self.boot_id:
                asyncio.run_coroutine_threadsafe(self.announce_bucket_change(note["buckets"]), loop)

        self.engine.listen(C.PG_BUCKETS_CHANNEL, deliver)

    async def announce_bucket_change(self, buckets: list[str]) -> None:
        """Replaced by the RPC server, which can reach every connected front-end."""
