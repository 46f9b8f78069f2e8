"""Acknowledged, flow-controlled streams: createReadStream and the contract's streams (design.md §4).

The client draws the stream id and listens before it calls; the daemon walks a source (an engine
cursor, or the items of a contract stream such as dueGarbage) in a worker thread and emits
`stream-data` packets to the calling sid, at most STREAM_MAX_PENDING_ACK of them unacknowledged.
A missing ack, a hangup, a disconnect or old age closes the source: a stream never pins LevelDB
files (or a remote cursor) for long.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

import orjson

from dmd.metadata.context import MetadataContext
from dmd.metadata.engine import Cursor
from dmd.metadata.keys import sublevel_prefix
from shared import constants as C
from shared.errors import InternalError
from shared.rpc import encoding_error

log = logging.getLogger("coffer.streams")


class Caller(NamedTuple):
    """Who is calling: the socket.io sid and the registry that can emit to it."""
    sid: str
    streams: "StreamRegistry"


# Set by the server's `call` handler for the duration of one call.
current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("current_caller", default=None)


class AckWindow:
    """The producer's flow control, without I/O: which packets await an ack, and until when."""

    def __init__(self, limit: int = C.STREAM_MAX_PENDING_ACK, timeout: float = C.STREAM_ACK_TIMEOUT_S) -> None:
        self.limit = limit
        self.timeout = timeout
        self._deadlines: dict[int, float] = {}

    @property
    def pending(self) -> int:
        return len(self._deadlines)

    def can_send(self) -> bool:
        return len(self._deadlines) < self.limit

    def sent(self, seq: int, now: float) -> None:
        if not self.can_send():
            raise RuntimeError("the ack window is full")
        self._deadlines[seq] = now + self.timeout

    def acked(self, seq: int) -> bool:
        """Forget a packet; False when it was not awaited (a duplicate or late ack)."""
        return self._deadlines.pop(seq, None) is not None

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    def overdue(self, now: float) -> bool:
        deadline = self.next_deadline()
        return deadline is not None and deadline <= now


class StreamFailed(Exception):
    """The stream ends with `stream-error` carrying this code."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


def _cursor_args(gt: str | None, gte: str | None, lt: str | None, lte: str | None,
                 keys: bool, values: bool) -> dict[str, Any]:
    if (gt is not None and gte is not None) or (lt is not None and lte is not None):
        raise InternalError("give at most one of gt/gte and one of lt/lte", "InvalidArgument")
    if not keys and not values:
        raise InternalError("a stream must carry keys, values or both", "InvalidArgument")
    start = gt if gt is not None else gte
    # A cursor's stop is excluded: `lte k` stops at k\0, the smallest key above k.
    stop = lt.encode() if lt is not None else (lte.encode() + b"\x00" if lte is not None else None)
    return {"start": None if start is None else start.encode(), "include_start": gt is None, "stop": stop}


def _decode_value(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")     # the few scalars of `__sys` are not JSON


# A `stream-data` packet wraps a value in 4 levels (["stream-data", {"items": [[key, value]]}]).
_PACKET_DEPTH = 4


def _may_nest_too_deep(raw: bytes) -> bool:
    """Whether a stored value might nest deeper than a stream packet can carry: each level takes a bracket.

    Values are stored by orjson, so up to JSON_MAX_DEPTH deep; two byte counts cost far less than a
    second encoding of every packet.
    """
    return raw.count(b"[") + raw.count(b"{") > C.JSON_MAX_DEPTH - _PACKET_DEPTH


def _read_packet(it: Cursor, keys: bool, values: bool, max_items: int) -> tuple[list, bool, bool]:
    """(up to max_items entries or about STREAM_PACKET_BYTES, the end reached, a value may be too deep);
    runs in a worker thread."""
    items: list = []
    size = 0
    deep = False
    while len(items) < max_items and size < C.STREAM_PACKET_BYTES:
        entry = next(it, None)
        if entry is None:
            return items, True, deep
        key, value = entry
        if keys and values:
            items.append([key.decode(), _decode_value(value)])
            size += len(key) + len(value)
            deep = deep or _may_nest_too_deep(value)
        elif keys:
            items.append(key.decode())
            size += len(key)
        else:
            items.append(_decode_value(value))
            size += len(value)
            deep = deep or _may_nest_too_deep(value)
    return items, False, deep


class Source(Protocol):
    """What a stream reads from, in a worker thread: packets of items, then close."""

    def read(self, max_items: int) -> tuple[list, bool, bool]:
        """(up to max_items items, the end reached, an item may nest too deep to encode)."""

    def close(self) -> None: ...


class CursorSource:
    """A sub-level's entries (createReadStream): keys, values or [key, value] pairs."""

    def __init__(self, it: Cursor, keys: bool, values: bool) -> None:
        self.it, self.keys, self.values = it, keys, values

    def read(self, max_items: int) -> tuple[list, bool, bool]:
        return _read_packet(self.it, self.keys, self.values, max_items)

    def close(self) -> None:
        self.it.close()


