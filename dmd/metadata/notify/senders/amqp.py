"""AMQP 0-9-1 targets (aio-pika): each event published as JSON to `exchange` with `routing_key`.

The channel uses publisher confirms: a send returns once the broker has taken the message (with
`mandatory=on`, once it has also been routed to a queue). `durable=on` declares a durable exchange;
`delivery_mode=2` (or durable) makes the messages persistent.
"""
from __future__ import annotations

from typing import Any

import aio_pika
import orjson

from dmd.metadata.notify.senders import event_body
from shared import constants as C
from shared.notify.targets import Target

_ON = ("on", "true", "1", "yes")


class AmqpSender:
    def __init__(self, target: Target) -> None:
        s = target.settings
        self.settings = s
        self.durable = s.get("durable", "off").lower() in _ON
        self.persistent = self.durable or s.get("delivery_mode") == "2"
        self.mandatory = s.get("mandatory", "off").lower() in _ON
        self.connection = None
        self.exchange = None

    async def _open(self) -> None:
        s = self.settings
        self.connection = await aio_pika.connect(s["url"], timeout=C.NOTIFY_SEND_TIMEOUT_S)
        channel = await self.connection.channel(publisher_confirms=True)
        if s.get("exchange"):
            self.exchange = await channel.declare_exchange(s["exchange"], s.get("exchange_type") or "direct",
                                                           durable=self.durable)
        else:
            self.exchange = channel.default_exchange

    async def send(self, entry: dict[str, Any]) -> None:
        if self.connection is None or self.connection.is_closed:
            await self._open()
        mode = aio_pika.DeliveryMode.PERSISTENT if self.persistent else aio_pika.DeliveryMode.NOT_PERSISTENT
        message = aio_pika.Message(orjson.dumps(event_body(entry)), content_type="application/json",
                                   delivery_mode=mode)
        await self.exchange.publish(message, routing_key=self.settings.get("routing_key", ""),
                                    mandatory=self.mandatory, timeout=C.NOTIFY_SEND_TIMEOUT_S)

    async def close(self) -> None:
        if self.connection is not None and not self.connection.is_closed:
            await self.connection.close()


def make(target: Target) -> AmqpSender:
    return AmqpSender(target)
