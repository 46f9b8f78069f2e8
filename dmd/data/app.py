"""The /DataFile REST API (design.md §8.1), as a plain ASGI application.

PUT streams the body into a new file and answers 201 with its Location; GET streams it back,
with one Range; DELETE answers 204. Every request but the health check carries the cluster secret;
the health check answers its status to anyone and the disk figures only to holders of the secret.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from dmd.data.group import SmallFileGroup
from dmd.data.memory import MemoryBlob, MemoryStore
from dmd.data.store import FileBlob, FileStore, Upload
from shared import constants as C
from shared import metrics
from shared.logging import request_id
from shared.ranges import Unsatisfiable, parse_range
from shared.security import secret_matches

log = logging.getLogger("coffer.data")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
_PATH = re.compile(r"^/DataFile(?:/([0-9a-f]+))?$")
_WRITE_BUFFER = 1 << 20
# (method, whether the path is /DataFile itself) -> the file operation counted in the metrics
_OPERATIONS = {("PUT", True): "write", ("GET", False): "read", ("HEAD", False): "stat",
               ("DELETE", False): "delete", ("GET", True): "list"}


class HttpError(Exception):
    def __init__(self, status: int, error_type: str, message: str, headers: list | None = None) -> None:
        self.status, self.error_type, self.message, self.headers = status, error_type, message, headers or []


class DataApp:
    def __init__(self, store: FileStore | MemoryStore, secret: str, metrics_public: bool = False) -> None:
        self.store = store
        self.small_files = SmallFileGroup(store)
        self.secret = secret
        self.metrics_public = metrics_public
        ops = metrics.family("coffer_data_file_operations_total")
        self._ops = {(op, result): ops.labels(op, result) for op in _OPERATIONS.values()
                     for result in ("ok", "not_found", "refused", "error")} if ops else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id.set(headers.get("x-coffer-request-id", ""))
        result = "ok"
        try:
            await self._route(scope, headers, receive, send)
        except HttpError as exc:
            result = "not_found" if exc.status == 404 else "refused" if exc.status < 500 else "error"
            await _respond(send, exc.status, orjson.dumps({"errorType": exc.error_type,
                                                           "errorMessage": exc.message}) + b"\n",
                           [(b"content-type", b"application/json")] + exc.headers)
        except OSError as exc:
            result = "error"
            log.error("data I/O failed", extra={"error": str(exc)})
            status = 507 if exc.errno == 28 else 500
            await _respond(send, status, orjson.dumps({"errorType": "InternalError", "errorMessage": str(exc)}))
        finally:
            op = _operation(scope) if self._ops is not None else None
            if op is not None:
                self._ops[(op, result)].inc()

    async def _route(self, scope: Scope, headers: dict[str, str], receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/_/healthcheck":
            return await self.health(headers, send)
        if path == C.METRICS_PATH:
            return await metrics.serve(scope, send, self.secret, self.metrics_public)
        self._authenticate(headers)
        m = _PATH.match(path)
        if not m:
            raise HttpError(400, "InvalidURI", "the path must be /DataFile or /DataFile/<40 hex digits>")
        key = m.group(1)
        if key is not None and len(key) != 2 * C.DATA_KEY_BYTES:
            raise HttpError(400, "InvalidURI", "a data key is 40 lowercase hex digits")
        query = scope.get("query_string", b"").decode()
        if method == "PUT" and key is None:
            return await self.put(headers, receive, send)
        if method in ("GET", "HEAD") and key is not None:
            return await self.get(key, headers, send, method == "HEAD")
        if method == "DELETE" and key is not None:
            return await self.delete(key, send)
        if method == "GET" and key is None:
            return await self.admin(query, send)
        if method == "PUT":
            raise HttpError(400, "InvalidURI", "data keys are chosen by the daemon: PUT /DataFile")
        raise HttpError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")

    def _authenticate(self, headers: dict[str, str]) -> None:
        if not headers.get("authorization"):
            raise HttpError(401, "Unauthorized", "the cluster secret is missing")
        if not self._authorized(headers):
            raise HttpError(403, "Forbidden", "the cluster secret is wrong")

    def _authorized(self, headers: dict[str, str]) -> bool:
        """Whether the request carries `Authorization: Bearer <the cluster secret>`."""
        auth = headers.get("authorization", "")
        return auth.startswith("Bearer ") and secret_matches(auth[len("Bearer "):], self.secret)

    async def put(self, headers: dict[str, str], receive: Receive, send: Send) -> None:
        length = headers.get("content-length")
        chunked = length is None and "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and (length is None or not length.isdigit()):
            raise HttpError(411, "MissingContentLength", "PUT /DataFile needs a Content-Length or a chunked body")
        expected = None if chunked else int(length)
        if expected is not None and expected <= C.DATA_INLINE_READ_BYTES:
            key = await self.small_files.store_small(await _receive_small(receive, expected))
            return await _respond(send, 201, b"", [(b"location", f"/DataFile/{key}".encode())])
        up = await asyncio.to_thread(self.store.begin)
        try:
            await self._receive_into(up, receive, expected)
            await asyncio.to_thread(self.store.commit, up)
        except BaseException:
            await asyncio.to_thread(self.store.abort, up)
            raise
        await _respond(send, 201, b"", [(b"location", f"/DataFile/{up.key}".encode())])

    async def _receive_into(self, up: Upload, receive: Receive, expected: int | None) -> None:
        """Write the body to the upload; `expected` None (chunked) means up to MAX_PUT_BYTES."""
        limit = C.MAX_PUT_BYTES if expected is None else expected
        buf = bytearray()
        async for part in _body_parts(receive):
            buf += part
            if len(buf) >= _WRITE_BUFFER:
                await self._write(up, bytes(buf), limit, expected)
                buf = bytearray()
        if buf:
            await self._write(up, bytes(buf), limit, expected)
        if expected is not None and up.written != expected:
            raise HttpError(400, "IncompleteBody", f"got {up.written} of {expected} bytes")

    async def _write(self, up: Upload, chunk: bytes, limit: int, expected: int | None) -> None:
        if up.written + len(chunk) > limit:
            if expected is None:
                raise HttpError(413, "EntityTooLarge", f"a data file holds at most {limit} bytes")
            raise HttpError(400, "InvalidArgument", "the body is longer than its Content-Length")
        await asyncio.to_thread(self.store.write, up, chunk)

    async def get(self, key: str, headers: dict[str, str], send: Send, head: bool) -> None:
        try:
            # Opening is one metadata lookup, like the reads below: cheaper on the loop than a thread hop.
            blob = self.store.open_blob(key)
        except FileNotFoundError:
            raise HttpError(404, "ObjNotFound", f"no data file {key}") from None
        try:
            size = blob.size
            start, end, status, extra = _range_for(headers.get("range"), size)
            length = end - start + 1 if size else 0
            out = [(b"content-length", str(length).encode()), (b"accept-ranges", b"bytes")] + extra
            if head:
                return await _respond_head(send, status, out)
            if length <= C.DATA_INLINE_READ_BYTES:
                # A small file is read on the loop in one pread (page cache, microseconds) and sent
                # with its headers: two thread hops would cost more than the read.
                await send({"type": "http.response.start", "status": status, "headers": out})
                return await send({"type": "http.response.body", "body": blob.read(start, length)})
            await send({"type": "http.response.start", "status": status, "headers": out})
            await _stream_blob(blob, start, end + 1, send)
        finally:
            blob.close()

    async def delete(self, key: str, send: Send) -> None:
        if not await asyncio.to_thread(self.store.delete, key):
            raise HttpError(404, "ObjNotFound", f"no data file {key}")
        await _respond(send, 204, b"")

    async def admin(self, query: str, send: Send) -> None:
        from urllib.parse import parse_qs
        params = parse_qs(query, keep_blank_values=True)
        if "diskUsage" in params:
            body = self.store.disk_usage()
        elif "list" in params:
            limit = int(params.get("limit", ["1000"])[0])
            items, nxt = await asyncio.to_thread(self.store.list_keys, params.get("after", [None])[0], limit)
            body = {"items": items, "next": nxt}
        else:
            raise HttpError(400, "InvalidArgument", "GET /DataFile takes ?diskUsage or ?list")
        await _respond(send, 200, orjson.dumps(body), [(b"content-type", b"application/json")])

    async def health(self, headers: dict[str, str], send: Send) -> None:
        """Status for any prober (container healthchecks carry no secret); disk figures for the cluster."""
        ok = self.store.writable()
        body: dict[str, Any] = {"status": "ok" if ok else "unwritable"}
        if self._authorized(headers):
            body.update(self.store.disk_usage())
        await _respond(send, 200 if ok else 503, orjson.dumps(body), [(b"content-type", b"application/json")])


def _operation(scope: Scope) -> str | None:
    """The file operation a request is, for the metrics; None for the health check and the metrics."""
    path = scope["path"]
    if not path.startswith("/DataFile"):
        return None
    return _OPERATIONS.get((scope["method"], path == "/DataFile"))


async def _body_parts(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as the server hands it over; a client that leaves early is an IncompleteBody."""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(400, "IncompleteBody", "the client went away before the body ended")
        more = message.get("more_body", False)
        yield message.get("body", b"")


