"""The services a front-end process shares between its requests: clients, authenticator, garbage collector,
lifecycle worker."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from s3front.access_log import AccessLogger
from s3front.auth import Authenticator
from s3front.iam_api.store import Identities
from s3front.lifecycle.worker import Worker
from s3front.metrics import GcMetrics
from s3front.sse.context import sse_or_exit
from shared import constants as C
from shared.config import Config
from shared.contract.data import DataRouter, LocationHealth
from shared.contract.metadata import Garbage
from shared.contract.records import Piece
from shared.data_client import DataClient
from shared.location_routing import Placement, build_router
from shared.locations import Location, location_file_named, locations_or_exit
from shared.maintenance.gc import periodic
from shared.metadata_hosts import metadata_client
from shared.tls import data_context

log = logging.getLogger("coffer.frontend")


def data_router(config: Config, locations: dict[str, Location] | None = None) -> DataRouter:
    """Every configured data location by name (shared/locations.py; a new type of backend is one
    more branch of build_router); this cluster's own data daemon is the default, `us-east-1`."""
    own = DataClient(config.data_host, config.data_port, config.cluster_secret, tls=data_context(config))
    return build_router(config, locations if locations is not None else locations_or_exit(), own)


class Frontend:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metadata = metadata_client(config)
        locations = locations_or_exit(rest_endpoints=config.rest_endpoints)
        self.placement = Placement(locations, location_file_named(), config.rest_endpoints)  # where buckets go
        self.data = data_router(config, locations)
        self.auth = Authenticator(config)
        self.identities = Identities(config, self.metadata)
        self.auth.identities = self.identities
        self.sse = sse_or_exit(self.metadata, config.region)
        self._deletes = asyncio.Semaphore(C.GC_MAX_PARALLEL_DELETES)
        self.location_health: dict[str, LocationHealth] = {}    # the last answers, for /_/health
        self.accessed_pending = 0         # ObjectAccessed events on their way (s3front/notify.py)
        self.accessed_dropped = 0
        self.accessed_rules: dict[str, tuple[int, frozenset[str]]] = {}   # bucket -> (rev, events its rules name)
        self.access_logs = AccessLogger(self, config.access_log_flush)

    async def start(self) -> None:
        await self.metadata.start()
        loop = asyncio.get_running_loop()
        self._gc_task = loop.create_task(
            periodic(self.metadata, self.data, self.config.gc_interval, on_round=GcMetrics().round))
        self._health_task = loop.create_task(self._watch_locations())
        self._lifecycle_task = None
        if self.config.lifecycle_worker:        # one pass at a time per cluster: the worker takes a lease
            self.lifecycle = Worker(self.metadata, self.collect, self.config)
            self._lifecycle_task = asyncio.get_running_loop().create_task(self.lifecycle.run_forever())
        self.access_logs.start()

    async def _watch_locations(self) -> None:
        """Ask every location for its health now and then: /_/health answers from the last answers,
        at once, and a location that changes state gets one log line."""
        while True:
            try:
                found = await self.data.health(C.LOCATION_HEALTH_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - the next round asks again
                log.warning("data location health round failed", extra={"error": str(exc)})
                found = self.location_health
            for name, health in found.items():
                before = self.location_health.get(name)
                if (before.ok if before else True) != health.ok:
                    (log.info if health.ok else log.warning)(
                        "data location is " + ("healthy again" if health.ok else "degraded"),
                        extra={"location": name, "error": health.detail})
            self.location_health = found
            await asyncio.sleep(C.LOCATION_HEALTH_INTERVAL_S)

    async def stop(self) -> None:
        await self.access_logs.stop()           # needs both daemons: before their clients close
        self._gc_task.cancel()
        self._health_task.cancel()
        if self._lifecycle_task is not None:
            self._lifecycle_task.cancel()
        await self.metadata.close()
        await self.data.close()

    async def collect(self, garbage: Iterable[Garbage]) -> None:
        """Delete the data a committed metadata change dropped, then forget its deferred deletions.

        Runs after the client has its answer; what fails here stays recorded for the GC task.
        """
        done = []
        for entry in garbage:
            try:
                async with self._deletes:
                    for piece in entry.pieces:
                        await self.data.delete(piece)
                done.append(entry.gc_key)
            except Exception as exc:  # noqa: BLE001 - left for the periodic GC
                log.warning("deferred data deletion failed", extra={"error": str(exc)})
        if done:
            try:
                await self.metadata.gc_done(done)
            except Exception as exc:  # noqa: BLE001
                log.warning("gcDone failed", extra={"error": str(exc)})

    async def discard(self, piece: Piece) -> None:
        """Delete data whose metadata is known never to have been committed."""
        try:
            await self.data.delete(piece)
        except Exception as exc:  # noqa: BLE001 - the orphan sweeper reclaims it
            log.warning("could not delete uncommitted data", extra={"dataKey": piece.key, "error": str(exc)})
