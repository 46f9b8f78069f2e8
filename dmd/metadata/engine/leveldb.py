"""The LevelDB engine (the default): one plyvel DB in `<metadata path>/rootDB`.

The only module that imports plyvel. A sub-level view is plyvel's prefixed DB; a forward cursor
is a plyvel iterator (with its implicit snapshot), whose own `iter()` the listings loop over, so
the hot listing loop runs in plyvel's C code with nothing in between. The directory is 0700;
LevelDB's own files are 0600 through the daemon's umask (services.cli).
"""
from __future__ import annotations

from types import TracebackType
from typing import Any, Iterator

import plyvel

from dmd.metadata.engine.base import Op, StoreLocked, ensure_system
from dmd.metadata.keys import inc
from shared import constants as C
from shared.errors import InternalError
from shared.security import private_dir, write_private


class _Closing:
    """Closing a cursor closes its plyvel iterator; so does leaving its `with` block."""

    _it: Any

    def close(self) -> None:
        self._it.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._it.close()


class ForwardCursor(_Closing):
    """A plyvel iterator (its implicit snapshot kept across seeks), with the contract's seek.

    `iter()` returns the plyvel iterator itself: the listings' loop runs in plyvel's C code with
    nothing in between. plyvel's seek ignores an exclusive start; the target is moved past it.
    """

    def __init__(self, db: Any, start: bytes | None, stop: bytes | None, include_start: bool) -> None:
        self._it = db.iterator(start=start, stop=stop, include_start=include_start, include_stop=False)
        self._start, self._include_start = start, include_start

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        return self._it

    def __next__(self) -> tuple[bytes, bytes]:
        return next(self._it)

    def seek(self, key: bytes) -> None:
        start = self._start
        if start is not None and not self._include_start and key <= start:
            key = start + b"\x00"                # the smallest key above an excluded start
        self._it.seek(key)                       # plyvel keeps the target within [start, stop]


class ReverseCursor(_Closing):
    """A descending scan of an explicit snapshot, over absolute keys, bounded below in Python.

    plyvel's reverse iterators drop a first key equal to their start, and its reverse seek returns
    the key below its target unchecked (even below a prefixed view's prefix), so neither is used:
    the plyvel iterator has no start, this class stops at the range's floor, and a seek reopens
    the iterator with a lower stop. No listing scans backwards: this path is not a hot one.
    """

    def __init__(self, db: Any, prefix: bytes, start: bytes | None, stop: bytes | None,
                 include_start: bool) -> None:
        self._prefix, self._strip = prefix, len(prefix)
        self._floor = prefix + start if start is not None else prefix
        self._include_start = include_start or start is None
        self._ceiling = prefix + stop if stop is not None else (inc(prefix) or None)
        self._snapshot = db.snapshot()
        self._it = self._open(self._ceiling)

    def _open(self, stop: bytes | None) -> Any:
        return self._snapshot.iterator(stop=stop, include_stop=False, reverse=True)

    def __iter__(self) -> "ReverseCursor":
        return self

    def __next__(self) -> tuple[bytes, bytes]:
        key, value = next(self._it)
        if key < self._floor or (key == self._floor and not self._include_start):
            self._it.seek_to_start()            # below the range: the scan is over (until a seek)
            raise StopIteration
        return key[self._strip:], value

    def seek(self, key: bytes) -> None:
        self._it.close()
        target, ceiling = self._prefix + key, self._ceiling
        below = ceiling is None or target < ceiling
        self._it = self._open(target + b"\x00" if below else ceiling)    # stop at key\0: keys <= key


class LevelView:
    """Reads of the keys under one prefix of a plyvel DB (b"": every key)."""

    def __init__(self, db: Any, prefix: bytes = b"") -> None:
        self._db, self._prefix = db, prefix
        self._level = db.prefixed_db(prefix) if prefix else db

    def get(self, key: bytes) -> bytes | None:
        return self._level.get(key)

    def cursor(self, start: bytes | None = None, stop: bytes | None = None, *, include_start: bool = True,
               reverse: bool = False) -> ForwardCursor | ReverseCursor:
        if reverse:
            return ReverseCursor(self._db, self._prefix, start, stop, include_start)
        return ForwardCursor(self._level, start, stop, include_start)


class LevelDBEngine(LevelView):
    """The metadata in LevelDB; writes arrive from the gatherer's writer thread only."""

    blocking = False    # reads hit the block cache or the page cache: cheaper inline than a thread hop

    def __init__(self, path: str) -> None:
        root = private_dir(path)
        try:
            # A larger block cache than LevelDB's 8 MB default keeps listings of 10^5 keys in memory.
            db = plyvel.DB(str(root / "rootDB"), create_if_missing=True, lru_cache_size=C.LDB_CACHE_BYTES)
        except plyvel.IOError as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(
                    f"the metadata directory {root} is in use by another metadata daemon ({exc}); "
                    "only one daemon may own a LevelDB at a time") from exc
            raise
        super().__init__(db)
        self.db_uuid = ensure_system(self)
        uuid_file = root / "uuid"
        if not uuid_file.exists():
            write_private(uuid_file, self.db_uuid.encode())

    def view(self, prefix: bytes) -> LevelView:
        return LevelView(self._db, prefix)

    def apply(self, ops: list[Op], sync: bool) -> None:
        try:
            with self._db.write_batch(sync=sync) as wb:
                for key, value in ops:
                    if value is None:
                        wb.delete(key)
                    else:
                        wb.put(key, value)
        except plyvel.Error as exc:
            raise InternalError(f"LevelDB write failed: {exc}") from exc

    def compact(self) -> None:
        """Compact the whole store (what `bench/scale.py` measures the size of)."""
        self._db.compact_range()

    def close(self) -> None:
        self._db.close()
