"""Keyset paging: a cursor and a view over any engine that can read one ordered page at a time.

The memory engine and the PostgreSQL engine both read a range as pages, each starting just after
the last key returned (`WHERE key > $1 ORDER BY key LIMIT n`): a batch applied between two pages
can never break a scan, repeat a key or skip one that stayed, and a scan holds one page in memory.
An engine serving these provides `read(key)` and `page(lo, hi, reverse, n)` (bounds are
(absolute key or None, inclusive)), and `first_page` / `max_page`: pages start small (a point scan
or a seek reads a few keys) and double up to the largest size.
"""
from __future__ import annotations

from types import TracebackType
from typing import Protocol

from dmd.metadata.keys import inc

Pair = tuple[bytes, bytes]
Bound = tuple[bytes | None, bool]


class Pager(Protocol):
    """What a keyset cursor needs from its engine."""

    first_page: int
    max_page: int

    def read(self, key: bytes) -> bytes | None: ...

    def page(self, lo: Bound, hi: Bound, reverse: bool, n: int) -> list[Pair]: ...


class KeysetCursor:
    """A keyset scan of [lo, hi) in absolute keys; yields keys with the view's prefix taken off."""

    def __init__(self, engine: Pager, prefix: bytes, start: bytes | None, stop: bytes | None,
                 include_start: bool, reverse: bool) -> None:
        self._engine, self._prefix, self._strip, self._reverse = engine, prefix, len(prefix), reverse
        # The range's bounds (absolute): lower (key, inclusive), upper key (excluded); None is open.
        if start is not None:
            self._floor: Bound = (prefix + start, include_start)
        else:
            self._floor = (prefix or None, True)
        self._ceiling = prefix + stop if stop is not None else (inc(prefix) or None)
        # What is left to scan: the lower bound moves up (forward) or the upper one down (reverse).
        self._lo, self._hi = self._floor, (self._ceiling, False)
        self._page: list[Pair] = []
        self._last: bytes | None = None       # absolute key of the page's last pair
        self._i = 0
        self._size = engine.first_page
        self._closed = False

    def __iter__(self) -> "KeysetCursor":
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
        self._size = min(2 * self._size, self._engine.max_page)
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
        self._size = self._engine.first_page    # a listing seeks past a skip: it may soon seek again

    def close(self) -> None:
        self._closed = True
        self._page, self._i = [], 0

    def __enter__(self) -> "KeysetCursor":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class KeysetView:
    """Reads of the keys under one prefix (b"": every key), relative to it."""

    def __init__(self, engine: Pager, prefix: bytes) -> None:
        self._engine, self._prefix = engine, prefix

    def get(self, key: bytes) -> bytes | None:
        return self._engine.read(self._prefix + key)

    def cursor(self, start: bytes | None = None, stop: bytes | None = None, *, include_start: bool = True,
               reverse: bool = False) -> KeysetCursor:
        return KeysetCursor(self._engine, self._prefix, start, stop, include_start, reverse)
