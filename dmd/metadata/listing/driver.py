"""The listing driver (dmd-reference §6.6): feeds a plyvel iterator to an extension, seeking over long skips."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dmd.metadata.listing.base import END, SKIP, ListingExtension
from shared import constants as C


@dataclass
class ListingStats:
    """What one listing cost: pairs read from the iterator and seeks made."""

    keys: int = 0
    seeks: int = 0


def run_listing(ext: ListingExtension, db: Any, stats: ListingStats | None = None) -> dict[str, Any]:
    """Run `ext` over `db` (a plyvel DB or prefixed_db view) and return its page."""
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
    streak = 0
    # One iterator for the whole page: its implicit snapshot survives the seeks.
    with db.iterator(start=start, stop=stop, include_start=include_start, include_stop=False) as it:
        for key, value in it:
            stats.keys += 1
            verdict = ext.filter(key, value)
            if verdict is END:
                break
            target = ext.skipping() if verdict is SKIP else None
            if target is None:
                streak = 0
                continue
            streak += 1
            # A short run is cheaper to read through than to seek over; and never seek backwards.
            if streak >= C.LISTING_SKIP_STREAK and target > key:
                if stop is not None and target >= stop:
                    break       # everything left in range would be skipped too
                it.seek(target)
                stats.seeks += 1
                streak = 0
    return ext.result()
