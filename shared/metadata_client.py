"""The front-end's client of the metadata daemon: one socket.io connection per process, shared by all requests.

Its typed methods are the contract's (shared/contract/metadata.py, bound by `bind_client`): they
take and return the contract's records. Underneath is the transport: calls made in one loop turn
leave in one `calls` event, replies come back in `replies`, a reconnect re-checks the manifest.
Calls in flight when the connection drops fail at once (a write's outcome is then unknown);
calls made while reconnecting wait a little, then fail as ServiceUnavailable (design.md §1.5).
`call(method, **args)` remains for the raw calls of tests and tools (shared/contract/raw.py).
"""
from __future__ import annotations

import asyncio
import functools
import itertools
from collections import OrderedDict
import logging
import os
import socket
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import socketio

from shared import constants as C
from shared.contract.iam import IAM_CHANGED, IdentityAPI
from shared.contract.metadata import BucketInfo, MetadataAPI
from shared.contract.raw import RawAPI
from shared.contract.rpc import Codec, bind_client, calls_of
from shared.errors import InternalError, ServiceUnavailable, error_from_wire
from shared.logging import request_id
from shared.metrics import RpcMetrics
from shared.read_stream import StreamTable
from shared.rpc import JsonPacket, OrjsonShim, call_message, encoding_error

log = logging.getLogger("coffer.rpc")

# Calls that can change state: a lost reply leaves their outcome unknown, so they are never retried.
WRITE_METHODS = frozenset(c.wire for calls in (calls_of(MetadataAPI), calls_of(RawAPI), calls_of(IdentityAPI))
                          for c in calls.values() if c.writes)


class MetadataCalls:
    """One typed method per MetadataAPI call, bound from the contract below the class (over `rpc_call`)."""


bind_client(MetadataCalls, calls_of(MetadataAPI))


class BucketCache:
    """Bucket records, kept until a daemon says they changed (design.md: a cache is allowed when it
    is invalidated before the write that changes it is acknowledged). Records are frozen: every
    request of a bucket shares one. Several connections (one per metadata daemon) may share a cache."""

    def __init__(self) -> None:
        self.records: OrderedDict[str, BucketInfo] = OrderedDict()
        self.epoch = 0                      # bumped by every invalidation: a read that spans one is not kept
        self.metrics = RpcMetrics()

    async def read(self, bucket: str, fetch: Callable[[], Awaitable[BucketInfo]]) -> BucketInfo:
        """The cached record, or fetch() kept unless an invalidation (or a disconnect) came meanwhile."""
        cached = self.records.get(bucket)
        self.metrics.cache(cached is not None)
        if cached is not None:
            self.records.move_to_end(bucket)
            return cached
        epoch = self.epoch
        info = await fetch()
        if epoch == self.epoch:
            self.records[bucket] = info
            if len(self.records) > C.BUCKET_CACHE_SIZE:
                self.records.popitem(last=False)
        return info

    def peek(self, bucket: str) -> BucketInfo | None:
        """A bucket's record if the cache holds it: no call, no counting (None otherwise)."""
        return self.records.get(bucket)

    def forget(self, names: list[str]) -> None:
        """These buckets changed (["*"]: any)."""
        self.epoch += 1
        self.metrics.invalidated()
        if "*" in names:
            self.records.clear()
        for name in names:
            self.records.pop(name, None)


