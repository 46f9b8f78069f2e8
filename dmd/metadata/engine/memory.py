"""The in-memory engine (`S3BACKEND=mem`): every key in one SortedDict, nothing on disk.

The metadata lives in the metadata daemon's RAM and is gone when it stops. One lock orders
batches against reads, so a batch is atomic for every reader. Cursors page by keyset (keyset.py):
each page is read under the lock, starting just after the last key returned.
"""
from __future__ import annotations

import threading
from itertools import islice

from sortedcontainers import SortedDict

from dmd.metadata.engine.base import Op, ensure_system
from dmd.metadata.engine.keyset import KeysetCursor, KeysetView, Pair
from shared import constants as C


# The memory engine's cursor and view are the keyset ones (keyset.py), shared with PostgreSQL.
MemoryCursor = KeysetCursor
MemoryView = KeysetView


class MemoryEngine(MemoryView):
    """An ordered dict of bytes behind a lock; `sync` has nothing to make durable."""

    blocking = False
    first_page, max_page = C.MEM_CURSOR_FIRST_PAGE, C.MEM_CURSOR_MAX_PAGE

    def __init__(self) -> None:
        self._data: SortedDict = SortedDict()
        self._lock = threading.Lock()
        super().__init__(self, b"")
        self.db_uuid = ensure_system(self)

    def read(self, key: bytes) -> bytes | None:
        with self._lock:
            return self._data.get(key)

    def page(self, lo: tuple[bytes | None, bool], hi: tuple[bytes | None, bool], reverse: bool,
             n: int) -> list[Pair]:
        """Up to n pairs between the bounds (key, inclusive), in scan order, read at one instant."""
        data = self._data
        with self._lock:
            found = list(islice(data.irange(lo[0], hi[0], inclusive=(lo[1], hi[1]), reverse=reverse), n))
            return [(k, data[k]) for k in found]

    def view(self, prefix: bytes) -> MemoryView:
        return MemoryView(self, prefix)

    def apply(self, ops: list[Op], sync: bool) -> None:
        data = self._data
        with self._lock:
            for key, value in ops:
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value

    def close(self) -> None:
        with self._lock:
            self._data.clear()
