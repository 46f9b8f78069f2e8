"""The storage-engine seam: what the metadata daemon needs from an ordered key-value store.

An engine holds one ordered space of byte keys (keys.py says how it is divided). The daemon asks
it for four things: a point read, an ordered range scan that can jump forward (listings seek over
long skips), an atomic batch, and a view of one sub-level (the same reads with the sub-level's
prefix taken off). Everything above this seam (listings, versioning, multipart, streams) is
written against these Protocols only, so it runs unchanged on any engine.

Threads. Batches are applied by the write gatherer's single writer thread, never concurrently.
Listings and streams scan in worker threads; point reads happen on the event loop when the engine
does not block (`blocking` False: LevelDB's reads are page-cache lookups, memory is a dict) and in
a worker thread when it may (a remote engine, say PostgreSQL, would be called from threads only).
An engine and its views are safe to use from all of these threads at once; a cursor is used by
one thread at a time (its owner), and closed by its owner.

What a cursor sees while writes go on. A cursor never fails and never returns a key twice because
of a concurrent batch, and every key that existed in its range for the whole scan is returned
exactly once. Keys written or deleted during the scan may or may not be seen. LevelDB gives more:
an implicit snapshot taken when the cursor opens, kept across seeks. The memory engine pages by
keyset (each batch starts after the last key returned, as `WHERE key > $1 ORDER BY key LIMIT n`
would), so a batch applied between two pages is seen by the later pages only. A batch is atomic
for point reads on every engine.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import TracebackType
from typing import Protocol, runtime_checkable

from dmd.metadata import keys

Op = tuple[bytes, bytes | None]
SCHEMA_VERSION = 1


class EngineUnavailable(RuntimeError):
    """The store cannot be opened: the daemon says why and exits."""


class StoreLocked(EngineUnavailable):
    """Another process owns the store (LevelDB allows one process per directory)."""


@runtime_checkable
class Cursor(Protocol):
    """An ordered scan of (key, value) pairs over [start, stop), in either direction.

    Iterating yields pairs in key order (descending when reverse). `seek(key)` makes the next
    pair the first one at or past `key` in scan order (forward: the smallest key >= key; reverse:
    the largest key <= key), never a key outside the cursor's range; seeking after the end
    resumes from there. A cursor is a context manager: leaving the block closes it.
    """

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]: ...

    def __next__(self) -> tuple[bytes, bytes]: ...

    def seek(self, key: bytes) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Cursor": ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


@runtime_checkable
class View(Protocol):
    """Reads of one sub-level (or of the whole store): keys are relative to the view's prefix."""

    def get(self, key: bytes) -> bytes | None:
        """The value stored under `key`, or None."""
        ...

    def cursor(self, start: bytes | None = None, stop: bytes | None = None, *, include_start: bool = True,
               reverse: bool = False) -> Cursor:
        """A scan of [start, stop) (`stop` excluded, None: unbounded); `include_start` False excludes start."""
        ...


@runtime_checkable
class Engine(View, Protocol):
    """An ordered byte key-value store: reads (as a View over every key), views, atomic batches."""

    db_uuid: str       # the store's identity, created with it (kept in `__sys`)
    blocking: bool     # True when calls may block (a remote engine): call it from threads only

    def view(self, prefix: bytes) -> View:
        """The reads of the keys under `prefix`, with the prefix taken off."""
        ...

    def apply(self, ops: list[Op], sync: bool) -> None:
        """Apply (key, value) puts and (key, None) deletes as one atomic batch; durable when `sync`."""
        ...

    def close(self) -> None:
        """Release the store; nothing may be called afterwards."""
        ...


def ensure_system(engine: Engine) -> str:
    """The store's db_uuid, writing it and the schema version into `__sys` the first time."""
    raw = engine.get(keys.sys_key("db_uuid"))
    if raw is None:
        raw = str(uuid.uuid4()).encode()
        engine.apply([(keys.sys_key("schema"), str(SCHEMA_VERSION).encode()),
                      (keys.sys_key("db_uuid"), raw)], sync=True)
    return raw.decode()


def prefix_cursor(view: View, prefix: bytes) -> Cursor:
    """A forward scan of the keys that start with `prefix`."""
    return view.cursor(prefix, keys.inc(prefix) or None)


def has_keys(view: View, prefix: bytes) -> bool:
    """True when any key starts with `prefix`."""
    with prefix_cursor(view, prefix) as cursor:
        return next(cursor, None) is not None


def sys_int(view: View, name: str) -> int:
    """An integer `__sys` scalar (0 when absent)."""
    raw = view.get(keys.sys_key(name))
    return int(raw) if raw else 0
