"""The lifecycle expiry worker: one pass at a time per cluster, under a lease of the metadata daemon.

Every front-end runs a `Worker` as a background task; each tick it asks for the lease and, if it
gets it and a pass is due (or one was cut short), runs the pass, renewing the lease with every
saved cursor, then gives the lease back. So two front-ends never scan at once, and when the holder
dies its lease frees within its ttl and the next front-end to tick resumes the pass from the
cursors kept with the lease. `coffer lifecycle run` runs one pass the same way (services/lifecycle.py).

The lease's state: {"lastEnd": when the last whole pass ended, "pass": {"started", "done": [buckets
finished], "cursors": {bucket: cursor}}} (the pass is absent between passes).

Pace: with real days a pass every hour (COFFER_LIFECYCLE_INTERVAL), checked every 15 s; with
COFFER_LIFECYCLE_DAY_SECONDS=N a pass every N/4 seconds (1 to 5) and one just after each multiple
of N seconds since the epoch, when actions fall due (shared/lifecycle_plan.py rounds to those).
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from s3front.lifecycle.rules import LIFECYCLE
from s3front.lifecycle.scan import Cursor, Report, Scan, scan_bucket
from shared import constants as C
from shared.config import Config
from shared.contract.metadata import Garbage, MetadataAPI

log = logging.getLogger("coffer.lifecycle")


class LeaseLost(Exception):
    """Another holder has the lease: this pass stops where its last cursor was saved."""


class Busy(Exception):
    """The lease is held by another holder (a pass is running elsewhere)."""


def pass_interval(config: Config) -> float:
    """Seconds between two passes of the cluster."""
    if config.lifecycle_interval > 0:
        return config.lifecycle_interval
    day = max(1, config.lifecycle_day)
    if day == C.LIFECYCLE_DAY_S:
        return C.LIFECYCLE_INTERVAL_S
    return min(C.LIFECYCLE_DEBUG_INTERVAL_MAX_S, max(C.LIFECYCLE_DEBUG_INTERVAL_MIN_S, day / 4))


def holder_id() -> str:
    """Who holds the lease: host, process and a random part (a restarted process is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs lifecycle passes for one process (a front-end, or the CLI)."""

    def __init__(self, metadata: MetadataAPI, collect: Callable[[Iterable[Garbage]], Awaitable[None]],
                 config: Config, page: int = C.LIFECYCLE_PAGE, pause: float = 0.0) -> None:
        self.metadata, self.collect, self.config = metadata, collect, config
        self.day = max(1, config.lifecycle_day)
        self.interval = pass_interval(config)
        self.ttl = config.lifecycle_lease
        self.page, self.pause = page, pause
        self.holder = holder_id()
        self._quiet_until = 0.0       # no pass can be due before (as the lease's state last said)

    # -- the background task ----------------------------------------------------------------------
    def next_tick(self, now: float) -> float:
        """Seconds until the next check: the tick, or just after the next (shortened) day boundary."""
        wait = min(self.interval, C.LIFECYCLE_TICK_S)
        if self.day != C.LIFECYCLE_DAY_S:
            boundary = math.ceil(now / self.day) * self.day + C.LIFECYCLE_BOUNDARY_SLACK_S
            wait = min(wait, max(0.0, boundary - now))
        return wait

    async def run_forever(self) -> None:
        """The front-end's task: tick, and pass when due; a failed tick is logged and retried."""
        while True:
            await asyncio.sleep(self.next_tick(time.time()))
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the daemon may be restarting: next tick
                log.warning("lifecycle tick failed", extra={"error": repr(exc)})

    async def tick(self) -> Report | None:
        """Run a pass if this process gets the lease and one is due; None if not."""
        short = self.day != C.LIFECYCLE_DAY_S
        if not short and time.time() < self._quiet_until:
            return None               # spares the daemon a lease write per tick between hourly passes
        lease = await self.metadata.take_lease(C.LIFECYCLE_LEASE, self.holder, self.ttl)
        state = lease.state or {}
        # With real days a pass is due an interval after the last one ended; with a short day, each tick
        # (the ticks keep the pace). A pass cut short is always resumed, so others keep asking meanwhile.
        self._quiet_until = 0.0 if state.get("pass") else state.get("lastEnd", 0.0) + self.interval
        if not lease.held:
            return None
        if not short and not state.get("pass") and time.time() < self._quiet_until:
            await self.metadata.release_lease(C.LIFECYCLE_LEASE, self.holder)
            return None
        return await self._pass(state, None)

    # -- one pass ---------------------------------------------------------------------------------
    async def run_once(self, bucket: str | None = None, wait: float = 0.0) -> Report:
        """One pass now (of one bucket, or all), waiting up to `wait` seconds for the lease (Busy)."""
        deadline = time.monotonic() + wait
        while True:
            lease = await self.metadata.take_lease(C.LIFECYCLE_LEASE, self.holder, self.ttl)
            if lease.held:
                return await self._pass(lease.state or {}, bucket)
            if time.monotonic() >= deadline:
                raise Busy(lease.holder or "")
            await asyncio.sleep(0.5)

    async def _pass(self, state: dict[str, Any], only: str | None) -> Report:
        """Scan the buckets (resuming a pass cut short), then give the lease back."""
        started = time.time()
        opened = not state.get("pass")
        current = state.get("pass") or {"started": started, "done": [], "cursors": {}}
        state = {**state, "pass": current}
        report = Report()

        async def renew() -> None:
            lease = await self.metadata.take_lease(C.LIFECYCLE_LEASE, self.holder, self.ttl, state)
            if not lease.held:
                raise LeaseLost(lease.holder or "")

        async def save(bucket: str, cursor: Cursor) -> None:
            current["cursors"][bucket] = cursor
            await renew()

        scan = Scan(self.metadata, self.collect, save, report, self.day, self.page, self.pause)
        try:
            names = [only] if only else await self.metadata.buckets_with_config(LIFECYCLE)
            for name in names:
                if name in current["done"] and not only:
                    continue
                await scan_bucket(scan, name, current["cursors"].get(name))
                current["cursors"].pop(name, None)
                if not only:
                    current["done"].append(name)
                await renew()
        except LeaseLost:
            log.warning("lifecycle lease lost mid-pass", extra={"holder": self.holder})
            return report
        except Exception:
            # The cursors saved so far stay with the lease: whoever ticks next resumes from them.
            await self.metadata.release_lease(C.LIFECYCLE_LEASE, self.holder, state)
            raise
        if not only:
            state["lastEnd"] = time.time()
            self._quiet_until = state["lastEnd"] + self.interval
        if not only or opened:
            state.pop("pass")
        await self.metadata.release_lease(C.LIFECYCLE_LEASE, self.holder, state)
        counts = {k: v for k, v in report.as_dict().items() if k != "actions"}
        busy = any(v for k, v in counts.items() if k != "buckets")
        # A pass that did something is worth a line; an idle one (every second under a short day) is not.
        log.log(logging.INFO if busy else logging.DEBUG, "lifecycle pass",
                extra={"holder": self.holder, "started": started, "ended": time.time(), **counts})
        return report
