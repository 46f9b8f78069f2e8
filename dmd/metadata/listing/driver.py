"""The listing driver (design.md §6.6): feeds an engine cursor to an extension, seeking over long skips."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dmd.metadata.engine import Cursor, View
from dmd.metadata.listing.base import END, SKIP, ListingExtension
from shared import constants as C


@dataclass
class ListingStats:
    """What one listing cost: pairs read from the cursor and seeks made."""

    keys: int = 0
    seeks: int = 0


def run_listing(ext: ListingExtension, db: View, stats: ListingStats | None = None,
                fused: bool = True) -> dict[str, Any]:
    """Run `ext` over `db` (a sub-level view of any engine) and return its page.

    An extension with a fused `scan` loop (DelimiterMaster) runs it unless `fused` is False; the
    others are fed pair by pair through `filter`. Both give the same page (tests/test_listing_fused.py).
    """
    stats = stats if stats is not None else ListingStats()
    rng = ext.gen_params()
    if rng is None:
        return ext.result()
    if "gt" in rng:
        start, include_start = rng["gt"], False
    else:
        start, include_start = rng.get("gte"), True
    stop = rng.get("lt")
    if start is not None and stop is not None and start >= stop:
        return ext.result()
    scan = getattr(ext, "scan", None) if fused else None
    # One cursor for the whole page (on LevelDB, its implicit snapshot survives the seeks).
    with db.cursor(start, stop, include_start=include_start) as it:
        if scan is not None:
            scan(it, stop, stats)
        else:
            feed(ext, it, stop, stats)
    return ext.result()


def feed(ext: ListingExtension, it: Cursor, stop: bytes | None, stats: ListingStats) -> None:
    """The §6.6 loop: filter each pair, and seek to the skip target after a long run of skips."""
    streak = keys = 0
    limit = C.LISTING_SKIP_STREAK
    for key, value in it:
        keys += 1
        verdict = ext.filter(key, value)
        if verdict is END:
            break
        target = ext.skipping() if verdict is SKIP else None
        if target is None:
            streak = 0
            continue
        streak += 1
        # A short run is cheaper to read through than to seek over; and never seek backwards.
        if streak >= limit and target > key:
            if stop is not None and target >= stop:
                break       # everything left in range would be skipped too
            it.seek(target)
            stats.seeks += 1
            streak = 0
    stats.keys += keys
