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
        """All of them in one round trip, in order; if it fails, all are sent again. Each run of
        entries that are the same command is one command (RPUSH or HSET or HDEL with many values):
        a pipeline of one command per event cost the daemon more than the event record itself."""
        commands = self._commands(entries)
        if len(commands) == 1:
            await self.client.execute_command(*commands[0])
            return
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        await pipe.execute()

    def _commands(self, entries: list[dict[str, Any]]) -> list[list[Any]]:
        commands: list[list[Any]] = []
        for entry in entries:
            record = entry["record"]
            if self.access:
                name, values = "RPUSH", [orjson.dumps(access_row(entry))]
            elif is_removal(record):
                name, values = "HDEL", [namespace_key(record)]
            else:
                name, values = "HSET", [namespace_key(record), orjson.dumps({"Records": [record]})]
            if commands and commands[-1][0] == name:
                commands[-1].extend(values)     # a field set twice in one HSET: the later value wins
            else:
                commands.append([name, self.key, *values])
        return commands

    async def close(self) -> None:
        await self.client.aclose()


def make(target: Target) -> RedisSender:
    return RedisSender(target)
