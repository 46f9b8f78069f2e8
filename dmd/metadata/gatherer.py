"""Write gathering (design.md §3): concurrent writes share one synced engine batch.

Nobody is answered before the fsync that covers their write; one commit is in flight at a
time, in a dedicated writer thread, so the event loop keeps gathering during the fsync.
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from dmd.metadata.engine import Engine, Op
from shared import constants as C
from shared import metrics

log = logging.getLogger("coffer.gatherer")


@dataclass
class _Batch:
    ops: list[Op] = field(default_factory=list)
    waiters: list[asyncio.Future] = field(default_factory=list)
    nbytes: int = 0
    fired: bool = False
    timer: asyncio.TimerHandle | None = None


@dataclass
class GatherStats:
    batches: int = 0
    writes: int = 0
    ops: int = 0
    commit_seconds: float = 0.0
    max_writes_per_batch: int = 0
    failures: int = 0

    def as_dict(self) -> dict:
        avg = self.writes / self.batches if self.batches else 0.0
        lat = self.commit_seconds / self.batches * 1000 if self.batches else 0.0
        return {"batches": self.batches, "writes": self.writes, "ops": self.ops,
                "avgWritesPerBatch": round(avg, 2), "maxWritesPerBatch": self.max_writes_per_batch,
                "avgCommitMs": round(lat, 3), "failures": self.failures}


class WriteGatherer:
    """The only path by which anything is written to the engine (from its one writer thread)."""

    def __init__(self, engine: Engine, sync: bool = True) -> None:
        self.engine = engine
        self.sync = sync
        self.pending: _Batch | None = None
        self.committing = False
        self.degraded = False
        self.stats = GatherStats()
        self._batch_writes = metrics.family("coffer_metadata_batch_writes")
        self._commit_seconds = metrics.family("coffer_metadata_commit_seconds")
        self._commit_failures = metrics.family("coffer_metadata_commit_failures_total")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="md-writer")

    async def write(self, ops: list[Op]) -> None:
        """Queue ops as one atomic unit; return once the batch holding them is durable."""
        loop = asyncio.get_running_loop()
        batch = self.pending
        if batch is None:
            batch = self.pending = _Batch()
            # Group commit: with no commit in flight, nobody is worth waiting for beyond this loop
            # turn (the reference's fixed 5 ms window made every lone PUT 5 ms slower); while one is
            # in flight, writes gather until it ends, and the window caps how long they wait.
            if self.committing:
                batch.timer = loop.call_later(C.WG_WINDOW_S, self._fire, batch)
            else:
                batch.timer = loop.call_soon(self._fire, batch)
        batch.ops.extend(ops)
        batch.nbytes += sum(len(k) + len(v or b"") for k, v in ops)
        fut = loop.create_future()
        batch.waiters.append(fut)
        if batch.nbytes >= C.WG_MAX_BATCH_BYTES or len(batch.ops) >= C.WG_MAX_BATCH_OPS:
            if batch.timer:
                batch.timer.cancel()
            self._fire(batch)
        await fut

    def _fire(self, batch: _Batch) -> None:
        batch.fired = True
        if not self.committing and self.pending is batch:
            self.pending = None
            self.committing = True
            asyncio.get_running_loop().create_task(self._commit(batch))

    async def _commit(self, batch: _Batch) -> None:
        err: BaseException | None = None
        started = time.perf_counter()
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._writer, self.engine.apply, batch.ops, self.sync)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            err = exc
        self._account(batch, time.perf_counter() - started, err)
        self.committing = False
        _settle(batch.waiters, err)
        nxt = self.pending
        if nxt is None:
            return
        if err is not None:
            # The next write would very likely fail the same way (the reference does this too).
            self.pending = None
            if nxt.timer:
                nxt.timer.cancel()
            _settle(nxt.waiters, err)
        elif nxt.fired:
            self._fire(nxt)

    def _account(self, batch: _Batch, seconds: float, err: BaseException | None) -> None:
        s = self.stats
        if self._batch_writes is not None:
            if err is None:
                self._batch_writes.observe(len(batch.waiters))
                self._commit_seconds.observe(seconds)
            else:
                self._commit_failures.inc()
        if err is not None:
            s.failures += 1
            self.degraded = True
            log.error("batch commit failed", extra={"error": str(err), "writes": len(batch.waiters)})
            return
        s.batches += 1
        s.writes += len(batch.waiters)
        s.ops += len(batch.ops)
        s.commit_seconds += seconds
        s.max_writes_per_batch = max(s.max_writes_per_batch, len(batch.waiters))

    async def drain(self) -> None:
        """Wait until nothing is pending or in flight (used at shutdown)."""
        while self.pending is not None or self.committing:
            await asyncio.sleep(C.WG_WINDOW_S)

    def close(self) -> None:
        self._writer.shutdown(wait=True)


def _settle(waiters: list[asyncio.Future], err: BaseException | None) -> None:
    for fut in waiters:
        if fut.done():
            continue
        if err is not None:
            fut.set_exception(err)
        else:
            fut.set_result(None)
