"""The listing and multipart types of the metadata contract: queries, pages and their rows.

Each crosses the RPC as a document (`to_wire`/`from_wire`); `shared/contract/metadata.py` names
the calls that take and return them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from shared.contract.records import STANDARD, ChecksumValue, Document, ObjectMD, Piece, pieces_from_wire, pieces_to_wire

# -- listings ------------------------------------------------------------------------------------------
class ObjectRow(NamedTuple):
    """One <Contents> of ListObjects."""

    key: str
    last_modified: str
    etag: str
    size: int
    storage_class: str
    owner_id: str | None
    owner_name: str | None


@dataclass(frozen=True, slots=True)
class ObjectsQuery:
    """ListObjects (v1 with `marker`, v2 with `start_after`/`continuation`), one page of `max_keys`."""

    prefix: str = ""
    delimiter: str | None = None
    max_keys: int = 1000
    marker: str | None = None
    start_after: str | None = None
    continuation: str | None = None
    v2: bool = False

    def to_wire(self) -> Document:
        doc: Document = {"prefix": self.prefix, "maxKeys": self.max_keys, "compact": True}
        for name, value in (("delimiter", self.delimiter), ("marker", self.marker),
                            ("startAfter", self.start_after), ("continuationToken", self.continuation)):
            if value:
                doc[name] = value
        if self.v2:
            doc["v2"] = True
        return doc


@dataclass(frozen=True, slots=True)
class ObjectsPage:
    rows: list[ObjectRow]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str | None = None          # v1: where the next page starts
    next_continuation: str | None = None    # v2: the resume point behind NextContinuationToken

    @staticmethod
    def from_wire(doc: Document) -> ObjectsPage:
        owners = doc.get("Owners") or []
        rows = [ObjectRow(r[0], r[1], r[2], r[3], r[4], *owners[r[5]]) for r in doc.get("Rows", ())]
        return ObjectsPage(rows, doc.get("CommonPrefixes", []), bool(doc.get("IsTruncated")),
                           doc.get("NextMarker"), doc.get("NextContinuationToken"))


@dataclass(frozen=True, slots=True)
class VersionsQuery:
    prefix: str = ""
    delimiter: str | None = None
    max_keys: int = 1000
    key_marker: str | None = None
    version_id_marker: str | None = None    # internal id, or "null"

    def to_wire(self) -> Document:
        doc: Document = {"prefix": self.prefix, "maxKeys": self.max_keys}
        for name, value in (("delimiter", self.delimiter), ("keyMarker", self.key_marker),
                            ("versionIdMarker", self.version_id_marker)):
            if value:
                doc[name] = value
        return doc


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One <Version> or <DeleteMarker> of ListObjectVersions."""

    key: str
    version_id: str | None
    is_latest: bool
    is_null: bool
    is_delete_marker: bool
    last_modified: str | None
    etag: str
    size: int
    owner_id: str | None
    owner_name: str | None
    storage_class: str

    @staticmethod
    def from_wire(doc: Document) -> VersionEntry:
        v = doc["value"]
        return VersionEntry(doc["key"], doc.get("versionId") or v.get("versionId"), bool(doc.get("isLatest")),
                            bool(v.get("isNull")), bool(v.get("isDeleteMarker")), v.get("last-modified"),
                            v.get("content-md5", ""), v.get("content-length", 0), v.get("owner-id"),
                            v.get("owner-display-name"), v.get("x-amz-storage-class") or STANDARD)


@dataclass(frozen=True, slots=True)
class VersionsPage:
    versions: list[VersionEntry]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None   # internal id, or "null"

    @staticmethod
    def from_wire(doc: Document) -> VersionsPage:
        return VersionsPage([VersionEntry.from_wire(v) for v in doc.get("Versions", ())],
                            doc.get("CommonPrefixes", []), bool(doc.get("IsTruncated")), doc.get("NextKeyMarker"),
                            doc.get("NextVersionIdMarker"))


@dataclass(frozen=True, slots=True)
class Party:
    """An Initiator or Owner: canonical id and display name."""

    id: str | None
    display_name: str | None

    def to_wire(self) -> Document:
        return {"ID": self.id, "DisplayName": self.display_name}

    @staticmethod
    def from_wire(doc: Document | None) -> Party:
        doc = doc or {}
        return Party(doc.get("ID"), doc.get("DisplayName"))


