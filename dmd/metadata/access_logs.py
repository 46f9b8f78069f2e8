"""Server access log records between the front-ends that make them and the one that delivers them.

Every front-end hands its records over here within a second (`append_access_logs`, one entry per
batch: its target, grants and lines); the front-end holding the `access-log` lease takes the due
ones (`due_access_logs`), writes them as log objects and forgets them (`access_logs_done`). So one
interval of a bucket's records makes one log object however many front-ends served the requests,
and records outlive the front-end that made them (design.md §16). A source's entries are due when
its oldest was stored `interval_s` ago, by this daemon's clock, or once `max_records` wait.
"""
from __future__ import annotations

import itertools
import time
from typing import Any

import orjson

from dmd.metadata import keys
from dmd.metadata.context import MetadataContext, dumps
from dmd.metadata.engine import prefix_cursor
from shared import constants as C
from shared.errors import S3Error

_numbers = itertools.count()


async def append_access_logs(ctx: MetadataContext, source: str, batch: dict[str, Any]) -> None:
    """Store one batch of `source`'s records: `{"target": {...}, "grants": [...], "records": [[time, line], ...]}`."""
    records = batch.get("records")
    if not source or not isinstance(records, list) or not 0 < len(records) <= C.ACCESS_LOG_MAX_RECORDS:
        raise S3Error("InvalidArgument", f"an access log batch holds 1 to {C.ACCESS_LOG_MAX_RECORDS} records")
    name = keys.access_log_name(source, int(time.time() * 1000), ctx.boot_id[:8], next(_numbers))
    await ctx.commit([(keys.access_log_entry(name), dumps(batch))])


def _due(ctx: MetadataContext, before_ms: int, max_records: int) -> list[dict[str, Any]]:
    """The entries of every source whose oldest entry was stored before `before_ms` or which has
    `max_records` waiting, in key order, until about `max_records` records are taken (a source's
    batch holds at most that many, so the answer stays under twice it)."""
    due: list[dict[str, Any]] = []
    taken, source, waiting, count, is_due = 0, None, [], 0, False
    with prefix_cursor(ctx.engine, keys.ACCESS_LOG) as cursor:
        for raw_key, raw in cursor:
            name = raw_key[len(keys.ACCESS_LOG):].decode()
            entry_source, stored_ms = keys.access_log_parts(name)
            if entry_source != source:      # a new source: its first entry is its oldest
                source, waiting, count, is_due = entry_source, [], 0, stored_ms < before_ms
            entry = {**orjson.loads(raw), "name": name, "source": source, "storedMs": stored_ms}
            waiting.append(entry)
            count += len(entry.get("records", ()))
            if is_due or count >= max_records:
                is_due = True               # the rest of this source goes too, while there is room
                due.extend(waiting)
                taken += sum(len(e.get("records", ())) for e in waiting)
                waiting = []
                if taken >= max_records:
                    break
    return due


async def due_access_logs(ctx: MetadataContext, interval_s: float,
                          max_records: int = C.ACCESS_LOG_MAX_RECORDS) -> list[dict[str, Any]]:
    """Entries due for delivery (see `_due`), oldest first within each source, each with its `name`
    (for accessLogsDone), `source` and `storedMs` (when this daemon stored it, ms since the epoch)."""
    before_ms = int((time.time() - max(interval_s, 0.0)) * 1000) + 1
    return await ctx.run(_due, ctx, before_ms, max(1, min(max_records, C.ACCESS_LOG_MAX_RECORDS)))


async def access_logs_done(ctx: MetadataContext, names: list[str]) -> None:
    """Forget delivered (or dropped) entries."""
    if names:
        await ctx.commit([(keys.access_log_entry(name), None) for name in names])
