"""`coffer mdserver`: the metadata daemon."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from dmd.metadata.context import MetadataContext
from dmd.metadata.engine import EngineUnavailable, open_engine
from dmd.metadata.server import build_server
from services.runner import check_daemon_bind, uvicorn_config
from shared import constants as C
from shared import metrics
from shared.config import Config
from shared.tls import check_server_files

log = logging.getLogger("coffer.metadata")


class _Lifespan:
    """Closes the store cleanly: pending batches are committed before the DB closes."""

    def __init__(self, app: Any, ctx: MetadataContext) -> None:
        self.app, self.ctx = app, ctx

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.ctx.listen_for_bucket_changes(asyncio.get_running_loop())
                await self.ctx.notifier.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.ctx.notifier.stop()
                await self.ctx.gatherer.drain()
                self.ctx.gatherer.close()
                if self.ctx.sessions is not None:
                    self.ctx.sessions.close()
                self.ctx.engine.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def metadata_app(config: Config) -> tuple[Any, MetadataContext]:
    check_daemon_bind(config, config.metadata_bind)
    try:
        engine = open_engine(config.backend, config.metadata_path, config.metadata_engine, config.metadata_dsn,
                             config.metadata_pool_size)
    except EngineUnavailable as exc:     # LevelDB locked by another daemon, PostgreSQL unreachable
        raise SystemExit(f"coffer mdserver: {exc}") from None
    if config.unsafe_no_fsync:
        log.warning("COFFER_UNSAFE_NO_FSYNC is set: metadata batches are NOT synced; acknowledged writes can be lost")
    ctx = MetadataContext(engine, config.replication_group_id, sync=not config.unsafe_no_fsync)
    ctx.notifier.declared = config.notify_targets
    sio, _ = build_server(ctx, config.cluster_secret)
    return _Lifespan(socketio.ASGIApp(sio, other_asgi_app=_Other(config)), ctx), ctx


class _Other:
    """What is not socket.io on the metadata port: /_/metrics, else 404."""

    def __init__(self, config: Config) -> None:
        self.secret, self.public = config.cluster_secret, config.metrics_public

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return await send({"type": "websocket.close", "code": 1008})
        if scope["path"] == C.METRICS_PATH:
            return await metrics.serve(scope, send, self.secret, self.public)
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


def uvicorn_configs(config: Config) -> list:
    if config.metadata_tls:
        check_server_files(config, "METADATA_TLS")
    app, _ = metadata_app(config)
    log.info("metadata daemon starting", extra={"bind": config.metadata_bind, "port": config.metadata_port,
                                                "backend": config.backend, "engine": _engine_name(config),
                                                "tls": config.metadata_tls,
                                                "path": config.metadata_path if _engine_name(config) == "leveldb"
                                                else None})
    return [uvicorn_config(app, config.metadata_bind, config.metadata_port, config, daemon=True,
                           tls=config.metadata_tls)]


def _engine_name(config: Config) -> str:
    """What holds the metadata: leveldb, postgres or memory."""
    return "memory" if config.backend == "mem" else config.metadata_engine
