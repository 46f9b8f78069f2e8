"""Delivery: one worker per target outbox, in the metadata daemon.

A worker reads its outbox in key (sequence) order, sends each record in turn and deletes the
ones sent, so records of one key arrive in the order their writes committed. With one daemon it
reads on from where it stopped rather than from the start, so it does not walk again the deleted
records LevelDB keeps until a compaction: below the outbox's `floor` every record has settled, so
a later read need not look below min(floor, the first record not yet sent). A full read every
NOTIFY_FULL_READ_S picks up the rest (a write abandoned between its records and its commit).
When a send fails
the target is down: the worker keeps the record, waits (backoff doubling from NOTIFY_BACKOFF_MIN_S
to NOTIFY_BACKOFF_MAX_S) and tries the same record again. A crash between a send and the delete
sends that record again after the restart: delivery is at least once. Over `queue_limit`, the
oldest records are dropped (counted and logged) unless the target refuses new writes instead.
On an engine several daemons share, one worker per outbox sends: the one whose daemon holds the
outbox's lease (a record taken under the distributed key lock, renewed while it works); the
others stand by, counting the queue, and take over once a lease runs out.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from dmd.metadata import keys
from dmd.metadata.engine import prefix_cursor
from dmd.metadata.notify.senders import Sender, make_sender
from shared import constants as C
from shared.notify.targets import Target

if TYPE_CHECKING:
    from dmd.metadata.context import MetadataContext

log = logging.getLogger("coffer.notify")


class TargetWorker:
    """Sends one target's outbox; its state is what `coffer admin notify status` shows."""

    def __init__(self, ctx: MetadataContext, target: Target) -> None:
        self.ctx, self.target = ctx, target
        self.queue = target.queue_key
        self.prefix = keys.outbox_prefix(self.queue)
        self.state = "starting"
        self.last_error = ""
        self.last_error_at = 0.0
        self.delivered = 0
        self.dropped = 0
        self.failures = 0
        self.sender: Sender | None = None
        self.lease_until = 0.0
        self.task: asyncio.Task | None = None
        self._wakeup = asyncio.Event()
        self.resume: bytes | None = None        # where the next read starts (None: the outbox's start)
        self.full_read_at = 0.0

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"notify {self.queue}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping, whatever it was doing
                pass
        if self.sender is not None:
            await self.sender.close()

    def status(self) -> dict[str, Any]:
        return {"target": self.target.name, "arn": self.target.arn, "type": self.target.type,
                "state": self.state, "queued": self.ctx.outbox.depth.get(self.queue, 0),
                "queueLimit": self.target.queue_limit, "delivered": self.delivered, "dropped": self.dropped,
                "failures": self.failures, "lastError": self.last_error,
                "lastErrorAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_error_at))
                if self.last_error_at else ""}

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        count, last = await self.ctx.run(self._count)
        self.ctx.outbox.depth[self.queue] = count
        self.ctx.outbox.seen_sequence(last)
        backoff = C.NOTIFY_BACKOFF_MIN_S
        while True:
            self._wakeup.clear()
            if not await self._lease():
                self.state = "standby"
                self.ctx.outbox.depth[self.queue] = (await self.ctx.run(self._count))[0]
                await asyncio.sleep(C.NOTIFY_STANDBY_S)
                continue
            await self._trim()
            start, floor = self._start(), keys.outbox_key(self.queue, self.ctx.outbox.floor(), "")
            entries = await self.ctx.run(self._read, C.NOTIFY_READ_BATCH, start)
            if not entries:
                self.resume = floor         # nothing settled is left below it
                self.ctx.outbox.depth[self.queue] = 0
                if self.state == "starting":
                    self.state = "idle"
                await self._sleep(C.NOTIFY_POLL_S)
                continue
            sent, error = await self._send(entries)
            if sent:
                await self._forget([k for k, _ in entries[:sent]])
            after = entries[sent - 1][0] + b"\0" if sent else (start or self.prefix)
            self.resume = min(floor, after)
            if error is None:
                backoff = C.NOTIFY_BACKOFF_MIN_S
                continue
            self._failed(error)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, C.NOTIFY_BACKOFF_MAX_S)

    def _start(self) -> bytes | None:
        """Where this read starts: the resume point, or the outbox's start (shared engines, and
        every NOTIFY_FULL_READ_S, when writes that never committed stop holding the floor down)."""
        now = time.monotonic()
        if self.ctx.shared or self.resume is None or now - self.full_read_at >= C.NOTIFY_FULL_READ_S:
            self.full_read_at = now
            self.ctx.outbox.forget_stale(now - C.NOTIFY_FULL_READ_S)
            return None
        return self.resume

    async def _lease(self) -> bool:
        """Whether this daemon sends the outbox: always with one daemon; else while it holds the lease."""
        if not self.ctx.shared:
            return True
        now = time.time()
        if self.lease_until - now > C.NOTIFY_LEASE_RENEW_S:
            return True
        key = keys.outbox_lease_key(self.queue)
        async with self.ctx.keys.hold(("outbox-lease", self.queue)):     # held across daemons
            lease = await self.ctx.read_json(key)
            if lease and lease["owner"] != self.ctx.boot_id and lease["until"] > now:
                return False
            until = now + C.NOTIFY_LEASE_S
            await self.ctx.commit([(key, orjson.dumps({"owner": self.ctx.boot_id, "until": until}))])
        self.lease_until = until
        return True

    async def _send(self, entries: list[tuple[bytes, dict]]) -> tuple[int, BaseException | None]:
        """Send in order until one fails: (how many were sent, the failure or None)."""
        sent = 0
        try:
            if self.sender is None:
                self.sender = make_sender(self.target)
            batch = getattr(self.sender, "send_batch", None)
            if batch is not None:       # one round trip for the lot (Redis): all or none count as sent
                await asyncio.wait_for(batch([e for _, e in entries]), C.NOTIFY_SEND_TIMEOUT_S)
                sent = len(entries)
            for _, entry in entries[sent:]:
                await asyncio.wait_for(self.sender.send(entry), C.NOTIFY_SEND_TIMEOUT_S)
                sent += 1
            self.state = "online"
            return sent, None
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - any failure of a target is "down, retry"
            return sent, exc

    def _failed(self, error: BaseException) -> None:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if self.state != "offline" or text != self.last_error:
            log.warning("notification target unreachable", extra={"target": self.target.name, "error": text})
        self.state, self.last_error, self.last_error_at = "offline", text, time.time()
        self.failures += 1
        sender, self.sender = self.sender, None     # a fresh connection next time
        if sender is not None:
            asyncio.get_running_loop().create_task(sender.close())

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _forget(self, done: list[bytes]) -> None:
        await self.ctx.commit([(k, None) for k in done])
        self.delivered += len(done)
        self.ctx.outbox.depth[self.queue] = max(0, self.ctx.outbox.depth.get(self.queue, 0) - len(done))

    async def _trim(self) -> None:
        """Drop the oldest records over queue_limit (a target that refuses writes when full never gets here)."""
        over = self.ctx.outbox.depth.get(self.queue, 0) - self.target.queue_limit
        if over <= 0 or self.target.refuses_when_full:
            return
        oldest = await self.ctx.run(self._oldest, min(over, C.WG_MAX_BATCH_OPS))
        await self.ctx.commit([(k, None) for k in oldest])
        self.dropped += len(oldest)
        self.ctx.outbox.depth[self.queue] = max(0, self.ctx.outbox.depth.get(self.queue, 0) - len(oldest))
        log.warning("notification queue over its limit: oldest records dropped",
                    extra={"target": self.target.name, "dropped": len(oldest), "droppedTotal": self.dropped})

    # -- reads (worker threads on a blocking engine) ----------------------------------------------
    def _read(self, limit: int, start: bytes | None) -> list[tuple[bytes, dict]]:
        out = []
        cursor = prefix_cursor(self.ctx.engine, self.prefix) if start is None else \
            self.ctx.engine.cursor(start, keys.inc(self.prefix))
        with cursor:
            for raw_key, raw in cursor:
                out.append((raw_key, orjson.loads(raw)))
                if len(out) >= limit:
                    break
        return out

    def _oldest(self, limit: int) -> list[bytes]:
        out = []
        with prefix_cursor(self.ctx.engine, self.prefix) as cursor:
            for raw_key, _ in cursor:
                out.append(raw_key)
                if len(out) >= limit:
                    break
        return out

    def _count(self) -> tuple[int, int]:
        """(records queued, the highest sequence number among them)."""
        count, last = 0, 0
        with prefix_cursor(self.ctx.engine, self.prefix) as cursor:
            for raw_key, _ in cursor:
                count += 1
                last = keys.outbox_seq(self.queue, raw_key)
        return count, last
