"""NATS targets (nats-py): each event published as JSON on `subject`.

Core NATS: a send returns once the server has the message (a flush round trip); with
`jetstream=on`, once the stream that holds the subject has acknowledged it.
"""
from __future__ import annotations

from typing import Any

import nats
import orjson

from dmd.metadata.notify.senders import event_body
from shared import constants as C
from shared.notify.targets import Target


class NatsSender:
    def __init__(self, target: Target) -> None:
        s = target.settings
        self.settings, self.subject = s, s["subject"]
        self.jetstream = s.get("jetstream", "off").lower() in ("on", "true", "1", "yes")
        self.nc = None

    async def _connect(self) -> Any:
        s = self.settings
        address = s["address"] if "://" in s["address"] else f"nats://{s['address']}"
        options: dict[str, Any] = {"servers": [address], "connect_timeout": C.NOTIFY_SEND_TIMEOUT_S,
                                   "allow_reconnect": False, "max_reconnect_attempts": 0}
        if s.get("username"):
            options.update(user=s["username"], password=s.get("password", ""))
        if s.get("token"):
            options["token"] = s["token"]
        return await nats.connect(**options)

    async def send(self, entry: dict[str, Any]) -> None:
        if self.nc is None or self.nc.is_closed:
            self.nc = await self._connect()
        payload = orjson.dumps(event_body(entry))
        if self.jetstream:
            await self.nc.jetstream().publish(self.subject, payload, timeout=C.NOTIFY_SEND_TIMEOUT_S)
        else:
            await self.nc.publish(self.subject, payload)
            await self.nc.flush(timeout=C.NOTIFY_SEND_TIMEOUT_S)

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()


def make(target: Target) -> NatsSender:
    return NatsSender(target)