class MetadataClient(MetadataCalls):
    """The metadata daemon, as the contract's typed methods over one shared connection."""

    def __init__(self, host: str, port: int, secret: str, call_timeout: float = C.RPC_CALL_TIMEOUT_S,
                 tls: ssl.SSLContext | None = None, cache: BucketCache | None = None) -> None:
        self.url = f"{'https' if tls else 'http'}://{host}:{port}"
        self.secret = secret
        self.call_timeout = call_timeout
        self.boot_id: str | None = None
        self.db_uuid: str | None = None
        self.on_restart: list = []          # callbacks run when the daemon's boot_id changes
        self.on_identities_changed: list = []   # callbacks run when identities may have changed
        self.on_state: list[Callable[[], None]] = []    # callbacks run when `ready` changes
        self._uid = uuid.uuid4().hex[:12]
        self._seq = itertools.count()
        self._pending: dict[str, asyncio.Future] = {}
        self._ready = asyncio.Event()
        # python-socketio doubles the delay from the first to the cap; its randomization is added in
        # seconds (not a fraction of the delay), hence a small jitter.
        self._sio = socketio.AsyncClient(reconnection=True, reconnection_attempts=0,
                                         reconnection_delay=C.RPC_RECONNECT_FIRST_S,
                                         reconnection_delay_max=C.RPC_RECONNECT_MAX_S,
                                         randomization_factor=C.RPC_RECONNECT_JITTER_S, json=OrjsonShim,
                                         serializer=JsonPacket,
                                         websocket_extra_options={"ssl": tls} if tls else None)
        self._sio.on("connect", self._on_connect, namespace=C.RPC_NAMESPACE)
        self._sio.on("disconnect", self._on_disconnect, namespace=C.RPC_NAMESPACE)
        self._streams = StreamTable()
        self._sio.on("stream-data", self._streams.on_data, namespace=C.RPC_NAMESPACE)
        self._sio.on("stream-end", self._streams.on_end, namespace=C.RPC_NAMESPACE)
        self._sio.on("stream-error", self._streams.on_error, namespace=C.RPC_NAMESPACE)
        self._sio.on("invalidate", self._on_invalidate, namespace=C.RPC_NAMESPACE)
        self._sio.on("replies", self._on_replies, namespace=C.RPC_NAMESPACE)
        self._outbox: list[tuple[dict, str]] = []
        self._handshake: asyncio.Task | None = None
        self._closing = False
        self._cache = cache or BucketCache()
        self._metrics = self._cache.metrics

    def _auth(self) -> dict[str, Any]:
        return {"secret": self.secret, "client": f"{socket.gethostname()}:{os.getpid()}", "proto": C.RPC_PROTO}

    async def start(self) -> None:
        """Connect in the background; reconnection goes on by itself for ever."""
        await self._sio.connect(self.url, auth=self._auth, transports=["websocket"],
                                namespaces=[C.RPC_NAMESPACE], wait=False, retry=True)

    async def close(self) -> None:
        self._closing = True
        await self._sio.disconnect()

    @property
    def ready(self) -> bool:
        """Connected, and the daemon's manifest checked."""
        return self._ready.is_set()

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def _on_connect(self) -> None:
        # Handshake in its own task: the reply arrives through the loop that runs this handler.
        self._handshake = asyncio.get_running_loop().create_task(self._check_manifest())

    async def _check_manifest(self) -> None:
        try:
            manifest = await self._send("getManifest", {}, 5.0)
        except Exception as exc:  # noqa: BLE001 - the next reconnect tries again
            log.warning("metadata handshake failed", extra={"error": str(exc)})
            return
        if manifest["proto"] != C.RPC_PROTO:
            log.critical("metadata daemon speaks another protocol", extra={"proto": manifest["proto"]})
            return
        if self.boot_id and manifest["boot_id"] != self.boot_id:
            log.warning("metadata daemon restarted", extra={"boot_id": manifest["boot_id"]})
            for callback in self.on_restart:
                callback()
        if self.db_uuid and manifest["db_uuid"] != self.db_uuid:
            log.error("metadata daemon now serves another database", extra={"db_uuid": manifest["db_uuid"]})
        self.boot_id, self.db_uuid = manifest["boot_id"], manifest["db_uuid"]
        self._ready.set()
        self._state_changed()

    def _state_changed(self) -> None:
        for callback in self.on_state:
            callback()

    def _on_invalidate(self, msg: Any) -> bool:
        """The daemon changed some buckets' attributes (["*"]: any); confirmed once forgotten."""
        names = msg.get("buckets", ["*"]) if isinstance(msg, dict) else ["*"]
        names = names if isinstance(names, list) else ["*"]
        self._cache.forget(names)
        if "*" in names or IAM_CHANGED in names:
            for callback in self.on_identities_changed:
                callback()
        return True

    async def _on_disconnect(self, reason: Any = None, *args: Any) -> None:
        self._ready.clear()
        self._state_changed()
        self._on_invalidate({"buckets": ["*"]})     # invalidations may be missed while disconnected
        if reason == self._sio.reason.SERVER_DISCONNECT and not self._closing:
            # The daemon cut us off (an unconfirmed invalidation); socket.io would not come back by itself.
            asyncio.get_running_loop().create_task(self._rejoin())
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(ServiceUnavailable("lost the connection to the metadata daemon",
                                                     outcome_unknown=True))
        # Streams never survive a reconnect: their readers restart from their last key.
        self._streams.fail_all(ServiceUnavailable("lost the connection to the metadata daemon"))

    async def _rejoin(self) -> None:
        while not self._closing and not self._sio.connected:
            await asyncio.sleep(0.2)
            try:
                await self.start()
                return
            except socketio.exceptions.SocketIOError as exc:
                log.warning("reconnecting to the metadata daemon failed", extra={"error": str(exc)})

    async def call(self, method: str, timeout: float | None = None, **args: Any) -> Any:
        """One RPC by wire name, arguments and result as documents (raw calls, tools, tests)."""
        return await self.rpc_call(method, method in WRITE_METHODS, args, timeout)

    async def rpc_call(self, method: str, writes: bool, args: dict[str, Any], timeout: float | None = None) -> Any:
        """One RPC; S3 errors come back as S3Error, lost connections as ServiceUnavailable."""
        timeout = timeout or self.call_timeout
        if not self._ready.is_set() and not await self.wait_ready(min(timeout, C.RPC_RECONNECT_WAIT_S)):
            raise ServiceUnavailable("the metadata daemon is not reachable")
        try:
            return await self._send(method, args, timeout)
        except ServiceUnavailable:
            if writes:
                raise
            # A read may be retried once after a reconnect (design.md §1.5).
            if not await self.wait_ready(min(timeout, C.RPC_RECONNECT_WAIT_S)):
                raise
            return await self._send(method, args, timeout)

    async def send(self, method: str, args: dict[str, Any], timeout: float) -> Any:
        """One attempt on this connection, now: no wait for a reconnect, no retry."""
        if not self._ready.is_set():
            raise ServiceUnavailable(f"the metadata daemon {self.url} is not reachable")
        return await self._send(method, args, timeout)

    async def _send(self, method: str, args: dict[str, Any], timeout: float) -> Any:
        call_id = f"{self._uid}:{next(self._seq)}"
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._pending[call_id] = fut
        # Calls made in one loop turn leave together in one `calls` event: one websocket frame and
        # one socket.io packet for many calls, on both sides (dmd-reference's `call` still works).
        self._outbox.append((call_message(call_id, method, args, int(timeout * 1000), request_id.get()), method))
        if len(self._outbox) == 1:
            loop.call_soon(self._flush)
        # A timer on the future, not asyncio.wait_for: that wraps every call in a task (measured).
        timer = loop.call_later(timeout, _time_out, fut, method)
        started, outcome = time.perf_counter(), "no_reply"
        try:
            reply = await fut
            outcome = "ok" if reply.get("ok") else "error"
        finally:
            timer.cancel()
            self._pending.pop(call_id, None)
            self._metrics.call(method, outcome, time.perf_counter() - started)
        if reply.get("ok"):
            return reply.get("result")
        raise error_from_wire(reply["error"])

    def _flush(self) -> None:
        batch, self._outbox = self._outbox, []
        asyncio.get_running_loop().create_task(self._emit_calls(batch))

    async def _emit_calls(self, batch: list[tuple[dict, str]], split: bool = True) -> None:
        """Send a batch of calls; whatever goes wrong fails its calls at once, never by their timeouts."""
        if not batch:
            return
        try:
            await self._sio.emit("calls", [msg for msg, _ in batch], namespace=C.RPC_NAMESPACE)
        except orjson.JSONEncodeError as exc:
            if split:
                # Some call's arguments cannot be encoded: it fails alone, and the rest still go.
                await self._emit_calls(self._drop_unencodable(batch), split=False)
            else:
                self._fail(batch, lambda method: InternalError(f"the metadata call {method} failed to encode: {exc}"))
        except socketio.exceptions.SocketIOError as exc:
            self._fail(batch, lambda method: ServiceUnavailable(f"metadata daemon unreachable: {exc}",
                                                                outcome_unknown=method in WRITE_METHODS))
        except Exception as exc:  # noqa: BLE001 - a batch nobody answers would wait for its timeouts
            log.exception("sending metadata calls failed")
            self._fail(batch, lambda method: InternalError(f"the metadata call {method} could not be sent: {exc!r}"))

    def _drop_unencodable(self, batch: list[tuple[dict, str]]) -> list[tuple[dict, str]]:
        """The calls of a batch that encode on their own; the others fail now, naming their method."""
        kept = []
        for msg, method in batch:
            why = encoding_error(["calls", [msg]])
            if why is None:
                kept.append((msg, method))
            else:
                log.error("a metadata call cannot be encoded", extra={"method": method, "error": why})
                self._fail([(msg, method)], lambda m, why=why: InternalError(
                    f"the arguments of the metadata call {m} cannot be encoded: {why}"))
        return kept

    def _fail(self, batch: list[tuple[dict, str]], error: Callable[[str], Exception]) -> None:
        for msg, method in batch:
            fut = self._pending.get(msg["id"])
            if fut is not None and not fut.done():
                fut.set_exception(error(method))

    def _on_replies(self, replies: Any) -> None:
        for reply in replies if isinstance(replies, list) else []:
            fut = self._pending.get(reply.get("id")) if isinstance(reply, dict) else None
            if fut is not None and not fut.done():
                fut.set_result(reply)

    # -- streams -----------------------------------------------------------------------
    async def rpc_stream(self, method: str, args: dict[str, Any], decode: Codec) -> AsyncIterator[Any]:
        """The items of a contract stream call, decoded, in order."""
        async for item in self._stream(method, args):
            yield item if decode is None else decode(item)

    async def create_read_stream(self, db: str, **range: Any) -> AsyncIterator[tuple[str | None, Any]]:
        """(key, value) pairs of a sub-level in key order; gt/gte/lt/lte, limit, keys, values as in LevelDB."""
        keys, values = range.get("keys", True), range.get("values", True)
        async for item in self._stream("createReadStream", {"db": db, **range}):
            yield (item[0], item[1]) if keys and values else (item, None) if keys else (None, item)

    async def _stream(self, method: str, args: dict[str, Any]) -> AsyncIterator[Any]:
        stream_id = uuid.uuid4().hex
        inbox = self._streams.open(stream_id)       # listen before asking: data may overtake the reply
        try:
            await self.rpc_call(method, False, {**args, "streamId": stream_id})
            while True:
                kind, payload = await inbox.next()
                if kind == "end":
                    return
                for item in payload:
                    yield item
        finally:
            self._streams.close(stream_id)
            if not inbox.finished and self._ready.is_set():
                try:
                    await self._sio.emit("stream-hangup", {"stream": stream_id}, namespace=C.RPC_NAMESPACE)
                except socketio.exceptions.SocketIOError:
                    pass                            # a disconnect closes the daemon's side anyway

    # -- the cached bucket record --------------------------------------------------------
    def cached_bucket(self, bucket: str) -> BucketInfo | None:
        """A bucket's record if the cache holds it (no call, no counting): None otherwise."""
        return self._cache.peek(bucket)

    async def get_bucket(self, bucket: str) -> BucketInfo:
        """A bucket's record, from the cache the daemon invalidates before any change is acknowledged."""
        return await self._cache.read(bucket, functools.partial(MetadataCalls.get_bucket, self, bucket))


def _time_out(fut: asyncio.Future, method: str) -> None:
    if not fut.done():
        fut.set_exception(ServiceUnavailable(f"the metadata call {method} timed out",
                                             outcome_unknown=method in WRITE_METHODS))
