"""The front-end's ASGI application: S3 requests go through one dispatcher, `/_/` to FastAPI."""
from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from s3front.access_log import logged
from s3front.addressing import check_key, split_target
from s3front import iam_api
from s3front.api import HANDLERS
from s3front.auth import claimed_access_key
from s3front.authorize import authorize
from s3front.console import Console
from s3front.api.cors import add_cors_headers
from s3front.errors import error_body, not_implemented
from s3front.frontend import Frontend
from s3front.iam_api import query_service
from s3front.metrics import s3_metrics
from s3front.request import S3Request, S3Response
from s3front.routing import resolve
from shared import constants as C
from shared import metrics
from shared.config import Config
from shared.errors import InternalError, S3Error, ServiceUnavailable
from shared.logging import AccessLog, request_id

log = logging.getLogger("coffer.s3")
access_log = AccessLog("coffer.s3")


def _admin_app(frontend: Frontend) -> FastAPI:
    admin = FastAPI(title="Coffer admin", openapi_url=None, docs_url=None, redoc_url=None)

    @admin.get("/_/health")
    async def health() -> JSONResponse:
        # Serving needs metadata; a degraded data location is reported but the others keep serving.
        ready = frontend.metadata.ready
        found = frontend.location_health
        locations = {name: {"state": "ok" if h.ok else "degraded", **({"detail": h.detail} if h.detail else {})}
                     for name, h in found.items()}
        ok = ready and all(h.ok for h in found.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "metadata": ready, "locations": locations},
                            status_code=200 if ready else 503)

    @admin.get(C.HEALTH_LIVE_PATH)
    async def live() -> JSONResponse:
        """The process is up and its event loop answers (what an orchestrator restarts on)."""
        return JSONResponse({"status": "ok"})

    @admin.get(C.HEALTH_READY_PATH)
    async def ready() -> JSONResponse:
        """Requests can be served: the metadata daemon is connected and every data location healthy."""
        return await readiness(frontend)

    return admin


async def readiness(frontend: Frontend) -> JSONResponse:
    """/_/health/ready: 200 when ready, 503 naming what is not (the data checks bounded in time)."""
    metadata = frontend.metadata.ready
    try:
        found = await asyncio.wait_for(frontend.data.health(), C.HEALTH_CHECK_TIMEOUT_S)
        data = {name: {"ok": h.ok, **({"detail": h.detail} if h.detail else {})} for name, h in found.items()}
    except asyncio.TimeoutError:
        data = {name: {"ok": False, "detail": "health check timed out"} for name in frontend.data.backends}
    ok = metadata and all(d["ok"] for d in data.values())
    return JSONResponse({"status": "ready" if ok else "not ready", "metadata": metadata, "data": data},
                        status_code=200 if ok else 503)


