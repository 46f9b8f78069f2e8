"""Data daemon locations: `file` (another data daemon's disk) and `mem` (a data daemon's memory).

Both speak the data daemon's /DataFile API through `shared.data_client.DataClient`; these classes
only fit it to the whole `DataBackend` protocol (the naming hint, typed listings, health) and
point `mem` at the daemon's memory store, served at C.MEMORY_DATA_PATH with the same API.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

from shared import constants as C
from shared.contract.data import Body, LocationHealth, StoredFile
from shared.data_client import DataClient
from shared.http_client import TransportError

_DATA_PATH = "/DataFile"


class DaemonBackend(DataClient):
    """A data daemon as a location: keys are the daemon's, the naming hint is not needed."""

    async def put(self, body: Body, length: int | None, hint: str | None = None) -> str:
        return await super().put(body, length)

    async def list_files(self, limit: int = C.REMOTE_LIST_PAGE) -> AsyncIterator[StoredFile]:
        async for item in super().list_files(limit):
            yield item if isinstance(item, StoredFile) else StoredFile(item["key"], item["size"], item["mtime"])

    async def health(self) -> LocationHealth:
        """The daemon's own health check: reachable and its store writable."""
        try:
            resp = await self._pool.request("GET", "/_/healthcheck", [("Authorization", self._auth)])
            text = (await resp.read(self._pool.read_timeout)).decode(errors="replace")
        except TransportError as exc:
            return LocationHealth(False, f"the data daemon is not reachable: {exc}")
        if resp.status != 200:
            return LocationHealth(False, f"the data daemon answered {resp.status}: {text[:200]}")
        return LocationHealth(True)


class MemoryBackend(DaemonBackend):
    """The data daemon's memory: shared by every front-end, lost when the daemon restarts."""

    async def _request(self, method: str, target: str, *args, **kwargs):   # noqa: ANN002, ANN003
        if target.startswith(_DATA_PATH):
            target = C.MEMORY_DATA_PATH + target[len(_DATA_PATH):]
        return await super()._request(method, target, *args, **kwargs)
