"""Running ASGI apps with uvicorn, several in one event loop when a process serves several ports."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.config import Config
from shared.logging import setup_logging, uvicorn_log_config
from shared.security import SECRET_SETTINGS, secret_is_set

log = logging.getLogger("coffer")


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, except when bytes follow a request's declared body.

    A client whose Content-Length is shorter than its body sends bytes that cannot start a new
    request. uvicorn would answer a bare 400 at once, before the request being served gets its
    answer (S3 answers BadDigest or IncompleteBody there). Instead that answer goes out and the
    connection closes after it; the extra bytes are dropped.
    """

    def send_400_response(self, msg: str) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False
            return
        super().send_400_response(msg)


def uvicorn_config(app: Any, host: str, port: int, level: str) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_config=uvicorn_log_config(), log_level=level.lower(),
                          access_log=False, loop="uvloop", http=HttpProtocol, lifespan="on",
                          timeout_keep_alive=60, ws_max_size=100 * 2**20, proxy_headers=False, server_header=False)


async def serve_all(configs: list[uvicorn.Config]) -> None:
    """Serve every app until a signal stops them all."""
    servers = [uvicorn.Server(c) for c in configs]
    await asyncio.gather(*(s.serve() for s in servers))


def run(configs: list[uvicorn.Config]) -> None:
    import uvloop
    uvloop.run(serve_all(configs))


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
