"""Server access logs: one record in AWS's format, the key of a log object, and a buffer of records.

A record is one line of space-separated fields, in AWS's order (see FIELDS): `-` for a field that
is absent, the time as [06/Feb/2019:00:00:38 +0000], the Request-URI, Referer and User-Agent in
double quotes, the key URL-encoded. AWS's newest field, the source region, is written only when
given (parsers built for the 26-field records, such as ceph's s3-tests, count fields).
Quoted fields escape `"` and `\\` with a backslash and control characters as \\xNN; unquoted fields
percent-encode spaces and control characters; so one record is always one line.

`LogBuffer` gathers records per log target and hands each batch to a callback once the oldest
record has waited long enough, the batch is full, or on stop; `log_objects` turns a target's
records into the log objects (key, body) to write. Neither does I/O.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from urllib.parse import quote, unquote

from shared import constants as C

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_QUOTED = ("request_uri", "referer", "user_agent")
_TOKEN = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')
_BARE_UNSAFE = re.compile(r'[\s"\x00-\x1f\x7f]')
_QUOTED_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')
_UNESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|.)')
_TIME = re.compile(r"^\[(\d{2})/([A-Z][a-z]{2})/(\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]$")


@dataclass(frozen=True)
class LogRecord:
    """One request, as a server access log records it. None (or False) fields are written as `-`."""
    bucket_owner: str | None
    bucket: str
    time: datetime
    remote_ip: str | None
    requester: str | None
    request_id: str
    operation: str
    key: str | None
    request_uri: str | None                 # the request line: "GET /bucket/key?x HTTP/1.1"
    status: int | None
    error_code: str | None
    bytes_sent: int | None                  # `-` when zero, as AWS writes it
    object_size: int | None
    total_time: int | None                  # milliseconds
    turn_around_time: int | None            # milliseconds
    referer: str | None
    user_agent: str | None
    version_id: str | None
    host_id: str | None
    signature_version: str | None           # SigV2 | SigV4
    cipher_suite: str | None
    authentication_type: str | None         # AuthHeader | QueryString
    host_header: str | None
    tls_version: str | None
    access_point_arn: str | None = None
    acl_required: bool = False              # Yes when an ACL was needed to authorize the request
    source_region: str | None = None        # AWS's newest field: written only when given


FIELDS = tuple(f.name for f in fields(LogRecord))


def render(record: LogRecord) -> str:
    """The record as one log line (no newline)."""
    parts = [_field(name, getattr(record, name)) for name in FIELDS[:-1]]
    if record.source_region:
        parts.append(_bare(record.source_region))
    return " ".join(parts)


def _field(name: str, value: object) -> str:
    if name == "time":
        return _time(value)  # type: ignore[arg-type]
    if name in _QUOTED:
        return '"' + _QUOTED_UNSAFE.sub(_escape, value) + '"' if value else '"-"'  # type: ignore[arg-type]
    if name == "key":
        return quote(value, safe="/") if value else "-"  # type: ignore[arg-type]
    if name == "bytes_sent" and value == 0:
        return "-"
    if name == "acl_required":
        return "Yes" if value else "-"
    return "-" if value is None or value == "" else _bare(str(value))


def _time(when: datetime) -> str:
    when = when.astimezone(timezone.utc)
    return f"[{when.day:02d}/{_MONTHS[when.month - 1]}/{when.year:04d}:{when:%H:%M:%S} +0000]"


def _escape(m: re.Match[str]) -> str:
    char = m.group(0)
    return "\\" + char if char in '"\\' else f"\\x{ord(char):02x}"


def _unescape(m: re.Match[str]) -> str:
    escaped = m.group(1)
    return chr(int(escaped[1:], 16)) if len(escaped) == 3 else escaped


def _bare(value: str) -> str:
    return _BARE_UNSAFE.sub(lambda m: f"%{ord(m.group(0)):02X}", value)


def parse(line: str) -> LogRecord:
    """A log line back as a record (fsck, tests); ValueError if it is not one."""
    tokens = _TOKEN.findall(line)
    if len(tokens) not in (len(FIELDS) - 1, len(FIELDS)):
        raise ValueError(f"a log record has {len(FIELDS) - 1} or {len(FIELDS)} fields, not {len(tokens)}")
    values: dict[str, object] = {}
    for name, token in zip(FIELDS, tokens):
        values[name] = _parse_field(name, token)
    return LogRecord(**values)  # type: ignore[arg-type]


def _parse_field(name: str, token: str) -> object:
    if name == "time":
        m = _TIME.match(token)
        if not m or m.group(2) not in _MONTHS:
            raise ValueError(f"not a log record time: {token}")
        day, month, rest = m.groups()
        return datetime.strptime(f"{day}/{_MONTHS.index(month) + 1}/{rest}", "%d/%m/%Y:%H:%M:%S %z")
    if name in _QUOTED:
        text = _UNESCAPE.sub(_unescape, token[1:-1])
        return None if text == "-" else text
    if name == "acl_required":
        return token == "Yes"
    if token == "-":
        return 0 if name == "bytes_sent" else None
    if name in ("status", "bytes_sent", "object_size", "total_time", "turn_around_time"):
        return int(token)
    return unquote(token) if name in ("key",) else token


# -- operations -----------------------------------------------------------------------------------

# Coffer's operation names (s3front/routing.py) and what AWS writes for them, where it differs from
# REST.<METHOD>.<RESOURCE> derived from the name.
_OPERATIONS = {
    "GetObject": "REST.GET.OBJECT", "HeadObject": "REST.HEAD.OBJECT", "PutObject": "REST.PUT.OBJECT",
    "DeleteObject": "REST.DELETE.OBJECT", "PostObject": "REST.POST.OBJECT", "CopyObject": "REST.COPY.OBJECT",
    "ListObjects": "REST.GET.BUCKET", "ListObjectsV2": "REST.GET.BUCKET", "HeadBucket": "REST.HEAD.BUCKET",
    "CreateBucket": "REST.PUT.BUCKET", "DeleteBucket": "REST.DELETE.BUCKET",
    "ListObjectVersions": "REST.GET.BUCKETVERSIONS", "ListMultipartUploads": "REST.GET.UPLOADS",
    "CreateMultipartUpload": "REST.POST.UPLOADS", "UploadPart": "REST.PUT.PART", "UploadPartCopy": "REST.COPY.PART",
    "CompleteMultipartUpload": "REST.POST.UPLOAD", "AbortMultipartUpload": "REST.DELETE.UPLOAD",
    "ListParts": "REST.GET.UPLOAD", "DeleteObjects": "REST.POST.MULTI_OBJECT_DELETE",
    "GetBucketAcl": "REST.GET.ACL", "PutBucketAcl": "REST.PUT.ACL", "GetObjectAcl": "REST.GET.ACL",
    "PutObjectAcl": "REST.PUT.ACL", "GetBucketLogging": "REST.GET.LOGGING_STATUS",
    "PutBucketLogging": "REST.PUT.LOGGING_STATUS", "GetBucketPolicy": "REST.GET.BUCKETPOLICY",
    "PutBucketPolicy": "REST.PUT.BUCKETPOLICY", "DeleteBucketPolicy": "REST.DELETE.BUCKETPOLICY",
    "GetObjectTagging": "REST.GET.OBJECT_TAGGING", "PutObjectTagging": "REST.PUT.OBJECT_TAGGING",
    "DeleteObjectTagging": "REST.DELETE.OBJECT_TAGGING", "OptionsObject": "REST.OPTIONS.PREFLIGHT",
    "GetObjectTorrent": "REST.GET.TORRENT", "RestoreObject": "REST.POST.RESTORE",
}
# Records a copy or a multi-object delete adds, besides the one for the request itself.
COPY_SOURCE, PART_COPY_SOURCE, BATCH_DELETE = "REST.COPY.OBJECT_GET", "REST.COPY.PART_GET", "BATCH.DELETE.OBJECT"
_VERBS = {"Get": "GET", "Put": "PUT", "Delete": "DELETE", "List": "GET", "Create": "POST", "Head": "HEAD"}


def operation_name(operation: str) -> str:
    """The log's name of a Coffer operation: GetObject -> REST.GET.OBJECT, GetBucketVersioning -> REST.GET.VERSIONING.

    Operations not in AWS's examples get REST.<METHOD>.<RESOURCE> from their name.
    """
    if operation in _OPERATIONS:
        return _OPERATIONS[operation]
    verb = next((v for v in _VERBS if operation.startswith(v)), None)
    if verb is None:
        return f"REST.POST.{_snake(operation)}"
    rest = re.sub(r"^Bucket|Configurations?$", "", operation[len(verb):])
    return f"REST.{_VERBS[verb]}.{_snake(rest or 'BUCKET')}"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


# -- log object keys ------------------------------------------------------------------------------

def unique_string() -> str:
    return os.urandom(8).hex().upper()


def log_object_key(prefix: str, key_format: str | None, date_source: str, delivered: datetime,
                   first_event: datetime, source_account: str, source_region: str, source_bucket: str,
                   unique: str | None = None) -> str:
    """The key of a log object, as AWS forms it.

    SimplePrefix (and no format given): [prefix][YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[UniqueString] at delivery.
    PartitionedPrefix: [prefix][account]/[region]/[bucket]/[YYYY]/[MM]/[DD]/[YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[Unique];
    with EventTime the date is the events' day and the time 00-00-00, with DeliveryTime both are the delivery's.
    """
    unique = unique or unique_string()
    if key_format != "PartitionedPrefix":
        return f"{prefix}{_stamp(delivered)}-{unique}"
    when = delivered.astimezone(timezone.utc)
    if date_source == "EventTime":
        when = first_event.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return (f"{prefix}{source_account}/{source_region}/{source_bucket}/"
            f"{when:%Y}/{when:%m}/{when:%d}/{_stamp(when)}-{unique}")


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")


# -- the buffer -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogTarget:
    """Where the records of one source bucket go."""
    source_bucket: str
    source_account: str
    source_region: str
    target_bucket: str
    prefix: str
    key_format: str | None = None
    date_source: str = "EventTime"


Lines = list[tuple[datetime, str]]                         # (event time, rendered record), in order
Ship = Callable[["LogTarget", Lines], Awaitable[None]]      # hands one target's batch on


@dataclass
class _Batch:
    started: float
    records: Lines


class LogBuffer:
    """Records per target, handed to `ship` when due (`tick()`) or all at once (`stop()`).

    A batch is due when its oldest record has waited `interval_s`, or when it holds `max_records`.
    A batch that fails to ship is kept for the next tick; past twice `max_records` the oldest are
    dropped (and counted in `dropped`), so a target that cannot be reached never exhausts memory.
    """

    def __init__(self, ship: Ship, interval_s: float = C.ACCESS_LOG_FLUSH_S,
                 max_records: int = C.ACCESS_LOG_MAX_RECORDS, clock: Callable[[], float] = time.time) -> None:
        self._ship, self._interval, self._max, self._clock = ship, interval_s, max_records, clock
        self._batches: dict[LogTarget, _Batch] = {}
        self.dropped = 0

    def add(self, target: LogTarget, record: LogRecord) -> bool:
        """Buffer one record; True when its batch is full and a tick() is worth running now."""
        batch = self._batches.setdefault(target, _Batch(self._clock(), []))
        batch.records.append((record.time, render(record)))
        self._trim(batch)
        return len(batch.records) >= self._max

    def pending(self) -> int:
        return sum(len(b.records) for b in self._batches.values())

    async def tick(self) -> int:
        """Ship the batches that are due; returns how many were shipped."""
        now = self._clock()
        due = [t for t, b in self._batches.items() if now - b.started >= self._interval or len(b.records) >= self._max]
        return await self._ship_all(due)

    async def stop(self) -> int:
        """Ship every batch (the front-end is stopping)."""
        return await self._ship_all(list(self._batches))

    async def _ship_all(self, targets: list[LogTarget]) -> int:
        """Ship each target's batch; one target failing does not hold up the others, its error is raised after."""
        shipped, failure = 0, None
        for target in targets:
            batch = self._batches.pop(target, None)
            if batch is None or not batch.records:
                continue
            try:
                await self._ship(target, batch.records)
                shipped += 1
            except Exception as exc:  # noqa: BLE001 - the callback's own failure, re-raised below
                self._keep(target, batch)
                failure = failure or exc
        if failure is not None:
            raise failure
        return shipped

    def _keep(self, target: LogTarget, failed: _Batch) -> None:
        """Put back the records of a failed batch, ahead of those that arrived meanwhile."""
        batch = self._batches.setdefault(target, _Batch(failed.started, []))
        batch.started = min(batch.started, failed.started)
        batch.records[:0] = failed.records
        self._trim(batch)

    def _trim(self, batch: _Batch) -> None:
        excess = len(batch.records) - 2 * self._max
        if excess > 0:
            del batch.records[:excess]
            self.dropped += excess


def log_objects(target: LogTarget, records: Lines, delivered: datetime) -> list[tuple[str, bytes]]:
    """The log objects (key, body) of one target's records: one, or one per UTC day of their events
    (PartitionedPrefix with EventTime), keyed as AWS keys them at `delivered`."""
    objects = []
    for group in _days(target, records):
        key = log_object_key(target.prefix, target.key_format, target.date_source, delivered, group[0][0],
                             target.source_account, target.source_region, target.source_bucket)
        objects.append((key, "".join(line + "\n" for _, line in group).encode()))
    return objects


def _days(target: LogTarget, records: Lines) -> list[Lines]:
    """The records in one group, or one group per UTC day of their events for PartitionedPrefix/EventTime."""
    if target.key_format != "PartitionedPrefix" or target.date_source != "EventTime":
        return [records]
    groups: dict[object, list[tuple[datetime, str]]] = {}
    for record in records:
        groups.setdefault(record[0].astimezone(timezone.utc).date(), []).append(record)
    return [groups[day] for day in sorted(groups)]
