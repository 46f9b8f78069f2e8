"""The consumer side of acknowledged streams (design.md §4): one inbox per stream id.

A packet is queued in arrival order before any await, so concurrent event handlers cannot
reorder packets; its ack is held back while the inbox holds more than STREAM_CLIENT_QUEUE_PACKETS,
which is what slows the daemon down to the pace of a slow consumer.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from shared import constants as C
from shared.errors import error_from_wire

log = logging.getLogger("coffer.rpc")

ACK = {"ok": True}
UNKNOWN = {"ok": False}      # tells the daemon nobody reads this stream any more


class StreamInbox:
    """The packets of one stream, in order, until its end or its failure."""

    def __init__(self, limit: int = C.STREAM_CLIENT_QUEUE_PACKETS) -> None:
        self.limit = limit
        self.queue: asyncio.Queue = asyncio.Queue()
        self.finished = False
        self._room = asyncio.Event()

    async def push(self, kind: str, payload: Any) -> None:
        """Queue a packet, then wait for room: the caller acks when this returns."""
        self.queue.put_nowait((kind, payload))
        while self.queue.qsize() > self.limit and not self.finished:
            self._room.clear()
            await self._room.wait()

    def fail(self, exc: Exception) -> None:
        """Drop what is unread (the caller restarts from its last key) and raise exc to the reader."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(("error", exc))
        self.finished = True
        self._room.set()

    async def next(self) -> tuple[str, Any]:
        """The next packet: ("data", items) or ("end", count); a failure is raised."""
        kind, payload = await self.queue.get()
        self._room.set()
        if kind == "error":
            self.finished = True
            raise payload
        if kind == "end":
            self.finished = True
        return kind, payload


class StreamTable:
    """The open inboxes by stream id, fed by the socket.io stream events."""

    def __init__(self) -> None:
        self.inboxes: dict[str, StreamInbox] = {}

    def open(self, stream_id: str) -> StreamInbox:
        inbox = self.inboxes[stream_id] = StreamInbox()
        return inbox

    def close(self, stream_id: str) -> None:
        self.inboxes.pop(stream_id, None)

    async def on_data(self, msg: dict) -> dict:
        inbox = self.inboxes.get(msg.get("stream"))
        if inbox is None or inbox.finished:
            log.debug("stream-data for an unknown stream", extra={"stream": msg.get("stream")})
            return UNKNOWN
        await inbox.push("data", msg.get("items") or [])
        return ACK

    async def on_end(self, msg: dict) -> dict:
        inbox = self.inboxes.get(msg.get("stream"))
        if inbox is not None:
            await inbox.push("end", msg.get("count"))
        return ACK

    async def on_error(self, msg: dict) -> None:
        inbox = self.inboxes.get(msg.get("stream"))
        if inbox is not None:
            inbox.fail(error_from_wire(msg.get("error") or {"code": "InternalError", "internal": True}))

    def fail_all(self, exc: Exception) -> None:
        for inbox in self.inboxes.values():
            inbox.fail(exc)
        self.inboxes.clear()
