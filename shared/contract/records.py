"""The records both contracts carry: a data piece, a bucket, an object version.

Each record is a dataclass for the code that uses it and a document on the wire and on disk.
`from_wire` reads every document format Coffer has written (the `format` fields say which);
`to_wire` writes the newest. The metadata daemon stores documents as they come and adds its own
fields (version ids, Last-Modified at commit), so these two functions are the only place that
knows a document's field names (docs/design.md, "Records").
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

Document = dict[str, Any]

DEFAULT_LOCATION = "us-east-1"
# The built-in location of small bodies kept in their record (shared/data_inline.py); the
# parentheses keep it apart from any name locationConfig.json can give.
INLINE_LOCATION = "(inline)"
STANDARD = "STANDARD"

# Headers an object keeps as they were given and returns on GET and HEAD.
STORED_HEADERS = ("content-type", "content-encoding", "content-disposition", "content-language",
                  "cache-control", "expires", "x-amz-website-redirect-location")
USER_METADATA_PREFIX = "x-amz-meta-"

OBJECT_FORMAT = 2       # 1: pieces named their part in "dataStoreETag" ("N:etag"); 2: in "partNumber"/"partETag"
ENCRYPTED_FORMAT = 3    # 3: an encrypted object: "sse" on the object and on each piece (s3front/sse)
BUCKET_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of an object's bytes held by one data location under one key.

    `start` is the piece's offset in the object; a multipart object's pieces name their part.
    An encrypted piece keeps its sealed data key and envelope parameters in `sse` (opaque here:
    s3front/sse/service.py reads it) and the length of its sealed bytes in `stored_size`; `size`
    and `start` always count plaintext bytes.
    """

    location: str
    key: str
    size: int
    start: int = 0
    part_number: int | None = None
    part_etag: str | None = None
    sse: Document | None = None
    stored_size: int | None = None

    @property
    def end(self) -> int:
        """The offset of the piece's last byte in the object."""
        return self.start + self.size - 1

    @property
    def data_size(self) -> int:
        """How many bytes the data location holds under `key` (more than `size` when encrypted)."""
        return self.size if self.stored_size is None else self.stored_size

    def to_wire(self) -> Document:
        doc: Document = {"dataStoreName": self.location, "key": self.key, "size": self.size, "start": self.start}
        if self.part_number is not None:
            doc["partNumber"] = self.part_number
            doc["partETag"] = self.part_etag
        if self.sse is not None:
            doc["sse"] = self.sse
            doc["storedSize"] = self.stored_size
        return doc

    @staticmethod
    def from_wire(doc: Document) -> Piece:
        number, etag = doc.get("partNumber"), doc.get("partETag")
        if number is None and "dataStoreETag" in doc:          # format 1
            text, _, etag = str(doc["dataStoreETag"]).partition(":")
            number = int(text) if text.isdigit() else None
        return Piece(doc.get("dataStoreName") or DEFAULT_LOCATION, doc["key"], doc["size"], doc.get("start", 0),
                     number, etag, doc.get("sse"), doc.get("storedSize"))


def is_inline(doc: Document) -> bool:
    """Whether a piece's document names the inline location (its key holds its bytes)."""
    return doc.get("dataStoreName") == INLINE_LOCATION


def pieces_from_wire(docs: list[Document] | None) -> tuple[Piece, ...]:
    return tuple(Piece.from_wire(d) for d in docs) if docs else ()


def pieces_to_wire(pieces: tuple[Piece, ...]) -> list[Document] | None:
    return [p.to_wire() for p in pieces] if pieces else None


@dataclass(frozen=True, slots=True)
class ChecksumValue:
    """An object's (or part's) checksum: algorithm, base64 value, FULL_OBJECT or COMPOSITE."""

    algorithm: str
    value: str
    type: str = "FULL_OBJECT"

    def to_wire(self) -> Document:
        return {"algorithm": self.algorithm, "value": self.value, "type": self.type}

    @staticmethod
    def from_wire(doc: Document | None) -> ChecksumValue | None:
        if not doc:
            return None
        return ChecksumValue(doc["algorithm"], doc["value"], doc.get("type", "FULL_OBJECT"))