class S3App:
    """ASGI entry point of an S3 front-end."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.frontend = Frontend(config)
        self.admin = _admin_app(self.frontend)
        self.metrics = s3_metrics()
        self.console = Console(config.region) if config.console else None

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return
        if scope["path"].startswith("/_/"):
            if scope["path"] == C.METRICS_PATH:
                return await metrics.serve(scope, send, self.config.cluster_secret, self.config.metrics_public)
            if self.console and (scope["path"] + "/").startswith(C.CONSOLE_PATH):
                return await self.console.serve(scope, send)
            return await self.admin(scope, receive, send)
        await self.handle(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.frontend.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.frontend.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope: dict, receive, send) -> None:
        started, wall = time.perf_counter(), time.time()
        rid = secrets.token_hex(8).upper()
        request_id.set(rid)
        headers = {k.decode("latin-1").lower(): header_text(v) for k, v in scope["headers"]}
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1") or "/"
        raw_query = scope.get("query_string", b"").decode("latin-1")
        req = S3Request(scope["method"], raw_path, raw_query, None, None,
                        dict(parse_qsl(raw_query, keep_blank_values=True)), headers, rid, receive, self.frontend,
                        source_ip=(scope.get("client") or ("",))[0], secure=scope.get("scheme") == "https")
        try:
            resp = await self._dispatch(req)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an S3 error
            resp = self._error_response(req, exc)
        await add_cors_headers(req, resp)
        op = req.operation.name if req.operation else None
        try:
            await self._send(send, req, resp)
        finally:
            # Counted even when the client went away mid-answer: its latency and bytes happened.
            seconds = time.perf_counter() - started
            self.metrics.request(op, resp.status, seconds, req.received, req.sent)
        resp.run_after()
        if logged(req):
            await self.frontend.access_logs.record(req, resp, started, wall, started + seconds)
        access_log.write("request", {"method": req.method, "op": op, "bucket": req.bucket, "key": req.key,
                                     "status": resp.status, "ms": round(seconds * 1000, 2)})

    async def _dispatch(self, req: S3Request) -> S3Response:
        service = query_service(req.method, req.raw_path, req.headers)
        if service is not None:         # the IAM and STS APIs share the port, told apart by their signature
            return await iam_api.handle(req, service)
        req.bucket, req.key = split_target(req.headers.get("host", ""), req.raw_path, self.config.endpoints)
        if req.key is not None:
            check_key(req.key)
        req.operation = resolve(req.method, req.bucket, req.key, req.query, req.headers)
        if req.method != "OPTIONS":     # a CORS preflight is anonymous, even on a presigned URL
            claimed = claimed_access_key(req.query, req.headers)
            if claimed:
                await self.frontend.identities.prefetch(claimed)    # an IAM user's key: cached, else one read
            req.auth = self.frontend.auth.authenticate(req.method, req.raw_path, req.raw_query, req.query,
                                                       req.headers)
        handler = HANDLERS.get(req.operation.name)
        if handler is None:
            raise not_implemented(req.operation.name)
        await authorize(req)
        return await handler(req)

    def _error_response(self, req: S3Request, exc: Exception) -> S3Response:
        if isinstance(exc, S3Error):
            err = exc
            if isinstance(exc, ServiceUnavailable):
                # The detail (which daemon, which call) stays here, with the request id; the
                # client's message only says to retry.
                log.warning("service unavailable", extra={"error": exc.detail, "outcomeUnknown": exc.outcome_unknown,
                                                          "op": req.operation.name if req.operation else None})
        elif isinstance(exc, InternalError):
            log.error("internal error", extra={"error": exc.message, "code": exc.code})
            err = S3Error("InternalError")
        else:
            log.exception("unhandled error", extra={"error": repr(exc)})
            err = S3Error("InternalError")
        headers = {"Content-Type": "application/xml", **err.headers}
        body = b"" if req.method == "HEAD" or err.status == 304 else error_body(err, req.resource, req.request_id)
        return S3Response(err.status, headers, body, error_code=err.code)

    async def _send(self, send, req: S3Request, resp: S3Response) -> None:
        headers = [(b"x-amz-request-id", req.request_id.encode()), (b"x-amz-id-2", req.request_id.encode()),
                   (b"server", b"Coffer")]
        headers += [(k.lower().encode(), _header_bytes(k, v)) for k, v in resp.headers.items()]
        if not req.body_complete and _has_body(req.headers):
            # The client may still be sending a body nobody will read: end the connection after
            # this answer rather than parse the rest of the body as the next request.
            headers.append((b"connection", b"close"))
        body = resp.body
        req.replied_at = time.perf_counter()
        if isinstance(body, bytes):
            if "content-length" not in {k.lower() for k in resp.headers}:
                headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": resp.status, "headers": headers})
            if req.method != "HEAD":
                req.sent = len(body)
            await send({"type": "http.response.body", "body": b"" if req.method == "HEAD" else body})
            return
        try:
            await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        except BaseException:
            if hasattr(body, "aclose"):
                await body.aclose()
            raise
        await _stream(send, body, req)


def header_text(value: bytes) -> str:
    """A header value as text: UTF-8 (what SDKs send and sign), else latin-1 (HTTP's historical charset)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _header_bytes(name: str, value: object) -> bytes:
    """A response header value: latin-1 where it can be (SDKs read headers as latin-1, so metadata
    such as "é" comes back as it went in); other user metadata RFC 2047 encoded."""
    text = str(value)
    if text.isascii():
        return text.encode()
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        if name.lower().startswith("x-amz-meta-"):
            return b"=?UTF-8?B?" + base64.b64encode(text.encode()) + b"?="
        return text.encode("latin-1", "replace")


def _has_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0") not in ("0", "") or "transfer-encoding" in headers


async def _stream(send, body: AsyncIterator[bytes], req: S3Request) -> None:
    """Relay a body; if the source fails mid-way the connection is cut, never padded or shortened."""
    try:
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            req.sent += len(chunk)
    except Exception as exc:  # noqa: BLE001
        log.error("body source failed after the headers were sent", extra={"error": str(exc)})
        raise
    finally:
        if hasattr(body, "aclose"):
            await body.aclose()         # gives the data connection back, even if never read
    await send({"type": "http.response.body", "body": b""})


def build_app(config: Config) -> S3App:
    return S3App(config)