class ItemSource:
    """Documents a contract stream produces (dueGarbage, referencedPieces), shallow by construction."""

    def __init__(self, items: Iterator[Any]) -> None:
        self.items = items

    def read(self, max_items: int) -> tuple[list, bool, bool]:
        batch = []
        for item in self.items:
            batch.append(item)
            if len(batch) >= max_items:
                return batch, False, False
        return batch, True, False

    def close(self) -> None:
        close = getattr(self.items, "close", None)
        if close is not None:
            close()          # a generator closes the cursors it holds


def _check_packet(packet: dict) -> None:
    """A packet socket.io could not encode would be lost in its send task, and the stream would wait
    for an ack that never comes: it fails now instead."""
    why = encoding_error(["stream-data", packet])
    if why is not None:
        raise StreamFailed("InternalError", f"a value of the stream cannot be encoded: {why}")


class ReadStream:
    """One open stream: pumps packets from its iterator to its sid until done or closed."""

    def __init__(self, registry: "StreamRegistry", sid: str, stream_id: str, source: Source, limit: int) -> None:
        self.registry, self.sid, self.id, self.source = registry, sid, stream_id, source
        self.remaining = limit if limit >= 0 else None
        self.window = AckWindow()
        self.expires = time.monotonic() + C.STREAM_MAX_AGE_S
        self.closed = False
        self._wake = asyncio.Event()

    def close(self) -> None:
        """Stop at the next step; the pump closes the iterator itself (no other thread may touch it)."""
        self.closed = True
        self._wake.set()

    def _on_ack(self, seq: int, *reply: Any) -> None:
        ok = bool(reply) and isinstance(reply[0], dict) and reply[0].get("ok") is True
        if not ok:
            # The consumer does not know this stream (it hung up): nobody reads further packets.
            self.close()
        self.window.acked(seq)
        self._wake.set()

    async def _wait_until(self, ready: Any) -> None:
        """Wait for acks until ready(); an ack overdue or old age fails the stream."""
        while not ready() and not self.closed:
            now = time.monotonic()
            if self.window.overdue(now):
                raise StreamFailed("StreamAckTimeout", "a stream packet was not acknowledged in time")
            if now >= self.expires:
                raise StreamFailed("StreamTooOld", "the stream was open for too long")
            self._wake.clear()
            deadline = min(self.window.next_deadline() or self.expires, self.expires)
            try:
                await asyncio.wait_for(self._wake.wait(), max(deadline - now, 0.0))
            except asyncio.TimeoutError:
                pass

    def _next_size(self) -> int:
        cap = C.STREAM_PACKET_ITEMS
        return cap if self.remaining is None else min(cap, self.remaining)

    async def pump(self) -> None:
        loop = asyncio.get_running_loop()
        emit = self.registry.emit
        seq = count = 0
        reading: asyncio.Future | None = None
        try:
            done = self.remaining == 0
            while not done and not self.closed:
                reading = loop.run_in_executor(None, self.source.read, self._next_size())
                items, done, deep = await asyncio.shield(reading)
                reading = None
                if self.remaining is not None:
                    self.remaining -= len(items)
                    done = done or self.remaining <= 0
                await self._wait_until(self.window.can_send)
                if time.monotonic() >= self.expires:
                    raise StreamFailed("StreamTooOld", "the stream was open for too long")
                if not items or self.closed:
                    continue
                packet = {"stream": self.id, "seq": seq, "items": items}
                if deep:
                    _check_packet(packet)
                self.window.sent(seq, time.monotonic())
                await emit("stream-data", packet, self.sid, functools.partial(self._on_ack, seq))
                seq += 1
                count += len(items)
            # Every packet must be acknowledged before the end: a silent consumer is caught here too.
            await self._wait_until(lambda: self.window.pending == 0)
            if not self.closed:
                await emit("stream-end", {"stream": self.id, "count": count}, self.sid, _ignore_ack)
        except StreamFailed as exc:
            self.registry.failures[exc.code] = self.registry.failures.get(exc.code, 0) + 1
            log.info("stream failed", extra={"stream": self.id, "code": exc.code})
            await self._emit_error(exc.code, str(exc))
        except Exception as exc:  # noqa: BLE001 - an engine or encoding failure still ends the stream
            log.exception("stream failed", extra={"stream": self.id})
            await self._emit_error("InternalError", f"{type(exc).__name__}: {exc}")
        finally:
            self.closed = True
            if reading is not None and not reading.done():
                reading.add_done_callback(lambda _: self.source.close())   # cancelled mid-read (shutdown)
            else:
                self.source.close()
            self.registry.forget(self)

    async def _emit_error(self, code: str, message: str) -> None:
        if not self.closed:
            error = {"code": code, "status": 500, "message": message, "internal": True}
            await self.registry.emit("stream-error", {"stream": self.id, "error": error}, self.sid, None)


