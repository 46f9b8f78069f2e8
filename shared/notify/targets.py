"""Notification targets as an operator declares them: types, keys, validation, ARNs (pure).

A target is `notify_<type>:<id>` with settings named as the MinIO-based gateway documents them.
It is declared in the config file (`"notify": {"webhook": {"primary": {"endpoint": ...}}}`), in
the environment (`COFFER_NOTIFY_WEBHOOK_PRIMARY_ENDPOINT=...`) or at run time (`coffer admin config
set notify_webhook:primary endpoint=...`); its ARN is `arn:minio:sqs::<id>:<type>`. Every check
says which target and which key is wrong (`TargetError`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shared import constants as C

NAMESPACE, ACCESS = "namespace", "access"
DROP, REFUSE = "drop", "refuse"            # queue_full: drop the oldest records, or refuse new writes (503)
COMMON_KEYS = frozenset({"enable", "queue_dir", "queue_limit", "queue_full", "comment", "bucket_events"})
# type -> (required keys, optional keys)
TYPES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "webhook": (frozenset({"endpoint"}), frozenset({"auth_token", "client_cert", "client_key"})),
    "redis": (frozenset({"address", "key"}), frozenset({"password", "user", "format"})),
    "postgres": (frozenset({"connection_string", "table"}), frozenset({"format"})),
    "mysql": (frozenset({"dsn_string", "table"}), frozenset({"format"})),
    "amqp": (frozenset({"url"}), frozenset({"exchange", "exchange_type", "routing_key", "durable",
                                            "delivery_mode", "mandatory"})),
    "mqtt": (frozenset({"broker", "topic"}), frozenset({"qos", "username", "password", "keep_alive_interval"})),
    "nats": (frozenset({"address", "subject"}), frozenset({"username", "password", "token", "jetstream"})),
}
_FORMATTED = frozenset({"redis", "postgres", "mysql"})
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_ARN = re.compile(r"^arn:minio:sqs:([^:]*):([^:]+):([^:]+)$")


class TargetError(ValueError):
    """A target declaration that cannot be used; the message names the target and the key."""


@dataclass(frozen=True)
class Target:
    type: str
    id: str
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """`notify_<type>:<id>`, as `coffer admin config` names it."""
        return f"notify_{self.type}:{self.id}"

    @property
    def arn(self) -> str:
        return f"arn:minio:sqs::{self.id}:{self.type}"

    @property
    def queue_key(self) -> str:
        """What names this target's outbox in the metadata daemon: `<type>:<id>`."""
        return f"{self.type}:{self.id}"

    @property
    def format(self) -> str:
        return self.settings.get("format", NAMESPACE)

    @property
    def queue_limit(self) -> int:
        return int(self.settings.get("queue_limit", C.NOTIFY_QUEUE_LIMIT))

    @property
    def refuses_when_full(self) -> bool:
        return self.settings.get("queue_full", DROP) == REFUSE

    @property
    def enabled(self) -> bool:
        return _on(self.settings.get("enable", "on"))

    @property
    def bucket_events(self) -> bool:
        """Subscribed at the service level: s3:BucketCreated and s3:BucketRemoved of every bucket."""
        return _on(self.settings.get("bucket_events", "off"))

    def public_settings(self) -> dict[str, str]:
        """The settings with secrets masked, for status and `config get`."""
        return {k: ("*****" if k in _SECRETS and v else v) for k, v in sorted(self.settings.items())}


_SECRETS = frozenset({"password", "auth_token", "token"})
_SWITCHES = ("on", "off", "true", "false", "1", "0", "yes", "no")


def _on(value: str) -> bool:
    return value.lower() in ("on", "true", "1", "yes")


def arn_target(arn: str) -> tuple[str, str] | None:
    """(id, type) of a notification ARN (any region), or None when it is not one."""
    m = _ARN.match(arn)
    return (m.group(2), m.group(3)) if m else None


