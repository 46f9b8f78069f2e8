"""The data daemon's /DataFile API as a `DataBackend` (shared/contract/data.py; design.md §8.4).

It runs on `shared.http_client` (pooled keep-alive HTTP/1.1 over httptools) rather than httpx:
see that module for the measurements behind the choice.
"""
from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator

import orjson

from shared import constants as C
from shared.contract.data import LocationHealth, StoredFile
from shared.errors import InternalError, ServiceUnavailable
from shared.http_client import HttpPool, Response, TransportError
from shared.logging import request_id

log = logging.getLogger("coffer.data")


class DataClient:
    """A data location served by a data daemon: bytes over pooled keep-alive connections (a DataBackend)."""

    def __init__(self, host: str, port: int, secret: str, tls: ssl.SSLContext | None = None) -> None:
        self._pool = HttpPool(host, port, max_connections=256, max_idle=64,
                              idle_expiry=C.DATA_KEEPALIVE_EXPIRY_S, connect_timeout=5, read_timeout=60, tls=tls)
        self._auth = f"Bearer {secret}"

    async def close(self) -> None:
        await self._pool.close()

    async def _request(self, method: str, target: str, body: bytes | AsyncIterator[bytes] | None = None,
                       length: int | None = None, range_header: str | None = None) -> Response:
        headers = [("Authorization", self._auth), ("X-Coffer-Request-Id", request_id.get())]
        if range_header is not None:
            headers.append(("Range", range_header))
        try:
            return await self._pool.request(method, target, headers, body, length)
        except TransportError as exc:
            raise ServiceUnavailable(f"the data daemon is not reachable: {exc}") from exc

    async def _text(self, resp: Response) -> str:
        try:
            return (await resp.read(self._pool.read_timeout)).decode(errors="replace")
        except TransportError as exc:
            raise ServiceUnavailable(f"the data daemon went away mid-answer: {exc}") from exc

    async def put(self, body: AsyncIterator[bytes] | bytes, length: int | None, hint: str | None = None) -> str:
        """Store `length` bytes (None: unknown, sent chunked); returns the new data key once they are durable.

        The daemon chooses its keys: the naming `hint` of other locations is not needed."""
        if length is not None and length <= C.DATA_INLINE_READ_BYTES and not isinstance(body, bytes):
            body = b"".join([chunk async for chunk in body])    # one write with the headers, not three
        resp = await self._request("PUT", "/DataFile", body, length)
        text = await self._text(resp)
        if resp.status != 201:
            _raise_for(resp.status, text)
        return resp.headers["location"].removeprefix("/DataFile/")

    async def get(self, key: str, start: int | None = None, end: int | None = None) -> DataStream:
        """Open a data file (optionally a byte range of it); the first chunk proves it is there."""
        rng = None if start is None else f"bytes={start}-{'' if end is None else end}"
        resp = await self._request("GET", f"/DataFile/{key}", range_header=rng)
        if resp.status not in (200, 206):
            text = await self._text(resp)
            if resp.status == 404:
                log.error("data file missing for referenced metadata", extra={"dataKey": key})
                raise InternalError(f"data file {key} is missing")
            _raise_for(resp.status, text)
        return DataStream(resp, self._pool.read_timeout)

    async def delete(self, key: str) -> None:
        """Delete a data file; a missing one counts as deleted."""
        resp = await self._request("DELETE", f"/DataFile/{key}")
        text = await self._text(resp)
        if resp.status not in (204, 404):
            _raise_for(resp.status, text)

    async def size(self, key: str) -> int | None:
        """The size of a data file, or None when it does not exist."""
        resp = await self._request("HEAD", f"/DataFile/{key}")
        resp.release()
        if resp.status == 404:
            return None
        if resp.status != 200:
            _raise_for(resp.status, "")
        return int(resp.headers["content-length"])

    async def list_files(self, limit: int = 1000) -> AsyncIterator[StoredFile]:
        """Every data file, in key order, page by page."""
        after: str | None = None
        while True:
            query = f"list&limit={limit}" + (f"&after={after}" if after else "")
            page = await self.admin(query)
            for item in page["items"]:
                yield StoredFile(item["key"], item["size"], item["mtime"])
            after = page["next"]
            if after is None:
                return

    async def health(self) -> LocationHealth:
        """Whether the daemon answers its health check."""
        try:
            resp = await self._request("GET", "/_/healthcheck")
            text = await self._text(resp)
        except ServiceUnavailable as exc:
            return LocationHealth(False, exc.detail)
        return LocationHealth(resp.status == 200, "" if resp.status == 200 else text[:200])

    async def admin(self, query: str) -> dict:
        resp = await self._request("GET", f"/DataFile?{query}")
        text = await self._text(resp)
        if resp.status != 200:
            _raise_for(resp.status, text)
        return orjson.loads(text)


class DataStream:
    """An open data file: iterate for its bytes; `aclose` gives its connection back whatever happened."""

    def __init__(self, resp: Response, timeout: float) -> None:
        self._resp = resp
        self._timeout = timeout

    def ready(self) -> bytes | None:
        """All the bytes, if they came with the headers (small files do): no stream needed."""
        return self._resp.complete_body()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.aiter(self._timeout):
                yield chunk
        except TransportError as exc:
            raise ServiceUnavailable(f"the data daemon went away mid-body: {exc}") from exc

    async def aclose(self) -> None:
        self._resp.release()


def _raise_for(status: int, text: str) -> None:
    if status >= 500:
        raise ServiceUnavailable(f"the data daemon answered {status}")
    raise InternalError(f"the data daemon answered {status}: {text[:200]}")
