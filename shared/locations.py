"""Data locations: `locationConfig.json` read and checked at start (shared/location_routing.py
builds the router from it and says where buckets and objects go).

A location is a named place for object bytes (docs/locations.md): `file` (a data daemon, this
cluster's or another one), `mem` (the data daemon's memory) or `aws_s3` (a bucket of any
S3-compatible endpoint). Every mistake in the file is found at start and reported at once, each
with the location and field it is about, so a front-end never runs on a half-understood layout.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared import constants as C
from shared.contract.records import DEFAULT_LOCATION


class LocationConfigError(ValueError):
    """locationConfig.json is wrong: every problem found, one per line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems) if len(problems) == 1 else
                         f"{source} has {len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class DaemonDetails:
    """A data daemon (`file`) or its memory (`mem`); None: the cluster's own (DATA_HOST/DATA_PORT)."""

    host: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class S3Details:
    """A bucket on an S3-compatible endpoint (`aws_s3`)."""

    host: str
    port: int
    https: bool
    bucket: str
    bucket_match: bool
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    profile: str | None = None
    region: str = "us-east-1"
    path_style: bool = True
    server_side_encryption: bool = False
    supports_versioning: bool = True
    prefix: str = ""
    connect_timeout: float = C.REMOTE_CONNECT_TIMEOUT_S
    read_timeout: float = C.REMOTE_READ_TIMEOUT_S

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.https else 'http'}://{_host_port(self.host, self.port)}"


@dataclass(frozen=True)
class Location:
    name: str
    type: str
    object_id: str
    legacy_aws_behavior: bool = False
    storage_classes: tuple[str, ...] = ()
    details: DaemonDetails | S3Details = DaemonDetails()


DEFAULT_LOCATIONS = {DEFAULT_LOCATION: Location(DEFAULT_LOCATION, "file", DEFAULT_LOCATION)}

_LOCATION_FIELDS = {"type", "objectId", "legacyAwsBehavior", "details", "storageClasses"}
_IGNORED_FIELDS = {"sizeLimitGB", "isTransient", "isCold", "locationType"}   # the reference's, unused here
_DAEMON_FIELDS = {"host", "port"}
_S3_FIELDS = {"awsEndpoint", "bucketName", "bucketMatch", "credentials", "credentialsProfile", "region", "https",
              "pathStyle", "serverSideEncryption", "supportsVersioning", "prefix", "connectTimeout", "readTimeout"}
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$")


def load_locations(env: Mapping[str, str] = os.environ) -> dict[str, Location]:
    """The configured locations: S3_LOCATION_FILE, or S3DATA=multiple's default file, or the one default."""
    path = env.get("S3_LOCATION_FILE")
    mode = env.get("S3DATA", "")
    if mode not in ("", "file", "multiple"):
        raise LocationConfigError("S3DATA", [f"S3DATA must be 'multiple' (read {C.LOCATION_FILE_NAME}) or unset, "
                                             f"not {mode!r} (S3BACKEND=mem keeps data in memory)"])
    if not path and mode == "multiple":
        base = Path(env["COFFER_CONFIG"]).parent if env.get("COFFER_CONFIG") else Path.cwd()
        path = str(base / C.LOCATION_FILE_NAME)
    if not path:
        return dict(DEFAULT_LOCATIONS)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise LocationConfigError(path, [f"cannot be read: {exc.strerror or exc}"]) from None
    return parse_locations(text, path)


def location_file_named(env: Mapping[str, str] = os.environ) -> bool:
    """Whether a locationConfig.json is in use (then a LocationConstraint must name one of its locations)."""
    return bool(env.get("S3_LOCATION_FILE")) or env.get("S3DATA") == "multiple"


def locations_or_exit(env: Mapping[str, str] = os.environ,
                      rest_endpoints: Mapping[str, Any] | None = None) -> dict[str, Location]:
    """The locations for a process starting up, with config.json's restEndpoints checked against
    them: a wrong file or map ends it with every mistake listed."""
    try:
        locations = load_locations(env)
        check_rest_endpoints(rest_endpoints or {}, locations)
        return locations
    except LocationConfigError as exc:
        raise SystemExit(f"coffer: {exc}") from None