@dataclass(frozen=True, slots=True)
class PartRecord:
    """What a multipart object keeps of one of its parts (GetObjectAttributes, GET ?partNumber)."""

    number: int
    size: int
    checksum: str | None = None         # the part's checksum value, in the object's algorithm

    def to_wire(self) -> Document:
        doc: Document = {"partNumber": self.number, "size": self.size}
        if self.checksum:
            doc["checksum"] = self.checksum
        return doc

    @staticmethod
    def from_wire(doc: Document) -> PartRecord:
        return PartRecord(doc["partNumber"], doc["size"], doc.get("checksum"))


# Document fields ObjectMD names itself; every other field is a stored header, user metadata or extra.
_OBJECT_FIELDS = frozenset(["key", "content-length", "content-md5", "last-modified", "owner-id",
                            "owner-display-name", "x-amz-storage-class", "acl", "checksum", "parts", "location",
                            "versionId", "isNull", "nullVersionId", "isDeleteMarker", "uploadId",
                            "md-model-version", "sse"])
_STORED = frozenset(STORED_HEADERS)


@dataclass(slots=True)
class ObjectMD:
    """One version of an object, or a delete marker, as the front-end sees it."""

    key: str = ""
    size: int = 0
    etag: str = ""                      # hex MD5, or MD5-of-MD5s-N for a multipart object
    last_modified: str = ""             # ISO 8601 with ms, stamped by the daemon at commit
    owner_id: str = ""
    owner_name: str = ""
    storage_class: str = STANDARD
    headers: dict[str, str] = field(default_factory=dict)        # STORED_HEADERS that were given
    user_metadata: dict[str, str] = field(default_factory=dict)  # x-amz-meta-*, names lower-case
    acl: Any = None                     # grants as s3front.acl_model keeps them; None: the canned private
    checksum: ChecksumValue | None = None
    parts: tuple[PartRecord, ...] = ()
    pieces: tuple[Piece, ...] = ()
    version_id: str | None = None       # the internal 27-character id
    is_null: bool = False
    null_version_id: str | None = None
    is_delete_marker: bool = False
    upload_id: str | None = None        # the upload a multipart object was completed from
    extra: dict[str, Any] = field(default_factory=dict)          # fields of later formats, kept as they are
    sse: Document | None = None         # an encrypted object's ObjectSse (s3front/sse/headers.py), else None

    @property
    def is_multipart(self) -> bool:
        return "-" in self.etag

    @property
    def part_count(self) -> int:
        return int(self.etag.rsplit("-", 1)[1]) if self.is_multipart else 1

    def with_changes(self, **changes: Any) -> ObjectMD:
        return replace(self, **changes)

    def to_wire(self) -> Document:
        doc: Document = {"content-length": self.size, "content-md5": self.etag, "owner-id": self.owner_id,
                         "owner-display-name": self.owner_name, "x-amz-storage-class": self.storage_class,
                         "location": pieces_to_wire(self.pieces),
                         "md-model-version": OBJECT_FORMAT if self.sse is None else ENCRYPTED_FORMAT}
        if self.key:
            doc["key"] = self.key
        if self.last_modified:
            doc["last-modified"] = self.last_modified
        doc.update(self.headers)
        doc.update(self.user_metadata)
        _optional(doc, "acl", self.acl)
        _optional(doc, "checksum", self.checksum.to_wire() if self.checksum else None)
        _optional(doc, "parts", [p.to_wire() for p in self.parts] if self.parts else None)
        _optional(doc, "versionId", self.version_id)
        _optional(doc, "nullVersionId", self.null_version_id)
        _optional(doc, "uploadId", self.upload_id)
        _optional(doc, "sse", self.sse)
        if self.is_null:
            doc["isNull"] = True
        if self.is_delete_marker:
            doc["isDeleteMarker"] = True
        doc.update(self.extra)
        return doc

    @staticmethod
    def from_wire(doc: Document) -> ObjectMD:
        headers: dict[str, str] = {}
        user: dict[str, str] = {}
        extra: dict[str, Any] = {}
        for name, value in doc.items():        # one pass: a GET decodes one of these
            if name in _OBJECT_FIELDS:
                continue
            if name.startswith(USER_METADATA_PREFIX):
                user[name] = value
            elif name in _STORED:
                headers[name] = value
            else:
                extra[name] = value
        get = doc.get
        parts = get("parts")
        return ObjectMD(get("key", ""), get("content-length", 0), get("content-md5", ""), get("last-modified", ""),
                        get("owner-id", ""), get("owner-display-name", ""), get("x-amz-storage-class") or STANDARD,
                        headers, user, get("acl"), ChecksumValue.from_wire(get("checksum")),
                        tuple(PartRecord.from_wire(p) for p in parts) if parts else (),
                        pieces_from_wire(get("location")), get("versionId"), bool(get("isNull")),
                        get("nullVersionId"), bool(get("isDeleteMarker")), get("uploadId"), extra, get("sse"))


