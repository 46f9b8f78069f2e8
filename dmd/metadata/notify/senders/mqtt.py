"""MQTT targets (aiomqtt): each event published as JSON to `topic` at the target's QoS.

With QoS 1 or 2 a send returns once the broker has acknowledged the message; with QoS 0 once it
is written to the connection (the broker may still lose it: the gateway's semantics).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import orjson

from dmd.metadata.notify.senders import event_body
from shared.notify.targets import Target


class MqttSender:
    def __init__(self, target: Target) -> None:
        s = target.settings
        broker = urlsplit(s["broker"])
        self.topic, self.qos = s["topic"], int(s.get("qos", "0"))
        self.client = aiomqtt.Client(broker.hostname, broker.port or 1883, username=s.get("username") or None,
                                     password=s.get("password") or None,
                                     keepalive=int(s.get("keep_alive_interval", "60").rstrip("s") or 60))
        self.connected = False

    async def send(self, entry: dict[str, Any]) -> None:
        if not self.connected:
            await self.client.__aenter__()
            self.connected = True
        await self.client.publish(self.topic, orjson.dumps(event_body(entry)), qos=self.qos)

    async def close(self) -> None:
        if self.connected:
            self.connected = False
            try:
                await self.client.__aexit__(None, None, None)
            except aiomqtt.MqttError:
                pass


def make(target: Target) -> MqttSender:
    return MqttSender(target)
