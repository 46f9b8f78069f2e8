"""The services a front-end process shares between its requests: clients, authenticator, garbage collector."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from s3front.auth import Authenticator
from shared import constants as C
from shared.config import Config
from shared.data_client import DataClient
from shared.metadata_client import MetadataClient
from shared.tls import data_context, metadata_context

log = logging.getLogger("coffer.frontend")


class Frontend:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metadata = MetadataClient(config.metadata_host, config.metadata_port, config.cluster_secret,
                                       tls=metadata_context(config))
        self.data = DataClient(config.data_host, config.data_port, config.cluster_secret, tls=data_context(config))
        self.auth = Authenticator(config)
        self._deletes = asyncio.Semaphore(C.GC_MAX_PARALLEL_DELETES)

    async def start(self) -> None:
        from s3front.gc import periodic
        from s3front.metrics import GcMetrics
        await self.metadata.start()
        self._gc_task = asyncio.get_running_loop().create_task(
            periodic(self.metadata, self.data, self.config.gc_interval, on_round=GcMetrics().round))

    async def stop(self) -> None:
        self._gc_task.cancel()
        await self.metadata.close()
        await self.data.close()

    async def collect(self, gc: list[dict[str, Any]]) -> None:
        """Delete the data a committed metadata change dropped, then forget its `__gc` entries.

        Runs after the client has its answer; what fails here stays in `__gc` for the GC task.
        """
        done = []
        for entry in gc:
            try:
                async with self._deletes:
                    for piece in entry["location"]:
                        await self.data.delete(piece["key"])
                done.append(entry["gcKey"])
            except Exception as exc:  # noqa: BLE001 - left for the periodic GC
                log.warning("deferred data deletion failed", extra={"error": str(exc)})
        if done:
            try:
                await self.metadata.gc_done(done)
            except Exception as exc:  # noqa: BLE001
                log.warning("gcDone failed", extra={"error": str(exc)})

    async def discard(self, data_key: str) -> None:
        """Delete data whose metadata is known never to have been committed."""
        try:
            await self.data.delete(data_key)
        except Exception as exc:  # noqa: BLE001 - the orphan sweeper reclaims it
            log.warning("could not delete uncommitted data", extra={"dataKey": data_key, "error": str(exc)})
