"""Group commit for small data files, as the metadata daemon gathers its writes.

Bodies that arrive while a sync is in flight wait for it to end and then share the next one;
a body that finds nothing in flight goes at the end of the current loop turn. Nobody is answered
before the sync that covers their file has returned.
"""
from __future__ import annotations

import asyncio

from dmd.data.store import FileStore

MAX_BATCH = 64


class SmallFileGroup:
    def __init__(self, store: FileStore) -> None:
        self.store = store
        self._pending: list[tuple[bytes, asyncio.Future]] = []
        self._running = False

    async def store_small(self, data: bytes) -> str:
        """Store a body held in memory durably; returns its data key."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._pending.append((data, fut))
        if not self._running:
            self._running = True
            loop.create_task(self._run())
        return await fut

    async def _run(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    keys = await asyncio.to_thread(self.store.store_batch, [data for data, _ in batch])
                except BaseException as exc:  # noqa: BLE001 - every waiter hears about it
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (_, fut), key in zip(batch, keys):
                    if not fut.done():
                        fut.set_result(key)
        finally:
            self._running = False
