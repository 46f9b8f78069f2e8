"""What every daemon operation works with: the store, the gatherer, the locks, the id generator."""
from __future__ import annotations

import time
import uuid
from typing import Any

from dmd.metadata.gatherer import WriteGatherer
from dmd.metadata.locks import LockTable
from dmd.metadata.store import GC, METASTORE, SYS, MetadataStore, bucket_prefix, dumps, gc_key, loads, metastore_key
from dmd.metadata.versionids import VersionIdGenerator
from dmd.metadata.versioning import MD, Plan
from shared.errors import S3Error

Op = tuple[bytes, bytes | None]


class MetadataContext:
    def __init__(self, store: MetadataStore, replication_group: str, sync: bool = True) -> None:
        self.store = store
        self.gatherer = WriteGatherer(store, sync=sync)
        self.buckets = LockTable()
        self.uploads = LockTable()
        self.keys = LockTable()
        self.vids = VersionIdGenerator(replication_group, store.sys_int("vid_hwm"))
        self.boot_id = str(uuid.uuid4())

    # -- reads -------------------------------------------------------------
    def bucket_attrs(self, bucket: str) -> MD:
        attrs = self.store.get_json(metastore_key(bucket))
        if attrs is None:
            raise S3Error("NoSuchBucket", BucketName=bucket)
        return attrs

    def read_object(self, bucket: str, raw_key: str) -> MD | None:
        return loads(self.store.get(bucket_prefix(bucket) + raw_key.encode()))

    def next_version(self, bucket: str, key: str, exclude_vid: str) -> MD | None:
        """The newest version of `key` other than `exclude_vid`: one seek to `key\\0`."""
        prefix = bucket_prefix(bucket) + key.encode()
        with self.store.iterator(start=prefix + b"\x00", stop=prefix + b"\x01") as it:
            for raw_key, raw in it:
                if raw_key[len(prefix) + 1:].decode() != exclude_vid:
                    return loads(raw)
        return None

    # -- writes ------------------------------------------------------------
    def new_version_id(self) -> str:
        return self.vids.next()

    def hwm_op(self) -> Op:
        return SYS + b"vid_hwm", str(self.vids.last_ms).encode()

    def plan_ops(self, bucket: str, plan: Plan, reason: str) -> tuple[list[Op], list[dict[str, Any]]]:
        """A versioning plan as LevelDB ops, with `__gc` entries for the data it drops."""
        prefix = bucket_prefix(bucket)
        ops: list[Op] = [(prefix + k.encode(), None) for k in plan.dels]
        ops += [(prefix + k.encode(), dumps(v)) for k, v in plan.puts]
        gc_ops, gc = self.gc_entries(bucket, plan.garbage, reason)
        return ops + gc_ops, gc

    def gc_entries(self, bucket: str, versions: list[MD], reason: str) -> tuple[list[Op], list[dict[str, Any]]]:
        """One `__gc` entry per dropped data piece (dmd-reference §9.1)."""
        ms = int(time.time() * 1000)
        ops: list[Op] = []
        gc: list[dict[str, Any]] = []
        for md in versions:
            for piece in md.get("location") or []:
                key = gc_key(ms, piece["key"])      # gcKey below is relative to the __gc sub-level
                ops.append((GC + key.encode(), dumps({"bucket": bucket, "key": md.get("key"), "versionId": md.get("versionId"),
                                        "reason": reason, "location": piece})))
                gc.append({"gcKey": key, "location": [piece]})
        return ops, gc

    async def commit(self, ops: list[Op]) -> None:
        await self.gatherer.write(ops)
        changed = [key[len(METASTORE):].decode() for key, _ in ops if key.startswith(METASTORE)]
        if changed:
            # Front-ends cache bucket attributes: they forget these before the write is acknowledged.
            await self.announce_bucket_change(changed)

    async def announce_bucket_change(self, buckets: list[str]) -> None:
        """Replaced by the RPC server, which can reach every connected front-end."""
