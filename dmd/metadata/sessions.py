"""Locks across metadata daemons: an operation's locks and writes in one engine transaction.

With LevelDB one daemon owns the store and its in-process lock tables decide everything. On an
engine that several daemons share (PostgreSQL), every lock an operation takes (bucket, upload,
key: always in that order) is also taken in the database, as a transaction-scoped advisory lock
of the operation's own transaction (its LockSession), and the operation's writes are committed in
that same transaction: the locks are released by the COMMIT that makes the writes durable, never
before, and a daemon that dies or loses its connection mid-operation loses its locks and its
uncommitted writes together. Reads need no part in it: under the lock, any connection reads the
latest committed state of what the lock guards.

Why nothing can deadlock here: an operation's first lock takes one of `pool_size` session slots
(on the loop, after its local lock); each session makes one blocking call at a time on one of
`pool_size` threads with its own connection; so a session holding locks can always run its reads
(another pool) and its COMMIT, whatever other sessions, here or in other daemons, are waiting for.
"""
from __future__ import annotations

import asyncio
import hashlib
import contextvars
from collections.abc import AsyncIterator, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Callable, Protocol, TypeVar, runtime_checkable

from dmd.metadata.engine import Engine, Op
from dmd.metadata.locks import remaining
from shared.errors import InternalError

T = TypeVar("T")


@runtime_checkable
class Session(Protocol):
    """One operation's transaction in a shared engine (postgres.LockSession)."""

    def lock(self, lock: int, exclusive: bool, timeout_ms: int | None) -> None: ...

    def commit(self, ops: list[Op], sync: bool) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class SharedEngine(Engine, Protocol):
    """An engine several daemons use at once: it gives lock sessions and version-id slots."""

    pool_size: int

    def lock_session(self) -> Session: ...

    def vid_slot(self) -> int: ...

    def notify(self, channel: str, payload: str) -> None: ...

    def listen(self, channel: str, deliver: Callable[[str], None]) -> None: ...


def lock_id(space: str, name: Hashable) -> int:
    """The 64-bit advisory lock id of a named lock (a hash: a collision only serializes two names)."""
    digest = hashlib.blake2b(f"{space}\x00{name!r}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# The session of the operation the current task is running (None outside a locked block).
_current: contextvars.ContextVar[Session | None] = contextvars.ContextVar("lock_session", default=None)


class SessionLocks:
    """Takes named locks in the shared engine, and commits the writes of the operation holding them."""

    def __init__(self, engine: SharedEngine, sync: bool) -> None:
        self.engine, self.sync = engine, sync
        self._slots = asyncio.Semaphore(engine.pool_size)
        self._threads = ThreadPoolExecutor(engine.pool_size, thread_name_prefix="md-locks")

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    @asynccontextmanager
    async def hold(self, space: str, name: Hashable, exclusive: bool,
                   deadline: float | None) -> AsyncIterator[None]:
        """Hold the lock `name` of `space` in the database until the operation's transaction ends."""
        session = _current.get()
        token = None
        if session is None:                      # the operation's first lock opens its transaction
            try:
                await asyncio.wait_for(self._slots.acquire(), remaining(deadline))
            except asyncio.TimeoutError:
                raise InternalError("the call's deadline passed while it waited for a lock",
                                    "RequestTimeout") from None
            try:
                session = await self._call(self.engine.lock_session)
            except BaseException:
                self._slots.release()
                raise
            token = _current.set(session)
        try:
            left = remaining(deadline)
            await self._call(session.lock, lock_id(space, name), exclusive,
                             None if left is None else int(left * 1000))
            yield
        finally:
            if token is not None:
                _current.reset(token)
                try:
                    await asyncio.shield(self._call(session.close))
                finally:
                    self._slots.release()

    async def commit(self, ops: list[Op]) -> bool:
        """Commit `ops` in the current operation's transaction; False when there is none."""
        session = _current.get()
        if session is None:
            return False
        await self._call(session.commit, ops, self.sync)
        return True

    def close(self) -> None:
        self._threads.shutdown(wait=False)