def make_target(type_: str, id_: str, settings: Mapping[str, Any]) -> Target:
    """A checked target; TargetError naming what is wrong."""
    label = f"notify_{type_}:{id_}"
    if type_ not in TYPES:
        raise TargetError(f"{label}: unknown target type {type_!r} (one of {', '.join(sorted(TYPES))})")
    if not _ID.match(id_):
        raise TargetError(f"{label}: a target id is 1-64 letters, digits, '_', '.' or '-'")
    required, optional = TYPES[type_]
    values = {str(k).lower(): _text(v) for k, v in settings.items()}
    unknown = sorted(set(values) - required - optional - COMMON_KEYS)
    if unknown:
        raise TargetError(f"{label}: unknown key {unknown[0]!r} (known: {', '.join(sorted(required | optional | COMMON_KEYS))})")
    missing = sorted(k for k in required if not values.get(k))
    if missing:
        raise TargetError(f"{label}: missing {missing[0]!r}")
    _check_values(label, type_, values)
    return Target(type_, id_, values)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _check_values(label: str, type_: str, v: dict[str, str]) -> None:
    if "queue_limit" in v and not (v["queue_limit"].isdigit() and int(v["queue_limit"]) > 0):
        raise TargetError(f"{label}: queue_limit must be a positive integer, not {v['queue_limit']!r}")
    if v.get("queue_full", DROP) not in (DROP, REFUSE):
        raise TargetError(f"{label}: queue_full must be {DROP!r} or {REFUSE!r}, not {v['queue_full']!r}")
    if type_ in _FORMATTED and v.get("format", NAMESPACE) not in (NAMESPACE, ACCESS):
        raise TargetError(f"{label}: format must be {NAMESPACE!r} or {ACCESS!r}, not {v['format']!r}")
    for switch in ("enable", "bucket_events", "durable", "mandatory", "jetstream"):
        if switch in v and v[switch].lower() not in _SWITCHES:
            raise TargetError(f"{label}: {switch} must be on or off, not {v[switch]!r}")
    if _on(v.get("bucket_events", "off")) and type_ in _FORMATTED and v.get("format", NAMESPACE) == NAMESPACE:
        raise TargetError(f"{label}: bucket_events needs format {ACCESS!r} (a namespace mirrors objects only)")
    if "table" in v and not _TABLE.match(v["table"]):
        raise TargetError(f"{label}: table must be a plain SQL identifier, not {v['table']!r}")
    if type_ == "webhook":
        _check_url(label, "endpoint", v["endpoint"], ("http", "https"))
        if bool(v.get("client_cert")) != bool(v.get("client_key")):
            raise TargetError(f"{label}: client_cert and client_key go together")
    elif type_ == "amqp":
        _check_url(label, "url", v["url"], ("amqp", "amqps"))
    elif type_ == "postgres":
        _check_url(label, "connection_string", v["connection_string"], ("postgres", "postgresql"))
    elif type_ == "mysql":
        try:
            mysql_dsn(v["dsn_string"])
        except ValueError as exc:
            raise TargetError(f"{label}: dsn_string: {exc}") from None
    elif type_ in ("redis", "nats"):
        _check_address(label, "address", v["address"])
    elif type_ == "mqtt":
        _check_url(label, "broker", v["broker"], ("tcp", "mqtt", "ws", "ssl", "tls"))
        if v.get("qos", "0") not in ("0", "1", "2"):
            raise TargetError(f"{label}: qos must be 0, 1 or 2, not {v['qos']!r}")


def _check_url(label: str, key: str, value: str, schemes: tuple[str, ...]) -> None:
    try:
        parts = urlsplit(value)
        parts.port      # a port that is not a number raises here
    except ValueError as exc:
        raise TargetError(f"{label}: {key} {value!r} is not a URL: {exc}") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise TargetError(f"{label}: {key} must be a {'|'.join(schemes)}:// URL with a host, not {value!r}")


