"""Running ASGI apps with uvicorn, several in one event loop when a process serves several ports."""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from services.http_limits import HeadCounter, HttpLimits, error_response
from shared.config import Config
from shared.errors import S3Error
from shared.logging import setup_logging, uvicorn_log_config
from shared.security import SECRET_SETTINGS, secret_is_set

log = logging.getLogger("coffer")


class _Drain:
    """Stands in for the parser once a connection is refused: drops what arrives, up to a budget.

    Past the budget it stops reading rather than close: closing with unread bytes resets the
    connection, and a reset can destroy the answer before the client reads it.
    """

    def __init__(self, transport: asyncio.Transport, budget: int) -> None:
        self.transport, self.budget = transport, budget

    def feed_data(self, data: bytes) -> None:
        self.budget -= len(data)
        if self.budget < 0:
            self.transport.pause_reading()


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with Coffer's limits (services/http_limits.py) and one change.

    Limits: a head (request line and header fields) is counted as it arrives and refused with 400
    RequestHeaderSectionTooLarge once too big, before httptools accumulates more of it. A head must be
    complete within the header timeout of its first byte (of the connect, for the first request); a
    body that sends nothing for the body timeout gets 400 RequestTimeout; a keep-alive connection
    waiting for its next request is closed after the idle timeout (uvicorn's timeout_keep_alive).
    A refusal is half-closed after the answer, and what the client still sends is read and dropped
    (up to a budget, then left unread) for a moment before the close, so that the client reads the
    answer rather than a connection reset.

    The change: a client whose Content-Length is shorter than its body sends bytes that cannot start a
    new request. uvicorn would answer a bare 400 at once, before the request being served gets its
    answer (S3 answers BadDigest or IncompleteBody there). Instead that answer goes out and the
    connection closes after it; the extra bytes are dropped.
    """

    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.counter = HeadCounter(limits)
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._body_at = 0.0
        self._refusal: S3Error | None = None        # what a parser callback refused, for data_received

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
            self.counter.chunk(len(data))
        except S3Error as err:
            return self._refuse_head(err)
        except httptools.HttpParserUpgrade:
            return self._upgrade()
        except httptools.HttpParserError:
            if self._refusal is not None:
                return self._refuse_head(self._refusal)
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            return self.send_400_response(msg)
        counter = self.counter
        if counter.in_head:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)
        elif counter.in_body:
            self._body_at = self.loop.time()
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_check)

    def _upgrade(self) -> None:
        if self._should_upgrade():
            self._stop_timers()         # the connection is a websocket's from now on
            self.handle_websocket_upgrade()
        else:
            self._unsupported_upgrade_warning()

    # Parser callbacks: uvicorn's, plus the counting. A callback that raises stops the parser.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.counter.begin()

    def on_url(self, url: bytes) -> None:
        self.url += url
        try:
            self.counter.url(len(self.url))
        except S3Error as err:
            self._refusal = err
            raise

    def on_header(self, name: bytes, value: bytes) -> None:
        try:
            self.counter.field(name, value)
        except S3Error as err:
            self._refusal = err
            raise
        name = name.lower()             # uvicorn's on_header, inline: it runs for every field
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.counter.head_done()
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        expecting = self.expect_100_continue
        super().on_headers_complete()
        if expecting and self.cycle is not None:
            self._close_after_early_answer(self.cycle)

    @staticmethod
    def _close_after_early_answer(cycle: RequestResponseCycle) -> None:
        """An answer to `Expect: 100-continue` sent before the body was asked for closes the
        connection. The client then sends no body, but a proxy in between (HAProxy) still waits
        for the Content-Length it announced and would read the next request as that body."""
        send = cycle.send

        async def send_closing(message: dict) -> None:
            if message["type"] == "http.response.start" and cycle.waiting_for_100_continue:
                cycle.keep_alive = False
            await send(message)

        cycle.send = send_closing

    def on_message_complete(self) -> None:
        self.counter.message_done()
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False
            return
        super().send_400_response(msg)

    # Timeouts and refusals
    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.counter.in_head:
            seconds = f"{self.limits.header_timeout:g}"
            self._refuse_head(S3Error("RequestTimeout", f"The request headers were not complete within {seconds}"
                                      " seconds. Idle connections will be closed."))
        elif not self.transport.is_closing():
            self.transport.close()          # connected, and never began a request

    def _body_check(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if not self.counter.in_body or cycle is None or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused or cycle.waiting_for_100_continue:
            self._body_at = now             # the server is not reading yet: the client is not to blame
        idle = now - self._body_at
        if idle < self.limits.body_timeout:
            self._body_timer = self.loop.call_later(self.limits.body_timeout - idle, self._body_check)
            return
        if cycle.response_started:
            self.transport.close()
            return
        cycle.disconnected = True           # the application's receive() ends; its answer is dropped
        cycle.message_event.set()
        self._answer_and_close(S3Error("RequestTimeout", "Your socket connection to the server was not read from"
                                       " or written to within the timeout period. Idle connections will be closed."),
                               cycle.scope.get("path", ""))

    def _refuse_head(self, err: S3Error) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # A pipelined head, while an earlier request is answered: that answer goes out, then the close.
            cycle.keep_alive = False
            self._stop_reading()
            return
        self._answer_and_close(err, "")

    def _answer_and_close(self, err: S3Error, resource: str) -> None:
        if self.transport.is_closing():
            return
        log.warning("request refused", extra={"code": err.code, "reason": err.message,
                                              "client": "%s:%s" % (self.client or ("?", 0))})
        self._stop_reading()
        self.transport.write(error_response(err, resource, self.server_state.default_headers))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self._linger_timer = self.loop.call_later(self.limits.linger, self.transport.close)

    def _stop_reading(self) -> None:
        """Parse nothing more: what still arrives is dropped, up to the linger budget."""
        self._stop_timers()
        self.counter.reset()
        self.parser = _Drain(self.transport, self.limits.linger_bytes)  # type: ignore[assignment]

    def _stop_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None


def uvicorn_config(app: Any, host: str, port: int, config: Config, daemon: bool = False, tls: bool = False,
                   lifespan: bool = True) -> uvicorn.Config:
    """The uvicorn settings of one port, with the HTTP limits of `config` (a daemon's, or a front-end's).

    `tls`: HTTPS with the configured certificate and key. `lifespan` False for a second port of an
    app that another port already starts and stops.
    """
    limits = HttpLimits.from_config(config, daemon)
    ssl = {"ssl_certfile": config.tls_cert, "ssl_keyfile": config.tls_key} if tls else {}
    return uvicorn.Config(app, host=host, port=port, log_config=uvicorn_log_config(),
                          log_level=config.log_level.lower(), access_log=False, loop="uvloop",
                          http=functools.partial(HttpProtocol, limits=limits), lifespan="on" if lifespan else "off",
                          timeout_keep_alive=limits.idle_timeout, ws_max_size=100 * 2**20, proxy_headers=False,
                          server_header=False, **ssl)


async def serve_all(configs: list[uvicorn.Config], reuse_port: bool = False) -> None:
    """Serve every app until a signal stops them all; with `reuse_port`, on sockets that other
    processes bind too (the kernel spreads new connections over them: `coffer serve --workers`)."""
    servers = [uvicorn.Server(c) for c in configs]
    await asyncio.gather(*(s.serve(sockets=[shared_socket(c)] if reuse_port else None)
                           for s, c in zip(servers, configs)))


def shared_socket(config: uvicorn.Config) -> socket.socket:
    """A listening socket on the config's address with SO_REUSEPORT."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.create_server((config.host, config.port), family=family, backlog=config.backlog,
                                reuse_port=True)
    return sock


def run(configs: list[uvicorn.Config], reuse_port: bool = False) -> None:
    import uvloop
    uvloop.run(serve_all(configs, reuse_port))


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def start_logging(service: str, config: Config) -> None:
    setup_logging(service, config.log_level)


def require_cluster_secret(config: Config, role: str) -> None:
    """Refuse to start without a cluster secret: a daemon would let anyone in, a front-end could not get in."""
    if not secret_is_set(config.cluster_secret):
        raise SystemExit(f"coffer {role}: refusing to start without a cluster secret: set {SECRET_SETTINGS} "
                         "(the same non-empty value for the daemons and every front-end)")


def check_daemon_bind(config: Config, bind: str) -> None:
    """Refuse the settings that are only safe on loopback."""
    if not is_loopback(bind) and config.unsafe_no_fsync:
        raise SystemExit("refusing COFFER_UNSAFE_NO_FSYNC on a non-loopback address")