def _ignore_ack(*_: Any) -> None:
    pass


class StreamRegistry:
    """The open streams of every connected sid, and the one way to emit to them."""

    def __init__(self, sio: Any, namespace: str = C.RPC_NAMESPACE) -> None:
        self.sio = sio
        self.namespace = namespace
        self.by_sid: dict[str, dict[str, ReadStream]] = {}
        self.opened = 0
        self.failures: dict[str, int] = {}
        self._tasks: set[asyncio.Task] = set()

    async def emit(self, event: str, data: dict, sid: str, callback: Any) -> None:
        await self.sio.emit(event, data, to=sid, namespace=self.namespace, callback=callback)

    def open(self, sid: str, stream_id: str, source: Source, limit: int = -1) -> ReadStream:
        streams = self.by_sid.setdefault(sid, {})
        if stream_id in streams:
            source.close()
            raise InternalError(f"stream {stream_id} is already open", "InvalidArgument")
        stream = streams[stream_id] = ReadStream(self, sid, stream_id, source, limit)
        self.opened += 1
        task = asyncio.get_running_loop().create_task(stream.pump())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return stream

    def forget(self, stream: ReadStream) -> None:
        streams = self.by_sid.get(stream.sid, {})
        if streams.get(stream.id) is stream:
            del streams[stream.id]
            if not streams:
                self.by_sid.pop(stream.sid, None)

    def hangup(self, sid: str, stream_id: str) -> None:
        stream = self.by_sid.get(sid, {}).get(stream_id)
        if stream is None:
            log.debug("hangup for an unknown stream", extra={"stream": stream_id})
            return
        stream.close()

    def close_sid(self, sid: str) -> None:
        """The sid disconnected: close every stream it owned, without waiting for ack timeouts."""
        for stream in list(self.by_sid.get(sid, {}).values()):
            stream.close()

    def stats(self) -> dict:
        return {"open": sum(len(s) for s in self.by_sid.values()), "opened": self.opened,
                "failures": dict(self.failures)}


def open_stream(stream_id: str, source: Source, limit: int = -1) -> dict:
    """Stream a source's items to the calling sid; the reply names the stream."""
    caller = current_caller.get()
    if caller is None:
        source.close()
        raise InternalError("a stream needs a socket.io caller")
    caller.streams.open(caller.sid, stream_id, source, limit)
    return {"stream": stream_id}


async def create_read_stream(ctx: MetadataContext, db: str, stream_id: str, gt: str | None = None,
                             gte: str | None = None, lt: str | None = None, lte: str | None = None,
                             limit: int = -1, keys: bool = True, values: bool = True) -> dict:
    """Open a stream over one sub-level; the items follow as `stream-data` events to the caller."""
    if current_caller.get() is None:
        raise InternalError("createReadStream needs a socket.io caller")
    kwargs = _cursor_args(gt, gte, lt, lte, keys, values)
    view = ctx.engine.view(sublevel_prefix(db))
    it = await asyncio.to_thread(lambda: view.cursor(**kwargs))
    return open_stream(stream_id, CursorSource(it, keys, values), limit)