async def _receive_small(receive: Receive, expected: int) -> bytes:
    """A body of at most DATA_INLINE_READ_BYTES, whole; refused when it is not `expected` bytes long."""
    body = bytearray()
    async for part in _body_parts(receive):
        body += part
        if len(body) > expected:
            raise HttpError(400, "InvalidArgument", "the body is longer than its Content-Length")
    if len(body) != expected:
        raise HttpError(400, "IncompleteBody", f"got {len(body)} of {expected} bytes")
    return bytes(body)


def _range_for(header: str | None, size: int) -> tuple[int, int, int, list]:
    if header is None:
        return 0, size - 1, 200, []
    if "," in header:
        raise HttpError(400, "InvalidArgument", "one range at a time")
    try:
        rng = parse_range(header, size)
    except Unsatisfiable:
        raise HttpError(416, "InvalidRange", "the range is not satisfiable",
                        [(b"content-range", f"bytes */{size}".encode())]) from None
    if rng is None:
        if size == 0:
            return 0, -1, 200, []
        raise HttpError(400, "InvalidArgument", f"malformed range {header!r}")
    start, end = rng
    return start, end, 206, [(b"content-range", f"bytes {start}-{end}/{size}".encode())]


async def _stream_blob(blob: FileBlob | MemoryBlob, start: int, stop: int, send: Send) -> None:
    """Send [start, stop) in DATA_CHUNK_BYTES chunks; a file's chunks are read in a worker thread."""
    pos = start
    while pos < stop:
        n = min(C.DATA_CHUNK_BYTES, stop - pos)
        chunk = await asyncio.to_thread(blob.read, pos, n) if blob.blocking else blob.read(pos, n)
        if not chunk:
            break
        pos += len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": pos < stop})
    if pos == start:
        await send({"type": "http.response.body", "body": b""})


async def _respond_head(send: Send, status: int, headers: list) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _respond(send: Send, status: int, body: bytes, headers: list | None = None) -> None:
    out = [(b"content-length", str(len(body)).encode())] + (headers or [])
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class WithMemory:
    """The data daemon's two stores: its backend at /DataFile, its memory (`mem` locations) beside it.

    The memory store answers the same API at C.MEMORY_DATA_PATH; the health check is the daemon's.
    """

    def __init__(self, main: DataApp, memory: DataApp) -> None:
        self.main, self.memory = main, memory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        prefix = C.MEMORY_DATA_PATH
        if path == prefix or path.startswith(prefix + "/"):
            return await self.memory({**scope, "path": "/DataFile" + path[len(prefix):]}, receive, send)
        await self.main(scope, receive, send)
