"""The metadata daemon's socket.io server: authentication, the `call` event, streams."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
import socketio

from dmd.metadata import iam
from dmd.metadata.context import MetadataContext
from dmd.metadata.service import MetadataService
from dmd.metadata.streams import Caller, StreamRegistry, current_caller
from shared import constants as C
from shared.errors import InternalError, S3Error
from shared.logging import request_id
from shared.rpc import JsonPacket, OrjsonShim, encoding_error, error_reply, ok_reply
from shared import metrics
from shared.security import secret_matches

log = logging.getLogger("coffer.metadata")


def build_server(ctx: MetadataContext, secret: str) -> tuple[socketio.AsyncServer, MetadataService]:
    """A socket.io server whose namespace serves the metadata RPC to clients holding the secret."""
    sio = socketio.AsyncServer(async_mode="asgi", max_http_buffer_size=C.RPC_MAX_MESSAGE_BYTES,
                               ping_interval=25, ping_timeout=20, cors_allowed_origins=[], json=OrjsonShim,
                               serializer=JsonPacket)
    service = MetadataService(ctx)
    iam.register(service)
    ns = C.RPC_NAMESPACE
    service.streams = StreamRegistry(sio, ns)
    clients: set[str] = set()
    connected = metrics.family("coffer_metadata_connected_clients")
    if connected is not None:
        connected.set_function(lambda: len(clients))

    async def invalidate(sid: str, buckets: list[str]) -> None:
        try:
            await sio.call("invalidate", {"buckets": buckets}, to=sid, namespace=ns,
                           timeout=C.INVALIDATE_ACK_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - no confirmation: cut it off, so that it forgets everything
            log.warning("RPC client did not confirm an invalidation", extra={"sid": sid, "error": repr(exc)})
            # Close its transport (not just the namespace): the client sees a lost connection,
            # forgets its cache and reconnects by itself.
            eio_sid = sio.manager.eio_sid_from_sid(sid, ns)
            if eio_sid is not None:
                await sio.eio.disconnect(eio_sid)

    async def announce_bucket_change(buckets: list[str]) -> None:
        await asyncio.gather(*(invalidate(sid, buckets) for sid in list(clients)))

    ctx.announce_bucket_change = announce_bucket_change

    @sio.on("connect", namespace=ns)
    async def connect(sid: str, environ: dict, auth: Any = None) -> None:
        ok = (isinstance(auth, dict) and auth.get("proto") == C.RPC_PROTO
              and secret_matches(auth.get("secret"), secret))
        if not ok:
            log.warning("refused an unauthenticated RPC client", extra={"peer": environ.get("REMOTE_ADDR")})
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        clients.add(sid)
        log.info("RPC client connected", extra={"client": auth.get("client"), "sid": sid})

    async def run_call(sid: str, msg: Any) -> dict:
        received = time.monotonic()
        call_id = msg.get("id", "") if isinstance(msg, dict) else ""
        request_id.set(msg.get("req", "") if isinstance(msg, dict) else "")
        current_caller.set(Caller(sid, service.streams))
        try:
            result = await service.dispatch(msg["method"], msg.get("args") or {},
                                            int(msg.get("timeout_ms", C.RPC_CALL_TIMEOUT_S * 1000)), received)
            return ok_reply(call_id, result)
        except S3Error as exc:
            return error_reply(call_id, exc)
        except InternalError as exc:
            log.error("RPC call failed", extra={"method": msg.get("method"), "error": exc.message})
            return error_reply(call_id, exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still get a reply
            log.exception("RPC call crashed", extra={"method": msg.get("method") if isinstance(msg, dict) else None})
            return error_reply(call_id, exc)

    @sio.on("call", namespace=ns)
    async def call(sid: str, msg: Any) -> dict | None:
        # The lone-call event (tools, dmd-reference): its reply is checked before socket.io sends it,
        # since an ack that fails to encode is lost without a word.
        method = _method(msg)
        reply = await run_call(sid, msg)
        return _sendable(reply, method, _as_ack) or error_reply("", _unencodable(method, "its id"))

    outboxes: dict[str, list[tuple[dict, str]]] = {}

    @sio.on("calls", namespace=ns)
    async def calls(sid: str, msgs: Any) -> None:
        loop = asyncio.get_running_loop()
        for msg in msgs if isinstance(msgs, list) else []:
            loop.create_task(answer(sid, msg))      # each on its own: a slow write must not hold up a read

    async def answer(sid: str, msg: Any) -> None:
        reply = await run_call(sid, msg)
        outbox = outboxes.setdefault(sid, [])
        outbox.append((reply, _method(msg)))
        if len(outbox) == 1:                        # replies ready in one loop turn share one event
            asyncio.get_running_loop().call_soon(flush, sid)

    def flush(sid: str) -> None:
        replies = outboxes.pop(sid, None)
        if replies and sid in clients:
            asyncio.get_running_loop().create_task(send_replies(sid, replies))

    async def send_replies(sid: str, replies: list[tuple[dict, str]]) -> None:
        try:
            await sio.emit("replies", [reply for reply, _ in replies], to=sid, namespace=ns)
        except orjson.JSONEncodeError:
            # Some reply cannot be encoded: it becomes an error reply, and the others still go.
            kept = [r for r in (_sendable(reply, method, _in_replies) for reply, method in replies) if r is not None]
            if kept:
                await sio.emit("replies", kept, to=sid, namespace=ns)

    @sio.on("stream-hangup", namespace=ns)
    async def stream_hangup(sid: str, msg: Any) -> None:
        if isinstance(msg, dict):
            service.streams.hangup(sid, str(msg.get("stream")))

    @sio.on("disconnect", namespace=ns)
    async def disconnect(sid: str, *args: Any) -> None:
        clients.discard(sid)
        outboxes.pop(sid, None)
        streams = getattr(service, "streams", None)
        if streams is not None:
            streams.close_sid(sid)

    return sio, service


def _method(msg: Any) -> str:
    return str(msg.get("method")) if isinstance(msg, dict) else "?"


def _as_ack(reply: dict) -> list:
    return [reply]                      # how socket.io carries a handler's return value


def _in_replies(reply: dict) -> list:
    return ["replies", [reply]]         # how a `replies` event carries each reply


def _unencodable(method: str, why: str) -> InternalError:
    return InternalError(f"the reply of the metadata call {method} cannot be encoded: {why}")


def _sendable(reply: dict, method: str, wrap: Callable[[dict], Any]) -> dict | None:
    """The reply if it encodes as `wrap` carries it, else an error reply in its place; None when even
    that fails (its call id cannot be encoded: no answer could be matched to the call)."""
    why = encoding_error(wrap(reply))
    if why is None:
        return reply
    log.error("an RPC reply cannot be encoded", extra={"method": method, "error": why})
    reply = error_reply(reply.get("id", ""), _unencodable(method, why))
    return reply if encoding_error(wrap(reply)) is None else None
