"""Version ids that sort newest first and never repeat (design.md §5.1).

An id is the inverted ms, the inverted sequence within that ms, then the replication group. With
several daemons on one database (PostgreSQL) two more rules hold, at no round trip: each daemon
uses only the sequence numbers of its slot (seq % stride == slot, the slot taken from the database
at start), so no two daemons ever make the same id; and an id made under a key's lock is newer
than that key's latest version (`after`), whichever daemon made that one and however its clock
stood: a hybrid clock that moves past what it has seen.
"""
from __future__ import annotations

import time

from shared import constants as C

MAX_MS = 99_999_999_999_999
MAX_SEQ = 999_999


class VersionIdGenerator:
    """Monotonic ids: inverted ms, inverted sequence within the ms (in this daemon's slot), group."""

    def __init__(self, replication_group: str, high_water_ms: int = 0, slot: int = 0, stride: int = 1) -> None:
        self.group = replication_group.ljust(7)[:7]
        self.slot, self.stride = slot % stride, stride
        self.last_ms = max(int(time.time() * 1000), high_water_ms + 1)
        self.seq = -1

    def next(self, after: str | None = None) -> str:
        """A new id, newer than every id made here and than `after` (a version id, if parsable)."""
        seen = parse(after) if after else None
        if seen is not None and seen >= (self.last_ms, self.seq):
            self.last_ms, self.seq = seen
        now = int(time.time() * 1000)
        if now > self.last_ms:
            self.last_ms, self.seq = now, self.slot
        else:
            # The next sequence number of this slot past the current one.
            self.seq += (self.slot - self.seq - 1) % self.stride + 1
            if self.seq > MAX_SEQ:
                self.last_ms, self.seq = self.last_ms + 1, self.slot
        return f"{MAX_MS - self.last_ms:014d}{MAX_SEQ - self.seq:06d}{self.group}"


def parse(vid: str) -> tuple[int, int] | None:
    """(ms, seq) of a version id; None for anything else (a null version's infinite id: ms 0)."""
    if not vid_length_ok(vid) or not vid[:20].isdigit():
        return None
    return MAX_MS - int(vid[:14]), MAX_SEQ - int(vid[14:20])


def vid_length_ok(vid: str) -> bool:
    return len(vid) == C.VERSION_ID_LENGTH