def parse_locations(text: str, source: str = C.LOCATION_FILE_NAME) -> dict[str, Location]:
    """Every location of a locationConfig.json document; LocationConfigError lists all its mistakes."""
    try:
        doc = json.loads(text, object_pairs_hook=_Object)
    except ValueError as exc:
        raise LocationConfigError(source, [f"is not valid JSON: {exc}"]) from None
    if not isinstance(doc, dict):
        raise LocationConfigError(source, ["must be a JSON object of locations by name"])
    problems = [f"location {name!r} is defined twice" for name in doc.dups]
    locations: dict[str, Location] = {}
    for name, spec in doc.items():
        found, errors = _location(name, spec)
        problems += errors
        if found is not None:
            locations[name] = found
    problems += _cross_checks(doc, locations)
    if problems:
        raise LocationConfigError(source, problems)
    return locations


def check_rest_endpoints(endpoints: Mapping[str, Any], locations: Mapping[str, Location]) -> None:
    """config.json's restEndpoints (host name -> default location) must each name a location."""
    problems = [f"restEndpoints: {host!r} maps to {loc!r}, which is not a configured location"
                for host, loc in endpoints.items() if loc not in locations]
    if problems:
        raise LocationConfigError("config", problems)


class _Object(dict):
    """A JSON object that remembers the names it was given more than once (json keeps the last)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        seen: set[str] = set()
        self.dups = [k for k, _ in pairs if k in seen or seen.add(k)]


# -- one location ------------------------------------------------------------------------------

def _location(name: str, spec: Any) -> tuple[Location | None, list[str]]:
    where = f"location {name!r}"
    if not _NAME.match(name):
        return None, [f"{where}: a location name is 1 to 255 letters, digits, '.', '_', ':' or '-'"]
    if not isinstance(spec, dict):
        return None, [f"{where} must be a JSON object"]
    problems = [f"{where}: field {k!r} is given twice" for k in spec.dups]
    problems += [f"{where}: unknown field {k!r} (known: {', '.join(sorted(_LOCATION_FIELDS))})"
                 for k in spec if k not in _LOCATION_FIELDS | _IGNORED_FIELDS]
    kind = spec.get("type")
    if kind not in C.LOCATION_TYPES:
        problems.append(f"{where}: type must be one of {', '.join(C.LOCATION_TYPES)}, not {kind!r}"
                        if kind is not None else f"{where}: type is missing ({', '.join(C.LOCATION_TYPES)})")
    object_id = spec.get("objectId", name)
    if not isinstance(object_id, str) or not object_id:
        problems.append(f"{where}: objectId must be a non-empty string")
    legacy = spec.get("legacyAwsBehavior", False)
    if not isinstance(legacy, bool):
        problems.append(f"{where}: legacyAwsBehavior must be true or false")
    classes, errors = _storage_classes(where, spec.get("storageClasses", []))
    problems += errors
    if kind not in C.LOCATION_TYPES:
        return None, problems
    raw = spec.get("details", None if kind == "aws_s3" else {})
    if not isinstance(raw, dict):
        problems.append(f"{where}: details must be a JSON object" if raw is not None else f"{where}: details is missing")
        return None, problems
    details, errors = (_s3_details if kind == "aws_s3" else _daemon_details)(where, raw)
    problems += errors
    if problems:
        return None, problems
    return Location(name, kind, object_id, legacy, classes, details), []


def _storage_classes(where: str, value: Any) -> tuple[tuple[str, ...], list[str]]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return (), [f"{where}: storageClasses must be a list of storage class names"]
    problems = [f"{where}: {v!r} is not a storage class ({', '.join(C.STORAGE_CLASSES)})"
                for v in value if v not in C.STORAGE_CLASSES]
    problems += [f"{where}: storage class {v!r} is listed twice" for v in set(value) if value.count(v) > 1]
    return tuple(value), problems


def _daemon_details(where: str, raw: dict) -> tuple[DaemonDetails, list[str]]:
    problems = _unknown(where, raw, _DAEMON_FIELDS)
    host, port = raw.get("host"), raw.get("port")
    if host is not None and (not isinstance(host, str) or not _valid_host(host)):
        problems.append(f"{where}: details.host must be a host name or an IP address, not {host!r}")
    if port is not None and not _valid_port(port):
        problems.append(f"{where}: details.port must be a port number (1-65535), not {port!r}")
    return DaemonDetails(host, port), problems


def _s3_details(where: str, raw: dict) -> tuple[S3Details | None, list[str]]:
    problems = _unknown(where, raw, _S3_FIELDS)
    flags = {}
    for key, default in (("bucketMatch", None), ("https", None), ("pathStyle", None),
                         ("serverSideEncryption", False), ("supportsVersioning", True)):
        value = raw.get(key, default)
        if key == "bucketMatch" and value is None:
            problems.append(f"{where}: details.bucketMatch is missing (true: the same keys in the remote bucket, "
                            "false: keys prefixed with the Coffer bucket name)")
        elif value is not None and not isinstance(value, bool):
            problems.append(f"{where}: details.{key} must be true or false")
        flags[key] = value
    endpoint, errors = _endpoint(where, raw.get("awsEndpoint"), flags["https"])
    problems += errors
    bucket = raw.get("bucketName")
    if not isinstance(bucket, str) or not _BUCKET_NAME.match(bucket):
        problems.append(f"{where}: details.bucketName must name the remote bucket (3-63 lowercase letters, digits, "
                        f"'.' or '-'), not {bucket!r}" if bucket is not None else f"{where}: details.bucketName is missing")
    keys, errors = _credentials(where, raw)
    problems += errors
    for key in ("region", "prefix"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"{where}: details.{key} must be a string")
    for key in ("connectTimeout", "readTimeout"):
        value = raw.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
            problems.append(f"{where}: details.{key} must be a number of seconds (0 to 3600)")
    if problems or endpoint is None:
        return None, problems
    host, port, https = endpoint
    path_style = flags["pathStyle"] if flags["pathStyle"] is not None else _is_ip_or_local(host)
    return S3Details(host, port, https, bucket, flags["bucketMatch"], keys[0], keys[1], raw.get("credentialsProfile"),
                     raw.get("region") or "us-east-1", path_style, flags["serverSideEncryption"],
                     flags["supportsVersioning"], raw.get("prefix", ""),
                     float(raw.get("connectTimeout", C.REMOTE_CONNECT_TIMEOUT_S)),
                     float(raw.get("readTimeout", C.REMOTE_READ_TIMEOUT_S))), []


def _credentials(where: str, raw: dict) -> tuple[tuple[str | None, str | None], list[str]]:
    """The access and secret key, or a profile; the values never appear in a message."""
    creds, profile = raw.get("credentials"), raw.get("credentialsProfile")
    if creds is None and profile is None:
        return (None, None), [f"{where}: details needs credentials ({{\"accessKey\": ..., \"secretKey\": ...}}) "
                              "or a credentialsProfile"]
    if creds is not None and profile is not None:
        return (None, None), [f"{where}: details gives both credentials and credentialsProfile: keep one"]
    if profile is not None:
        ok = isinstance(profile, str) and profile
        return (None, None), [] if ok else [f"{where}: details.credentialsProfile must be a profile name"]
    if not isinstance(creds, dict):
        return (None, None), [f"{where}: details.credentials must be an object with accessKey and secretKey"]
    problems = [f"{where}: details.credentials.{k} is missing or empty" for k in ("accessKey", "secretKey")
                if not isinstance(creds.get(k), str) or not creds.get(k)]
    problems += [f"{where}: details.credentials has an unknown field {k!r}" for k in creds
                 if k not in ("accessKey", "secretKey")]
    return (creds.get("accessKey"), creds.get("secretKey")), problems


def _endpoint(where: str, value: Any, https: bool | None) -> tuple[tuple[str, int, bool] | None, list[str]]:
    """awsEndpoint as (host, port, https): a host, host:port, or an http(s) URL with nothing after the host."""
    bad = [f"{where}: details.awsEndpoint must be a host name, host:port or http(s)://host[:port], not {value!r}"]
    if value is None:
        return None, [f"{where}: details.awsEndpoint is missing"]
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return None, bad
    parts = urlsplit(value if "://" in value else f"//{value}")
    if parts.scheme not in ("", "http", "https") or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None, bad
    if parts.username is not None or parts.password is not None:
        return None, [f"{where}: details.awsEndpoint must not carry credentials: use details.credentials"]
    if parts.scheme and https is not None and (parts.scheme == "https") != https:
        return None, [f"{where}: details.awsEndpoint says {parts.scheme} but details.https says {str(https).lower()}"]
    secure = parts.scheme == "https" if parts.scheme else (https if https is not None else True)
    try:
        port = parts.port
    except ValueError:
        return None, [f"{where}: details.awsEndpoint has a bad port: {value!r}"]
    if not parts.hostname or not _valid_host(parts.hostname) or port == 0:
        return None, bad
    return (parts.hostname, port or (443 if secure else 80), secure), []


def _unknown(where: str, raw: dict, known: set[str]) -> list[str]:
    problems = [f"{where}: details field {k!r} is given twice" for k in getattr(raw, "dups", ())]
    return problems + [f"{where}: unknown details field {k!r} (known: {', '.join(sorted(known))})"
                       for k in raw if k not in known]


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in host.rstrip(".").split("."))


def _valid_port(port: Any) -> bool:
    return isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536


def _is_ip_or_local(host: str) -> bool:
    """Virtual-hosted addressing needs a DNS name: IP addresses and localhost get path-style requests."""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# -- across locations --------------------------------------------------------------------------

def _cross_checks(doc: dict, locations: dict[str, Location]) -> list[str]:
    problems = [] if DEFAULT_LOCATION in doc else [
        f"location {DEFAULT_LOCATION!r} is missing: it is the default (a file location is the usual one)"]
    problems += _same(locations, lambda loc: loc.object_id, "share the objectId {}")
    problems += _same({n: loc for n, loc in locations.items() if loc.type != "aws_s3"},
                      lambda loc: (loc.type, loc.details.host, loc.details.port), "are the same data daemon store")
    problems += _overlapping_remotes([loc for loc in locations.values() if loc.type == "aws_s3"])
    for cls in C.STORAGE_CLASSES:
        serving = [loc.name for loc in locations.values() if cls in loc.storage_classes]
        if len(serving) > 1:
            problems.append(f"storage class {cls!r} is served by {', '.join(map(repr, serving))}: one location each")
    return problems


def _same(locations: dict[str, Location], what: Any, message: str) -> list[str]:
    by: dict[Any, list[str]] = {}
    for name, loc in locations.items():
        by.setdefault(what(loc), []).append(name)
    return [f"locations {', '.join(map(repr, names))} " + message.format(repr(value))
            for value, names in by.items() if len(names) > 1]


def _overlapping_remotes(remotes: list[Location]) -> list[str]:
    """Two locations in one remote bucket must not share keys: each one's sweeper would delete the other's."""
    problems = []
    for i, a in enumerate(remotes):
        for b in remotes[i + 1:]:
            da, db = a.details, b.details
            if (da.host, da.port, da.bucket) == (db.host, db.port, db.bucket) and (
                    da.prefix.startswith(db.prefix) or db.prefix.startswith(da.prefix)):
                problems.append(f"locations {a.name!r} and {b.name!r} share remote bucket {da.bucket!r} "
                                "with overlapping prefixes: give each its own details.prefix")
    return problems
