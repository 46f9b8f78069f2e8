"""The targets' clients: one `Sender` per configured target, made when its worker first sends.

Each type lives in its own module and imports its client library there, so a missing library
fails only its own targets (the worker shows the error, keeps the records and retries).
"""
from __future__ import annotations

import importlib
from typing import Any, Protocol

from shared.notify.targets import Target

# type -> (module, the Debian/PyPI package a missing import names)
_MODULES = {"webhook": ("webhook", "httpx"), "redis": ("redis_target", "redis"), "postgres": ("sql", "psycopg"),
            "mysql": ("sql", "aiomysql"), "mqtt": ("mqtt", "aiomqtt"), "nats": ("nats_target", "nats-py"),
            "amqp": ("amqp", "aio-pika")}


class Sender(Protocol):
    async def send(self, entry: dict[str, Any]) -> None:
        """Deliver one outbox entry ({event, key, record}); raise if the target did not take it."""

    async def close(self) -> None: ...

    # A sender may also have `async send_batch(entries)`: all of them in order in one round trip.


class MissingLibrary(RuntimeError):
    """The client library of a target type is not installed."""


def make_sender(target: Target) -> Sender:
    """The client of `target`; MissingLibrary naming the package when its library is absent."""
    module_name, package = _MODULES[target.type]
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ImportError as exc:
        raise MissingLibrary(f"the {package!r} package is needed for {target.type} targets ({exc})") from None
    return module.make(target)


def event_body(entry: dict[str, Any]) -> dict[str, Any]:
    """The message most targets receive, as the MinIO-based gateway sends it: EventName, Key, Records."""
    return {"EventName": entry["event"], "Key": entry["key"], "Records": [entry["record"]]}


def access_row(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """An `access`-format entry: the record and its time, appended for every event."""
    return [{"Event": [entry["record"]], "EventTime": entry["record"]["eventTime"]}]
