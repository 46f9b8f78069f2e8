"""AWS's event record (eventVersion 2.1) and the compact request that asks for one (pure).

The front-end knows who asked, from where and under which request id, and which event it is
(a PUT, a copy, a POST all write an object); the metadata daemon knows the rest under its key
lock (size, ETag, version id, sequencer, the bucket's owner and region). `EventRequest` carries
the first across the contract; `event_record` joins both into one record.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus

SCHEMA = "1.0"
EVENT_VERSION = "2.1"


@dataclass(frozen=True, slots=True)
class EventRequest:
    """What the front-end adds to a mutation for its event: sent only when the bucket has rules."""

    name: str = ""                 # s3:ObjectCreated:Put ... ("": the daemon's default for the call)
    principal: str = ""            # the requester (canonical id), userIdentity.principalId
    source_ip: str = ""
    request_id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "principal": self.principal, "sourceIp": self.source_ip,
                "requestId": self.request_id}

    @staticmethod
    def from_wire(doc: dict[str, Any] | None) -> EventRequest:
        doc = doc or {}
        return EventRequest(str(doc.get("name", "")), str(doc.get("principal", "")), str(doc.get("sourceIp", "")),
                            str(doc.get("requestId", "")))


def event_time(seconds: float | None = None) -> str:
    """ISO 8601 with milliseconds, as S3 writes eventTime."""
    t = time.time() if seconds is None else seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def encode_key(key: str) -> str:
    """An object key as event records carry it: form-encoded (a space is `+`), slashes kept."""
    return quote_plus(key, safe="/")


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """What the daemon knows of the object an event is about."""

    key: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None   # as clients see it ("null" for a null version), None when unversioned


def event_record(event: str, request: EventRequest, bucket: str, owner: str, region: str, obj: ObjectFacts | None,
                 sequencer: str, configuration_id: str, when: float | None = None) -> dict[str, Any]:
    """One element of `Records[]` (a bucket event, `obj` None, has no `object`)."""
    record = {
        "eventVersion": EVENT_VERSION, "eventSource": "aws:s3", "awsRegion": region or "us-east-1",
        "eventTime": event_time(when), "eventName": event.removeprefix("s3:"),
        "userIdentity": {"principalId": request.principal},
        "requestParameters": {"sourceIPAddress": request.source_ip},
        "responseElements": {"x-amz-request-id": request.request_id, "x-amz-id-2": request.request_id},
        "s3": {"s3SchemaVersion": SCHEMA, "configurationId": configuration_id,
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": owner}, "arn": f"arn:aws:s3:::{bucket}"}},
    }
    if obj is not None:
        record["s3"]["object"] = _object(obj, sequencer)
    return record


def _object(obj: ObjectFacts, sequencer: str) -> dict[str, Any]:
    o: dict[str, Any] = {"key": encode_key(obj.key)}
    if obj.size is not None:
        o["size"] = obj.size
    if obj.etag:
        o["eTag"] = obj.etag
    if obj.version_id:
        o["versionId"] = obj.version_id
    o["sequencer"] = sequencer
    return o


def is_removal(record: dict[str, Any]) -> bool:
    """Whether a record removes its key from a namespace-format target."""
    return record["eventName"].startswith(("ObjectRemoved:", "LifecycleExpiration:"))


def namespace_key(record: dict[str, Any]) -> str:
    """`bucket/key` (the key as stored, not encoded): the entry a namespace-format target keeps."""
    s3 = record["s3"]
    return f"{s3['bucket']['name']}/{unquote_plus(s3['object']['key'])}"