def _check_address(label: str, key: str, value: str) -> None:
    host, _, port = value.rpartition(":")
    if "://" in value:
        host, _, port = urlsplit(value).netloc.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TargetError(f"{label}: {key} must be HOST:PORT, not {value!r}")


_GO_DSN = re.compile(r"^(?P<user>[^:@/]*)(?::(?P<password>[^@]*))?@tcp\((?P<host>[^:)]+)(?::(?P<port>\d+))?\)"
                     r"/(?P<db>[A-Za-z0-9_$-]+)$")


def mysql_dsn(dsn: str) -> dict[str, Any]:
    """aiomysql's connect() arguments from `user:password@tcp(host:port)/database` (the gateway's form)
    or `mysql://user:password@host:port/database`; ValueError saying what is expected."""
    m = _GO_DSN.match(dsn)
    if m:
        user, password, host, port, db = m.group("user", "password", "host", "port", "db")
    else:
        parts = urlsplit(dsn)
        if parts.scheme != "mysql" or not parts.hostname or not parts.path.strip("/"):
            raise ValueError(f"expected USER:PASSWORD@tcp(HOST:PORT)/DATABASE or mysql://USER:PASSWORD@HOST:PORT/"
                             f"DATABASE, not {dsn!r}")
        user, password, host, port, db = (parts.username, parts.password, parts.hostname, parts.port,
                                          parts.path.strip("/"))
    return {"user": user or "root", "password": password or "", "host": host, "port": int(port or 3306), "db": db}


# -- where declarations come from -------------------------------------------------------------------
def targets_from_file(section: Any) -> list[Target]:
    """The config file's `notify` object: {type: {id: {key: value}}}."""
    if section is None:
        return []
    if not isinstance(section, dict):
        raise TargetError("notify in the config file must be an object {type: {id: {key: value}}}")
    found = []
    for type_, by_id in section.items():
        if not isinstance(by_id, dict):
            raise TargetError(f"notify.{type_} in the config file must be an object {{id: {{key: value}}}}")
        for id_, settings in by_id.items():
            if not isinstance(settings, dict):
                raise TargetError(f"notify.{type_}.{id_} in the config file must be an object {{key: value}}")
            found.append(make_target(type_, str(id_), settings))
    return found


def targets_from_env(env: Mapping[str, str]) -> list[Target]:
    """COFFER_NOTIFY_<TYPE>_<ID>_<KEY>=value; the id as the variable spells it."""
    settings: dict[tuple[str, str], dict[str, str]] = {}
    for name, value in sorted(env.items()):
        if not name.startswith(C.NOTIFY_ENV_PREFIX):
            continue
        type_, id_, key = _split_env_name(name)
        settings.setdefault((type_, id_), {})[key] = value
    return [make_target(t, i, s) for (t, i), s in settings.items()]


def _split_env_name(name: str) -> tuple[str, str, str]:
    rest = name[len(C.NOTIFY_ENV_PREFIX):]
    type_, _, tail = rest.partition("_")
    type_ = type_.lower()
    if type_ not in TYPES:
        raise TargetError(f"{name}: unknown target type {type_!r} (one of {', '.join(sorted(TYPES))})")
    required, optional = TYPES[type_]
    # The id may hold '_' too: the key is the longest known key the name ends with.
    for key in sorted(required | optional | COMMON_KEYS, key=len, reverse=True):
        suffix = "_" + key.upper()
        if tail.endswith(suffix) and len(tail) > len(suffix):
            return type_, tail[:-len(suffix)], key
    raise TargetError(f"{name}: expected COFFER_NOTIFY_{type_.upper()}_<ID>_<KEY> with KEY one of "
                      f"{', '.join(sorted(k.upper() for k in required | optional | COMMON_KEYS))}")


def merge(*layers: list[Target]) -> dict[str, Target]:
    """Targets by ARN; a later layer's declaration of the same target replaces an earlier one."""
    out: dict[str, Target] = {}
    for layer in layers:
        for target in layer:
            out[target.arn] = target
    return out
