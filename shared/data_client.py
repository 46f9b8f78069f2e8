"""The front-end's client of the data daemon's /DataFile API (dmd-reference §8.4)."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx

from shared import constants as C
from shared.errors import InternalError, ServiceUnavailable
from shared.logging import request_id

log = logging.getLogger("coffer.data")


class DataClient:
    """Streams bytes to and from the data daemon over pooled keep-alive connections."""

    def __init__(self, host: str, port: int, secret: str) -> None:
        self._http = httpx.AsyncClient(
            base_url=f"http://{host}:{port}",
            timeout=httpx.Timeout(connect=5, read=60, write=60, pool=10),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64,
                                keepalive_expiry=C.DATA_KEEPALIVE_EXPIRY_S))
        self._auth = f"Bearer {secret}"

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": self._auth, "X-Coffer-Request-Id": request_id.get(), **extra}

    async def close(self) -> None:
        await self._http.aclose()

    async def put(self, body: AsyncIterator[bytes] | bytes, length: int | None) -> str:
        """Store `length` bytes (None: unknown, sent chunked); returns the new data key once they are durable."""
        extra = {} if length is None else {"Content-Length": str(length)}
        try:
            resp = await self._http.put("/DataFile", content=body, headers=self._headers(**extra))
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"the data daemon is not reachable: {exc}") from exc
        if resp.status_code != 201:
            _raise_for(resp.status_code, resp.text)
        return resp.headers["location"].removeprefix("/DataFile/")

    async def get(self, key: str, start: int | None = None, end: int | None = None) -> AsyncIterator[bytes]:
        """Open a data file (optionally a byte range of it); the first chunk proves it is there."""
        headers = self._headers()
        if start is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            req = self._http.build_request("GET", f"/DataFile/{key}", headers=headers)
            resp = await self._http.send(req, stream=True)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"the data daemon is not reachable: {exc}") from exc
        if resp.status_code not in (200, 206):
            text = (await resp.aread()).decode(errors="replace")
            await resp.aclose()
            if resp.status_code == 404:
                log.error("data file missing for referenced metadata", extra={"dataKey": key})
                raise InternalError(f"data file {key} is missing")
            _raise_for(resp.status_code, text)
        return _relay(resp)

    async def delete(self, key: str) -> None:
        """Delete a data file; a missing one counts as deleted."""
        try:
            resp = await self._http.delete(f"/DataFile/{key}", headers=self._headers())
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"the data daemon is not reachable: {exc}") from exc
        if resp.status_code not in (204, 404):
            _raise_for(resp.status_code, resp.text)

    async def size(self, key: str) -> int | None:
        """The size of a data file, or None when it does not exist."""
        try:
            resp = await self._http.head(f"/DataFile/{key}", headers=self._headers())
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"the data daemon is not reachable: {exc}") from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            _raise_for(resp.status_code, "")
        return int(resp.headers["content-length"])

    async def list_files(self, limit: int = 1000) -> AsyncIterator[dict]:
        """Every data file ({key, size, mtime}), page by page."""
        after: str | None = None
        while True:
            query = f"list&limit={limit}" + (f"&after={after}" if after else "")
            page = await self.admin(query)
            for item in page["items"]:
                yield item
            after = page["next"]
            if after is None:
                return

    async def admin(self, query: str) -> dict:
        resp = await self._http.get(f"/DataFile?{query}", headers=self._headers())
        if resp.status_code != 200:
            _raise_for(resp.status_code, resp.text)
        return resp.json()


async def _relay(resp: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.aiter_raw(C.DATA_CHUNK_BYTES):
            yield chunk
    except httpx.TransportError as exc:
        raise ServiceUnavailable(f"the data daemon went away mid-body: {exc}") from exc
    finally:
        await resp.aclose()


def _raise_for(status: int, text: str) -> None:
    if status >= 500:
        raise ServiceUnavailable(f"the data daemon answered {status}")
    raise InternalError(f"the data daemon answered {status}: {text[:200]}")
