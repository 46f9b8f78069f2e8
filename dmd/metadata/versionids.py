"""Version ids that sort newest first and never repeat (design.md §5.1)."""
from __future__ import annotations

import time

from shared import constants as C


class VersionIdGenerator:
    """Monotonic ids: inverted ms, inverted sequence within the ms, replication group."""

    def __init__(self, replication_group: str, high_water_ms: int = 0) -> None:
        self.group = replication_group.ljust(7)[:7]
        self.last_ms = max(int(time.time() * 1000), high_water_ms + 1)
        self.seq = -1

    def next(self) -> str:
        now = int(time.time() * 1000)
        if now > self.last_ms:
            self.last_ms, self.seq = now, 0
        else:
            self.seq += 1
            if self.seq > 999_999:
                self.last_ms, self.seq = self.last_ms + 1, 0
        return f"{99_999_999_999_999 - self.last_ms:014d}{999_999 - self.seq:06d}{self.group}"


def vid_length_ok(vid: str) -> bool:
    return len(vid) == C.VERSION_ID_LENGTH
