"""Locks held until commit (design.md §2.5): per key, per upload, and a readers-writer lock per bucket.

Order of acquisition: bucket -> upload -> key. Entries are refcounted and dropped when free,
so the tables never grow with the number of keys ever touched.
"""
from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

from shared.errors import InternalError

# The deadline of the RPC call being served: a call that waited past it for a lock is not started.
call_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("call_deadline", default=None)


def _remaining(deadline: float | None) -> float | None:
    deadline = deadline if deadline is not None else call_deadline.get()
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise InternalError("the call's deadline passed while it waited for a lock", "RequestTimeout")
    return left


class _RW:
    __slots__ = ("readers", "writer", "waiters", "users")

    def __init__(self) -> None:
        self.readers = 0
        self.writer = False
        self.waiters: list[asyncio.Future] = []
        self.users = 0


class LockTable:
    """Named readers-writer locks; `exclusive=False` is shared."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, _RW] = {}

    @asynccontextmanager
    async def hold(self, name: Hashable, exclusive: bool = True,
                   deadline: float | None = None) -> AsyncIterator[None]:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = _RW()
        lock.users += 1
        acquired = False
        try:
            # A free lock is taken on the spot: no condition, no task (an asyncio.wait_for around a
            # Condition cost a task per lock, two per PUT; measured).
            while not _free(lock, exclusive):
                await _wait_turn(lock, _remaining(deadline))
            if exclusive:
                lock.writer = True
            else:
                lock.readers += 1
            acquired = True
            yield
        finally:
            if acquired:
                if exclusive:
                    lock.writer = False
                else:
                    lock.readers -= 1
                waiters, lock.waiters = lock.waiters, []
                for fut in waiters:         # every waiter checks again whether its turn has come
                    if not fut.done():
                        fut.set_result(None)
            lock.users -= 1
            if lock.users == 0:
                self._locks.pop(name, None)

    def __len__(self) -> int:
        return len(self._locks)


async def _wait_turn(lock: _RW, timeout: float | None) -> None:
    """Wait until the lock is released (or the call's deadline passes)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    lock.waiters.append(fut)
    timer = None if timeout is None else loop.call_later(timeout, _expire, fut)
    try:
        await fut
    finally:
        if timer is not None:
            timer.cancel()


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_exception(InternalError("the call's deadline passed while it waited for a lock", "RequestTimeout"))


def _free(lock: _RW, exclusive: bool) -> bool:
    return not lock.writer and (not exclusive or lock.readers == 0)
