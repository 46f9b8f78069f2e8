"""The front-end <-> metadata daemon contract, declared once.

`MetadataAPI` lists every RPC method with its argument and result types and whether it writes.
The front-end's client (`shared/metadata_client.py`) and the daemon's dispatch table
(`dmd/metadata/service.py`) are both derived from it by `shared/contract/rpc.py`; nothing else
names an RPC method. Values cross as documents (`to_wire`/`from_wire` below and in `records.py`);
the daemon works on documents, the front-end on these dataclasses (docs/design.md, "The metadata
contract").
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from shared.contract.records import (BucketInfo, ChecksumValue, Document, ObjectMD, Piece,
                                     pieces_from_wire, pieces_to_wire)
from shared.contract.listings import (CompletedPart, ObjectRow, ObjectsPage, ObjectsQuery, PartInfo, PartsPage,
                                      Party, PieceRef, UploadInfo, UploadsPage, UploadsQuery, VersionEntry,
                                      VersionsPage, VersionsQuery)
from shared import constants as C
from shared.contract.rpc import rpc
from shared.notify.record import EventRequest


# -- results of writes ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Garbage:
    """Data a committed change dropped: delete the pieces, then report `gc_key` done (gc_done)."""

    gc_key: str
    pieces: tuple[Piece, ...]

    def to_wire(self) -> Document:
        return {"gcKey": self.gc_key, "location": pieces_to_wire(self.pieces) or []}

    @staticmethod
    def from_wire(doc: Document) -> Garbage:
        return Garbage(doc["gcKey"], pieces_from_wire(doc.get("location")))


def _garbage(doc: Document) -> tuple[Garbage, ...]:
    return tuple(Garbage.from_wire(g) for g in doc.get("gc") or ())


@dataclass(frozen=True, slots=True)
class WriteResult:
    """A new version: its id, whether it is the null version, and the versioning state it was written under."""

    version_id: str
    is_null: bool
    versioning: str | None
    garbage: tuple[Garbage, ...] = ()

    def to_wire(self) -> Document:
        return {"versionId": self.version_id, "isNull": self.is_null, "versioning": self.versioning,
                "gc": [g.to_wire() for g in self.garbage]}

    @staticmethod
    def from_wire(doc: Document) -> WriteResult:
        return WriteResult(doc["versionId"], bool(doc.get("isNull")), doc.get("versioning"), _garbage(doc))


@dataclass(frozen=True, slots=True)
class CompletionResult:
    """CompleteMultipartUpload's new version, with the object's ETag, size and checksum."""

    write: WriteResult
    etag: str
    size: int
    checksum: ChecksumValue | None = None

    def to_wire(self) -> Document:
        doc = {**self.write.to_wire(), "etag": self.etag, "size": self.size}
        doc["checksum"] = self.checksum.to_wire() if self.checksum else None
        return doc

    @staticmethod
    def from_wire(doc: Document) -> CompletionResult:
        return CompletionResult(WriteResult.from_wire(doc), doc["etag"], doc["size"],
                                ChecksumValue.from_wire(doc.get("checksum")))


@dataclass(frozen=True, slots=True)
class DeleteResult:
    """A DeleteObject: the delete marker it made or removed, the version it removed, the state it saw."""

    delete_marker: bool = False
    version_id: str | None = None
    is_null: bool = False
    versioning: str | None = None
    found: bool = True
    garbage: tuple[Garbage, ...] = ()

    def to_wire(self) -> Document:
        return {"deleteMarker": self.delete_marker, "versionId": self.version_id, "isNull": self.is_null,
                "versioning": self.versioning, "found": self.found, "gc": [g.to_wire() for g in self.garbage]}

    @staticmethod
    def from_wire(doc: Document) -> DeleteResult:
        return DeleteResult(bool(doc.get("deleteMarker")), doc.get("versionId"), bool(doc.get("isNull")),
                            doc.get("versioning"), doc.get("found", True), _garbage(doc))


# -- reads ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Manifest:
    """What a daemon says of itself on every connection."""

    proto: int
    boot_id: str
    db_uuid: str
    api_version: str = ""
    degraded: bool = False
    methods: tuple[str, ...] = ()

    def to_wire(self) -> Document:
        return {"proto": self.proto, "boot_id": self.boot_id, "db_uuid": self.db_uuid,
                "apiVersion": self.api_version, "degraded": self.degraded, "methods": list(self.methods)}

    @staticmethod
    def from_wire(doc: Document) -> Manifest:
        return Manifest(doc["proto"], doc["boot_id"], doc["db_uuid"], doc.get("apiVersion", ""),
                        bool(doc.get("degraded")), tuple(doc.get("methods", ())))


@dataclass(frozen=True, slots=True)
class BucketAndObject:
    """A bucket and one version of an object in it (None: no such object), read in one round trip."""

    bucket: BucketInfo
    object: ObjectMD | None

    @staticmethod
    def from_wire(doc: Document) -> BucketAndObject:
        obj = doc.get("object")
        return BucketAndObject(BucketInfo.from_wire(doc["bucket"]), None if obj is None else ObjectMD.from_wire(obj))


@dataclass(frozen=True, slots=True)
class BucketSummary:
    """A bucket as ListBuckets shows it."""

    name: str
    creation_date: str
    location: str = ""

    @staticmethod
    def from_wire(doc: Document) -> BucketSummary:
        return BucketSummary(doc["name"], doc["creationDate"], doc.get("locationConstraint") or "")


@dataclass(frozen=True, slots=True)
class WriteCondition:
    """If-Match / If-None-Match of a write, checked under the key lock."""

    if_match: str | None = None
    if_none_match: str | None = None

    def to_wire(self) -> Document:
        doc: Document = {}
        if self.if_match is not None:
            doc["ifMatch"] = self.if_match
        if self.if_none_match is not None:
            doc["ifNoneMatch"] = self.if_none_match
        return doc


@dataclass(frozen=True, slots=True)
class Lease:
    """A cluster-wide lease (the lifecycle worker's): who holds it, until when (the daemon's clock,
    epoch seconds), whether the caller holds it now, and the small state its holder keeps with it."""

    holder: str | None
    expires: float
    held: bool
    state: Any = None

    def to_wire(self) -> Document:
        return {"holder": self.holder, "expires": self.expires, "held": self.held, "state": self.state}

    @staticmethod
    def from_wire(doc: Document) -> Lease:
        return Lease(doc.get("holder"), doc.get("expires", 0.0), bool(doc.get("held")), doc.get("state"))


# -- the contract --------------------------------------------------------------------------------------
class MetadataAPI(Protocol):
    """Every call a front-end (or a maintenance tool) makes of the metadata daemon."""

    # the service
    @rpc()
    async def get_manifest(self) -> Manifest: ...

    @rpc()
    async def get_stats(self) -> dict[str, Any]: ...

    # buckets
    @rpc(writes=True)
    async def create_bucket(self, bucket: str, info: BucketInfo, event: EventRequest | None = None) -> None:
        """`event`: for targets subscribed to bucket events (s3:BucketCreated), sent with every creation."""

    @rpc(wire="getBucketAttributes")
    async def get_bucket(self, bucket: str) -> BucketInfo: ...

    @rpc(writes=True, wire="updateBucketAttributes")
    async def update_bucket(self, bucket: str, set: dict[str, Any] | None = None,
                            unset: list[str] | None = None) -> BucketInfo: ...

    @rpc(writes=True)
    async def delete_bucket(self, bucket: str, event: EventRequest | None = None) -> list[Garbage]: ...

    @rpc()
    async def list_buckets(self, owner: str) -> list[BucketSummary]: ...

    @rpc()
    async def get_bucket_config(self, bucket: str, kind: str) -> Any:
        """A configuration kept apart from the bucket record (policy, tagging, ...); None when absent."""

    @rpc(writes=True)
    async def put_bucket_config(self, bucket: str, kind: str, config: Any) -> None:
        """Store (None: delete) a configuration; the record's `configs` names the kinds present."""

    # objects
    @rpc()
    async def get_object(self, bucket: str, key: str, version_id: str | None = None) -> ObjectMD: ...

    @rpc()
    async def get_bucket_and_object(self, bucket: str, key: str,
                                    version_id: str | None = None) -> BucketAndObject: ...

    @rpc(writes=True)
    async def put_object(self, bucket: str, key: str, md: ObjectMD,
                         condition: WriteCondition | None = None, event: EventRequest | None = None) -> WriteResult:
        """`event`: the event's details, sent only when the bucket has notification rules (all calls alike)."""

    @rpc(writes=True)
    async def update_object(self, bucket: str, key: str, version_id: str | None = None,
                            set: dict[str, Any] | None = None, unset: list[str] | None = None,
                            bypass_governance: bool = False, event: EventRequest | None = None) -> ObjectMD: ...

    @rpc(writes=True)
    async def delete_object(self, bucket: str, key: str, version_id: str | None = None,
                            marker: ObjectMD | None = None, bypass_governance: bool = False,
                            event: EventRequest | None = None) -> DeleteResult: ...

    # listings
    @rpc()
    async def list_objects(self, bucket: str, query: ObjectsQuery) -> ObjectsPage: ...

    @rpc()
    async def list_object_versions(self, bucket: str, query: VersionsQuery) -> VersionsPage: ...

    @rpc()
    async def list_multipart_uploads(self, bucket: str, query: UploadsQuery) -> UploadsPage: ...

    @rpc()
    async def list_parts(self, bucket: str, upload_id: str, part_number_marker: int = 0, max_parts: int = 1000,
                         key: str | None = None) -> PartsPage: ...

    # multipart uploads
    @rpc(writes=True)
    async def initiate_multipart_upload(self, bucket: str, key: str, upload: UploadInfo) -> str: ...

    @rpc(writes=True)
    async def put_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                       part: PartInfo) -> list[Garbage]: ...

    @rpc(writes=True)
    async def complete_multipart_upload(self, bucket: str, key: str, upload_id: str, parts: list[CompletedPart],
                                        md: dict[str, Any] | None = None, min_part_size: int = C.MPU_MIN_PART_SIZE,
                                        condition: WriteCondition | None = None,
                                        checksum: ChecksumValue | None = None,
                                        event: EventRequest | None = None) -> CompletionResult: ...

    @rpc(writes=True)
    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> list[Garbage]: ...

    # leases: one holder per cluster for a background job (design.md, "Lifecycle")
    @rpc(writes=True)
    async def take_lease(self, name: str, holder: str, ttl_s: float, state: Any = None) -> Lease:
        """Take or renew `name` for `ttl_s` seconds unless another holds it unexpired; `state`
        (None: keep) is stored only by the holder, so a holder that lost the lease cannot write it."""

    @rpc(writes=True)
    async def release_lease(self, name: str, holder: str, state: Any = None) -> None:
        """Give `name` up (only its holder can), storing `state` (None: keep) as it goes."""

    @rpc()
    async def buckets_with_config(self, kind: str) -> list[str]:
        """Every bucket that has a configuration of `kind` (a cold one: lifecycle, ...), sorted."""
    # bucket event notifications (docs/notifications.md)
    @rpc(writes=True)
    async def queue_event(self, bucket: str, key: str, event: EventRequest, version_id: str | None = None) -> None:
        """Queue an event that no metadata write carries (ObjectAccessed): best effort."""

    @rpc()
    async def notify_status(self) -> list[dict[str, Any]]:
        """Each target's state, outbox depth, counters and last error."""

    @rpc(writes=True)
    async def notify_config(self, op: str, name: str = "", settings: dict[str, str] | None = None) -> Any:
        """Run-time target declarations: `set`, `get`, `list`, `reset` of `notify_TYPE:ID`."""

    # server access logs on their way to log objects (design.md §16)
    @rpc(writes=True)
    async def append_access_logs(self, source: str, batch: dict[str, Any]) -> None:
        """Hand over one batch of a bucket's records: `{"target", "grants", "records": [[time, line], ...]}`."""

    @rpc()
    async def due_access_logs(self, interval_s: float,
                              max_records: int = C.ACCESS_LOG_MAX_RECORDS) -> list[dict[str, Any]]:
        """The batches of every source whose oldest waited `interval_s` (or which has `max_records`),
        each with its `name` (for access_logs_done), `source` and `storedMs`."""

    @rpc(writes=True)
    async def access_logs_done(self, names: list[str]) -> None: ...

    # garbage collection and maintenance
    @rpc(writes=True)
    async def gc_done(self, entries: list[str]) -> None: ...

    @rpc(stream=True)
    def due_garbage(self, before_ms: int) -> AsyncIterator[Garbage]:
        """Deferred deletions recorded before `before_ms` (ms since the epoch) and not yet done."""

    @rpc(stream=True)
    def referenced_pieces(self) -> AsyncIterator[PieceRef]:
        """Every piece that metadata points at: objects (masters, versions), parts, pending deletions."""
