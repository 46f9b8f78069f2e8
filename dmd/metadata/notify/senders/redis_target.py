"""Redis targets (redis-py's asyncio client).

`namespace`: the hash `key` mirrors the bucket, one field per `bucket/key` (HSET on create, HDEL
on removal) holding {"Records": [...]}; `access`: every event RPUSHed to the list `key`.
"""
from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

from dmd.metadata.notify.senders import access_row
from shared import constants as C
from shared.notify.record import is_removal, namespace_key
from shared.notify.targets import ACCESS, Target


class RedisSender:
    def __init__(self, target: Target) -> None:
        s = target.settings
        address = s["address"].split("://")[-1]
        host, _, port = address.rpartition(":")
        self.key, self.access = s["key"], target.format == ACCESS
        self.client = aioredis.Redis(host=host, port=int(port), password=s.get("password") or None,
                                     username=s.get("user") or None, socket_timeout=C.NOTIFY_SEND_TIMEOUT_S,
                                     socket_connect_timeout=C.NOTIFY_SEND_TIMEOUT_S)

    async def send(self, entry: dict[str, Any]) -> None:
        await self.send_batch([entry])

    async def send_batch(self, entries: list[dict[str, Any]]) -> None:
        """All of them in one round trip (a pipeline, in order); if it fails, all are sent again."""
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            record = entry["record"]
            if self.access:
                pipe.rpush(self.key, orjson.dumps(access_row(entry)))
            elif is_removal(record):
                pipe.hdel(self.key, namespace_key(record))
            else:
                pipe.hset(self.key, namespace_key(record), orjson.dumps({"Records": [record]}))
        await pipe.execute()

    async def close(self) -> None:
        await self.client.aclose()


def make(target: Target) -> RedisSender:
    return RedisSender(target)