def _optional(doc: Document, name: str, value: Any) -> None:
    if value is not None:
        doc[name] = value


@dataclass(frozen=True, slots=True)
class CorsRule:
    """One CORSRule of a bucket's CORS configuration."""

    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    id: str | None = None
    max_age: int | None = None

    def to_wire(self) -> Document:
        doc: Document = {"origins": list(self.origins), "methods": list(self.methods),
                         "headers": list(self.headers), "expose": list(self.expose)}
        _optional(doc, "id", self.id)
        _optional(doc, "max_age", self.max_age)
        return doc

    @staticmethod
    def from_wire(doc: Document) -> CorsRule:
        return CorsRule(tuple(doc.get("origins", ())), tuple(doc.get("methods", ())), tuple(doc.get("headers", ())),
                        tuple(doc.get("expose", ())), doc.get("id"), doc.get("max_age"))


# The bucket document's fields, by the BucketInfo attribute that holds each.
_BUCKET_WIRE = {"name": "name", "owner": "owner", "owner_name": "ownerDisplayName",
                "creation_date": "creationDate", "location": "locationConstraint", "acl": "acl",
                "versioning": "versioning", "cors": "cors", "object_lock": "objectLock", "configs": "configs",
                "rev": "_rev"}
_BUCKET_FIELDS = frozenset(_BUCKET_WIRE.values()) | {"format"}


@dataclass(frozen=True, slots=True)
class BucketInfo:
    """What every request on a bucket needs: its owner, ACL, versioning, object lock and CORS.

    Front-ends cache it (the daemon tells them to forget it before a change is acknowledged), so it
    is frozen: callers share one instance. Configurations only their own calls read (policy,
    lifecycle, tagging ...) are kept apart as bucket configurations; `configs` names those present.
    """

    name: str
    owner: str                          # canonical id of the owning account
    owner_name: str = ""
    creation_date: str = ""
    location: str = ""                  # the LocationConstraint given at creation ("" is us-east-1)
    acl: Any = None
    versioning: str | None = None       # None (never configured), "Enabled" or "Suspended"
    cors: tuple[CorsRule, ...] = ()
    object_lock: Any = None             # the Object Lock configuration document, once enabled (for good)
    configs: frozenset[str] = frozenset()
    rev: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> Document:
        doc: Document = {"name": self.name, "owner": self.owner, "ownerDisplayName": self.owner_name,
                         "creationDate": self.creation_date, "locationConstraint": self.location,
                         "versioning": self.versioning, "_rev": self.rev, "format": BUCKET_FORMAT}
        _optional(doc, "acl", self.acl)
        if self.cors:
            doc["cors"] = [r.to_wire() for r in self.cors]
        _optional(doc, "objectLock", self.object_lock)
        if self.configs:
            doc["configs"] = sorted(self.configs)
        doc.update(self.extra)
        return doc

    @staticmethod
    def from_wire(doc: Document) -> BucketInfo:
        get = doc.get
        extra = {k: v for k, v in doc.items() if k not in _BUCKET_FIELDS}
        return BucketInfo(get("name", ""), get("owner", ""), get("ownerDisplayName", ""), get("creationDate", ""),
                          get("locationConstraint") or "", get("acl"), get("versioning"),
                          tuple(CorsRule.from_wire(r) for r in get("cors") or ()), get("objectLock"),
                          frozenset(get("configs") or ()), get("_rev", 0), extra)


def bucket_changes_to_wire(changes: dict[str, Any]) -> tuple[Document, list[str]]:
    """BucketInfo attribute changes as the document's (set, unset); None (or empty) unsets a field."""
    set_: Document = {}
    unset: list[str] = []
    for name, value in changes.items():
        wire = _BUCKET_WIRE.get(name)
        if wire is None or name in ("name", "owner", "rev", "configs"):
            raise ValueError(f"{name!r} is not a bucket attribute that can be changed")
        if value is None or value == () or value is False:
            unset.append(wire)
        elif name == "cors":
            set_[wire] = [r.to_wire() for r in value]
        else:
            set_[wire] = value
    return set_, unset
