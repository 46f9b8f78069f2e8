"""A small pooled HTTP/1.1 client for the daemons' internal REST API (/DataFile).

Why not httpx on this path: on a 4 KiB GET, httpx and httpcore took 0.8 of the front-end's
1.6 CPU-ms (py-spy), including a failed `import` per request in httpcore's async-library
detection and ~100 µs in httpx's own request and response models (measured with a transport that
does nothing). The /DataFile API is internal, small and fixed: one request at a time per keep-alive
connection, Content-Length or chunked bodies, no redirects, no cookies; TLS is the event loop's
(a context given by the caller, DATA_TLS). Parsing is
httptools' (the C parser uvicorn uses); this module only frames requests, pools connections and
applies back-pressure both ways.
"""
from __future__ import annotations

import asyncio
import collections
import ssl
import time
from collections.abc import AsyncIterator, Iterable

import httptools

_MAX_BUFFERED = 1 << 20          # response bytes held before reading from the socket pauses
_SMALL_BODY = 64 * 1024          # request bodies up to this size go out in the same write as the headers


class TransportError(ConnectionError):
    """The connection failed, timed out or broke mid-message."""


class Response:
    """Status and headers of a response whose body is read as it arrives."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self.status = 0
        self.headers: dict[str, str] = {}
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future | None = None
        self._paused = False
        self.released = False

    # -- fed by the connection -------------------------------------------------
    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _MAX_BUFFERED and not self._paused:
            self._paused = True
            self._conn.transport.pause_reading()
        self._wake()

    def _finish(self, error: BaseException | None = None) -> None:
        if not self._done:
            self._done, self._error = True, error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- read by the caller ----------------------------------------------------
    async def aiter(self, timeout: float) -> AsyncIterator[bytes]:
        """The body, chunk by chunk; the connection goes back to the pool at the end."""
        try:
            while True:
                if self._chunks:
                    chunk = self._chunks.popleft()
                    self._buffered -= len(chunk)
                    if self._paused and self._buffered <= _MAX_BUFFERED // 2:
                        self._paused = False
                        self._conn.transport.resume_reading()
                    yield chunk
                elif self._done:
                    if self._error is not None:
                        raise self._error
                    return
                else:
                    self._waiter = asyncio.get_running_loop().create_future()
                    await _wait(self._waiter, timeout, "reading the response body")
        finally:
            self.release()

    def complete_body(self) -> bytes | None:
        """The whole body if it has already arrived (a small file usually comes with its headers)."""
        if not (self._done and self._error is None):
            return None
        body = b"".join(self._chunks)
        self._chunks.clear()
        self.release()
        return body

    async def read(self, timeout: float) -> bytes:
        return b"".join([chunk async for chunk in self.aiter(timeout)])

    def release(self) -> None:
        """Give the connection back (whole response read) or close it (anything else)."""
        if self.released:
            return
        self.released = True
        self._conn.release(reusable=self._done and self._error is None and not self._chunks)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; httptools calls the on_* methods while parsing."""

    def __init__(self, pool: HttpPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Response | None = None
        self.headers_seen: asyncio.Future | None = None
        self.closed = False
        self.keep_alive = True
        self.idle_since = 0.0
        self._drain: asyncio.Future | None = None
        self._header_name = b""

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport          # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(TransportError(f"malformed response: {exc}"))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(TransportError(f"connection lost: {exc or 'closed by the peer'}"))
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(TransportError("connection lost while sending"))

    def pause_writing(self) -> None:
        self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    # -- httptools callbacks ---------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.response.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.response.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        if not self.headers_seen.done():
            self.headers_seen.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.response._feed(body)

    def on_message_complete(self) -> None:
        self.response._finish()

    # -- used by the pool ------------------------------------------------------
    def _fail(self, error: TransportError) -> None:
        self.keep_alive = False
        if self.headers_seen is not None and not self.headers_seen.done():
            self.headers_seen.set_exception(error)
        if self.response is not None:
            self.response._finish(error)

    def start(self) -> Response:
        self.response = Response(self)
        self.headers_seen = asyncio.get_running_loop().create_future()
        return self.response

    async def drain(self) -> None:
        if self.closed:
            raise TransportError("connection lost while sending")
        if self._drain is not None:
            await self._drain

    def release(self, reusable: bool) -> None:
        if reusable and self.keep_alive and not self.closed:
            self.response = self.headers_seen = None
            self.pool._put_back(self)
        else:
            self.abort()
            self.pool._forget()

    def abort(self) -> None:
        self.keep_alive = False
        if self.transport is not None and not self.closed:
            self.transport.abort()


class HttpPool:
    """Keep-alive connections to one host:port, used one request at a time each."""

    def __init__(self, host: str, port: int, *, max_connections: int = 256, max_idle: int = 64,
                 idle_expiry: float = 30.0, connect_timeout: float = 5.0, read_timeout: float = 60.0,
                 tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.max_idle, self.idle_expiry = max_idle, idle_expiry
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._host_header = f"Host: {host}:{port}\r\n"

    async def request(self, method: str, target: str, headers: Iterable[tuple[str, str]],
                      body: bytes | AsyncIterator[bytes] | None = None, length: int | None = None) -> Response:
        """Send a request; returns once the response headers are in. `length` None with an iterator: chunked."""
        head = self._head(method, target, headers, body, length)
        streamed = body is not None and not isinstance(body, bytes)
        chunked = streamed and length is None
        for attempt in (1, 2):
            conn, reused = await self._checkout()
            try:
                return await self._exchange(conn, head, body, chunked, method == "HEAD")
            except TransportError:
                # A pooled connection the server closed while idle fails before any answer: retry once.
                if not (reused and not streamed and attempt == 1 and conn.response.status == 0):
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.transport.close()

    def _head(self, method: str, target: str, headers: Iterable[tuple[str, str]],
              body: bytes | AsyncIterator[bytes] | None, length: int | None) -> bytes:
        lines = [f"{method} {target} HTTP/1.1\r\n", self._host_header]
        lines += [f"{name}: {value}\r\n" for name, value in headers]
        if isinstance(body, bytes):
            lines.append(f"Content-Length: {len(body)}\r\n")
        elif body is not None:
            lines.append(f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    async def _exchange(self, conn: _Connection, head: bytes, body: bytes | AsyncIterator[bytes] | None,
                        chunked: bool, is_head: bool) -> Response:
        resp = conn.start()
        try:
            if isinstance(body, bytes) and len(body) <= _SMALL_BODY:
                conn.transport.write(head + body)
            else:
                conn.transport.write(head)
                if body is not None and not await _send_body(conn, body, chunked):
                    conn.keep_alive = False         # answered before the whole body went out
            await _wait(conn.headers_seen, self.read_timeout, "waiting for the response")
        except BaseException:
            if conn.headers_seen.done() and not conn.headers_seen.cancelled():
                conn.headers_seen.exception()       # retrieved: the error raised here says it all
            else:
                conn.headers_seen.cancel()          # nobody waits any more (the body's source failed)
            resp.released = True
            conn.release(reusable=False)
            raise
        if is_head:             # the parser does not know a HEAD answer has no body: never reuse it
            resp._finish()
            conn.keep_alive = False
        return resp

    async def _checkout(self) -> tuple[_Connection, bool]:
        await self._slots.acquire()
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_expiry:
                return conn, True
            conn.transport.close()
        try:
            return await self._connect(), False
        except BaseException:
            self._slots.release()
            raise

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self), self.host, self.port, ssl=self.tls,
                                       server_hostname=self.host if self.tls else None), self.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:     # ssl.SSLError (a certificate refused) is an OSError
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {exc or 'timed out'}") from exc
        return conn

    def _put_back(self, conn: _Connection) -> None:
        self._slots.release()
        if len(self._idle) >= self.max_idle:
            conn.transport.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    def _forget(self) -> None:
        self._slots.release()


async def _send_body(conn: _Connection, body: bytes | AsyncIterator[bytes], chunked: bool) -> bool:
    """Write a request body with back-pressure; False if the server answered before it was all sent."""
    if isinstance(body, bytes):
        conn.transport.write(body)
        return True
    async for chunk in body:
        if conn.headers_seen.done():
            return False        # an early answer (an error): the rest of the body is not wanted
        if chunk:
            conn.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            await conn.drain()
    if chunked:
        conn.transport.write(b"0\r\n\r\n")
    return True


async def _wait(fut: asyncio.Future, timeout: float, what: str) -> None:
    """Await a future with a deadline, without the cost of a task per wait."""
    if fut.done():
        return fut.result()
    handle = asyncio.get_running_loop().call_later(timeout, _expire, fut, what, timeout)
    try:
        await fut
    finally:
        handle.cancel()


def _expire(fut: asyncio.Future, what: str, timeout: float) -> None:
    if not fut.done():
        fut.set_exception(TransportError(f"timed out after {timeout:g} s {what}"))
