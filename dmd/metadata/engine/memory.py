"""The in-memory engine (`S3BACKEND=mem`): every key in one SortedDict, nothing on disk.

The metadata lives in the metadata daemon's RAM and is gone when it stops. One lock orders
batches against reads, so a batch is atomic for every reader. Cursors page by keyset: each page
is read under the lock, starting just after the last key returned (a seek moves that point), so
a batch applied between two pages can never break a scan, repeat a key or skip one that stayed.
"""
from __future__ import annotations

import threading
from itertools import islice
from types import TracebackType

from sortedcontainers import SortedDict

from dmd.metadata.engine.base import Op, ensure_system
from dmd.metadata.keys import inc
from shared import constants as C

Pair = tuple[bytes, bytes]


class MemoryCursor:
    """A keyset scan of [lo, hi) in absolute keys; yields keys with the view's prefix taken off."""

    def __init__(self, engine: "MemoryEngine", prefix: bytes, start: bytes | None, stop: bytes | None,
                 include_start: bool, reverse: bool) -> None:
        self._engine, self._prefix, self._strip, self._reverse = engine, prefix, len(prefix), reverse
        # The range's bounds (absolute): lower (key, inclusive), upper key (excluded); None is open.
        if start is not None:
            self._floor: tuple[bytes | None, bool] = (prefix + start, include_start)
        else:
            self._floor = (prefix or None, True)
        self._ceiling = prefix + stop if stop is not None else (inc(prefix) or None)
        # What is left to scan: the lower bound moves up (forward) or the upper one down (reverse).
        self._lo, self._hi = self._floor, (self._ceiling, False)
        self._page: list[Pair] = []
        self._last: bytes | None = None       # absolute key of the page's last pair
        self._i = 0
        self._size = C.MEM_CURSOR_FIRST_PAGE
        self._closed = False

    def __iter__(self) -> "MemoryCursor":
        return self

    def __next__(self) -> Pair:
        if self._i == len(self._page):
            self._fill()
        pair = self._page[self._i]
        self._i += 1
        return pair

    def _fill(self) -> None:
        """Read the next page after the last key returned; StopIteration when there is none."""
        if self._closed:
            raise RuntimeError("the cursor is closed")
        if self._last is not None:
            if self._reverse:
                self._hi = (self._last, False)
            else:
                self._lo = (self._last, False)
        found = self._engine.page(self._lo, self._hi, self._reverse, self._size)
        self._size = min(2 * self._size, C.MEM_CURSOR_MAX_PAGE)
        self._last = found[-1][0] if found else None
        strip = self._strip
        self._page = [(k[strip:], v) for k, v in found] if strip else found
        self._i = 0
        if not found:
            raise StopIteration

    def seek(self, key: bytes) -> None:
        """Continue at the first key at or past `key` in scan order, within the range."""
        target = self._prefix + key
        if self._reverse:
            ceiling = self._ceiling
            self._hi = (ceiling, False) if ceiling is not None and target >= ceiling else (target, True)
        else:
            floor = self._floor
            self._lo = floor if floor[0] is not None and target <= floor[0] else (target, True)
        self._page, self._i, self._last = [], 0, None
        self._size = C.MEM_CURSOR_FIRST_PAGE    # a listing seeks past a skip: it may soon seek again

    def close(self) -> None:
        self._closed = True
        self._page, self._i = [], 0

    def __enter__(self) -> "MemoryCursor":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class MemoryView:
    """Reads of the keys under one prefix (b"": every key), relative to it."""

    def __init__(self, engine: "MemoryEngine", prefix: bytes) -> None:
        self._engine, self._prefix = engine, prefix

    def get(self, key: bytes) -> bytes | None:
        return self._engine.read(self._prefix + key)

    def cursor(self, start: bytes | None = None, stop: bytes | None = None, *, include_start: bool = True,
               reverse: bool = False) -> MemoryCursor:
        return MemoryCursor(self._engine, self._prefix, start, stop, include_start, reverse)


class MemoryEngine(MemoryView):
    """An ordered dict of bytes behind a lock; `sync` has nothing to make durable."""

    blocking = False

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
