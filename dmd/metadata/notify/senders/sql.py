"""SQL targets: PostgreSQL (psycopg's async connection) and MySQL/MariaDB (aiomysql).

`namespace`: the table mirrors the bucket, one row per `bucket/key` (upserted on create, deleted
on removal) holding {"Records": [...]}; `access`: one row per event, its time and record. The
table is created if missing, with the MinIO-based gateway's columns.
"""
from __future__ import annotations

import datetime
from typing import Any

import orjson

from dmd.metadata.notify.senders import access_row
from shared import constants as C
from shared.notify.record import is_removal, namespace_key
from shared.notify.targets import ACCESS, Target, mysql_dsn

# (create namespace, create access, upsert, delete, append) per dialect; {t} is the table (checked identifier).
_POSTGRES = ("CREATE TABLE IF NOT EXISTS {t} (key VARCHAR PRIMARY KEY, value JSONB)",
             "CREATE TABLE IF NOT EXISTS {t} (event_time TIMESTAMP WITH TIME ZONE NOT NULL, event_data JSONB)",
             "INSERT INTO {t} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
             "DELETE FROM {t} WHERE key = %s",
             "INSERT INTO {t} (event_time, event_data) VALUES (%s, %s)")
# (MariaDB allows neither NOT NULL nor PRIMARY KEY on a generated column: a unique key serves.)
_MYSQL = ("CREATE TABLE IF NOT EXISTS {t} (key_name VARCHAR(3072) NOT NULL, key_hash CHAR(64) AS "
          "(SHA2(key_name, 256)) STORED, value JSON, UNIQUE KEY (key_hash))",
          "CREATE TABLE IF NOT EXISTS {t} (event_time DATETIME NOT NULL, event_data JSON)",
          "INSERT INTO {t} (key_name, value) VALUES (%s, %s) ON DUPLICATE KEY UPDATE value = VALUES(value)",
          "DELETE FROM {t} WHERE key_hash = SHA2(%s, 256)",
          "INSERT INTO {t} (event_time, event_data) VALUES (%s, %s)")


def _when(record: dict[str, Any]) -> datetime.datetime:
    return datetime.datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


class SqlSender:
    """The statements of one table; `_execute` is the dialect's connection."""

    def __init__(self, target: Target, statements: tuple[str, ...]) -> None:
        self.target = target
        self.access = target.format == ACCESS
        self.sql = [s.format(t=target.settings["table"]) for s in statements]
        self.ready = False

    def statement(self, entry: dict[str, Any]) -> tuple[str, tuple]:
        record = entry["record"]
        if self.access:
            return self.sql[4], (self._time(record), orjson.dumps(access_row(entry)[0]).decode())
        if is_removal(record):
            return self.sql[3], (namespace_key(record),)
        return self.sql[2], (namespace_key(record), orjson.dumps({"Records": [record]}).decode())

    def _time(self, record: dict[str, Any]) -> Any:
        return _when(record)

    def create(self) -> str:
        return self.sql[1] if self.access else self.sql[0]


class PostgresSender(SqlSender):
    def __init__(self, target: Target) -> None:
        super().__init__(target, _POSTGRES)
        self.conn = None

    async def send(self, entry: dict[str, Any]) -> None:
        import psycopg      # noqa: PLC0415 - the library of this target type only
        if self.conn is None:
            self.conn = await psycopg.AsyncConnection.connect(self.target.settings["connection_string"],
                                                              autocommit=True,
                                                              connect_timeout=int(C.NOTIFY_SEND_TIMEOUT_S))
            await self.conn.execute(self.create())
        sql, args = self.statement(entry)
        await self.conn.execute(sql, args)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


class MysqlSender(SqlSender):
    def __init__(self, target: Target) -> None:
        super().__init__(target, _MYSQL)
        self.conn = None

    def _time(self, record: dict[str, Any]) -> Any:
        return _when(record).replace(tzinfo=None)       # DATETIME has no zone: UTC

    async def send(self, entry: dict[str, Any]) -> None:
        import aiomysql     # noqa: PLC0415 - the library of this target type only
        if self.conn is None:
            self.conn = await aiomysql.connect(**mysql_dsn(self.target.settings["dsn_string"]), autocommit=True,
                                               connect_timeout=C.NOTIFY_SEND_TIMEOUT_S)
            async with self.conn.cursor() as cur:
                await cur.execute(self.create())
        sql, args = self.statement(entry)
        async with self.conn.cursor() as cur:
            await cur.execute(sql, args)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def make(target: Target) -> SqlSender:
    return PostgresSender(target) if target.type == "postgres" else MysqlSender(target)