def upload_may_be_encrypted(upload_id: str) -> bool:
    """Whether an upload id may name an encrypted upload (dmd/metadata/multipart.py new_upload_id marks
    them), so that UploadPart looks an upload's encryption up only when it may have one."""
    return len(upload_id) != 48 or upload_id[16] in "89abcdef"


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """An open multipart upload: who started it, and what completion will apply to the object."""

    initiator: Party
    owner: Party
    storage_class: str = STANDARD
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    md: ObjectMD | None = None          # the new object's metadata (None when read back from a listing)
    key: str = ""
    upload_id: str = ""
    initiated: str = ""
    location: str = ""                  # the data location its parts go to, chosen at initiation ("": the bucket's)
    sse: Document | None = None         # the upload's encryption (its md's), kept where listings see it

    def to_wire(self) -> Document:
        doc = {"initiator": self.initiator.to_wire(), "owner": self.owner.to_wire(),
               "storageClass": self.storage_class, "checksumAlgorithm": self.checksum_algorithm,
               "checksumType": self.checksum_type, "md": self.md.to_wire() if self.md else {}}
        if self.location:
            doc["dataStoreName"] = self.location
        sse = self.sse if self.sse is not None else (self.md.sse if self.md else None)
        if sse is not None:
            doc["sse"] = sse
        return doc

    @staticmethod
    def from_wire(doc: Document) -> UploadInfo:
        md = doc.get("md")
        return UploadInfo(Party.from_wire(doc.get("initiator")), Party.from_wire(doc.get("owner")),
                          doc.get("storageClass") or STANDARD, doc.get("checksumAlgorithm"),
                          doc.get("checksumType"), ObjectMD.from_wire(md) if md else None, doc.get("key", ""),
                          doc.get("uploadId", ""), doc.get("initiated", ""), doc.get("dataStoreName", ""),
                          doc.get("sse"))


@dataclass(frozen=True, slots=True)
class UploadsQuery:
    prefix: str = ""
    delimiter: str | None = None
    max_keys: int = 1000
    key_marker: str | None = None
    upload_id_marker: str | None = None

    def to_wire(self) -> Document:
        doc: Document = {"prefix": self.prefix, "maxKeys": self.max_keys}
        for name, value in (("delimiter", self.delimiter), ("keyMarker", self.key_marker),
                            ("uploadIdMarker", self.upload_id_marker)):
            if value:
                doc[name] = value
        return doc


@dataclass(frozen=True, slots=True)
class UploadsPage:
    uploads: list[UploadInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None = None
    next_upload_id_marker: str | None = None

    @staticmethod
    def from_wire(doc: Document) -> UploadsPage:
        uploads = [UploadInfo.from_wire({**u["value"], "key": u["key"], "uploadId": u["uploadId"]})
                   for u in doc.get("Uploads", ())]
        return UploadsPage(uploads, doc.get("CommonPrefixes", []), bool(doc.get("IsTruncated")),
                           doc.get("NextKeyMarker"), doc.get("NextUploadIdMarker"))


@dataclass(frozen=True, slots=True)
class PartInfo:
    """One uploaded part: its ETag, size, data and checksum."""

    etag: str
    size: int
    pieces: tuple[Piece, ...] = ()
    last_modified: str = ""
    checksum: ChecksumValue | None = None
    number: int = 0

    def to_wire(self) -> Document:
        doc: Document = {"etag": self.etag, "size": self.size, "location": pieces_to_wire(self.pieces),
                         "lastModified": self.last_modified}
        if self.checksum:
            doc["checksum"] = self.checksum.to_wire()
        return doc

    @staticmethod
    def from_wire(doc: Document) -> PartInfo:
        return PartInfo(doc["etag"], doc["size"], pieces_from_wire(doc.get("location")),
                        doc.get("lastModified", ""), ChecksumValue.from_wire(doc.get("checksum")),
                        doc.get("partNumber", 0))


@dataclass(frozen=True, slots=True)
class PartsPage:
    parts: list[PartInfo]
    is_truncated: bool
    upload: UploadInfo | None = None

    @staticmethod
    def from_wire(doc: Document) -> PartsPage:
        upload = doc.get("Upload")
        return PartsPage([PartInfo.from_wire(p) for p in doc.get("Parts", ())], bool(doc.get("IsTruncated")),
                         None if upload is None else UploadInfo.from_wire(upload))


@dataclass(frozen=True, slots=True)
class CompletedPart:
    """A part as CompleteMultipartUpload lists it: number, ETag, and the checksums it names."""

    number: int
    etag: str
    checksums: dict[str, str] = field(default_factory=dict)    # algorithm -> base64 value

    def to_wire(self) -> Document:
        return {"partNumber": self.number, "etag": self.etag, **self.checksums}


@dataclass(frozen=True, slots=True)
class PieceRef:
    """A piece that metadata points at, and where: for fsck and the orphan sweeper."""

    bucket: str
    where: str              # the object (or upload part) that holds it, for reports
    piece: Piece
    pending_delete: bool = False    # a deferred deletion not done yet: the data may already be gone

    @staticmethod
    def from_wire(doc: Document) -> PieceRef:
        return PieceRef(doc["bucket"], doc["where"], Piece.from_wire(doc["piece"]), bool(doc.get("pendingDelete")))
