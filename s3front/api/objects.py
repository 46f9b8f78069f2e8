"""Object operations: PutObject, GetObject, HeadObject, DeleteObject."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from s3front.api.common import (RESPONSE_OVERRIDES, etag, object_headers, object_owner, request_acl, requester_party,
                                version_header)
from s3front.api.conditions import check_read_conditions, write_condition
from s3front.api.store import commit, put_location, write_data
from s3front.body import BodyReader, body_length, stored_content_encoding
from s3front.authorize import may_bypass_governance
from s3front.lifecycle.rules import expiration_headers, has_lifecycle
from s3front.notify import accessed, event_request
from s3front.request import S3Request, S3Response, version_param
from s3front.sse.data import SealedStream, Sealing, for_write, open_range, read_headers, read_key
from s3front.sse.headers import WRITE, CustomerKey
from s3front.tagging import TAGS, parse_tagging_header
from shared import constants as C
from shared.contract.data import DataStream
from shared.contract.metadata import DeleteResult, Garbage, WriteCondition, WriteResult
from shared.contract.records import (STORED_HEADERS, USER_METADATA_PREFIX, BucketInfo, ChecksumValue, ObjectMD,
                                     Piece)
from shared.errors import S3Error
from shared.object_lock import (LEGAL_HOLD, RETENTION, check_lock_allowed, config_from_json,
                                new_version_retention, parse_lock_headers, retention_to_json)
from shared.models import NULL_VERSION, encode_version_id, external_version_id, iso_now
from shared.params import ascii_part_number
from shared.ranges import Unsatisfiable, parse_range


def user_metadata(headers: dict[str, str]) -> dict[str, str]:
    """The x-amz-meta-* headers, within the 2 KB that S3 allows."""
    meta = {k: v for k, v in headers.items() if k.startswith(USER_METADATA_PREFIX)}
    size = sum(len(k[len(USER_METADATA_PREFIX):].encode()) + len(v.encode()) for k, v in meta.items())
    if size > C.MAX_USER_METADATA_BYTES:
        raise S3Error("MetadataTooLarge", Size=size, MaxSizeAllowed=C.MAX_USER_METADATA_BYTES)
    return meta


def stored_headers(req: S3Request) -> dict[str, str]:
    """The content headers an object keeps as they were given."""
    headers = {name: req.headers[name] for name in STORED_HEADERS if name in req.headers}
    headers.pop("content-encoding", None)       # aws-chunked is transfer framing, not the object's encoding
    encoding = stored_content_encoding(req.headers)
    if encoding:
        headers["content-encoding"] = encoding
    return headers


def new_object_md(req: S3Request, size: int, md5: str, pieces: tuple[Piece, ...],
                  sealing: Sealing | None = None) -> ObjectMD:
    """A new object's metadata; an encrypted one (`sealing`) records its encryption and gets its ETag."""
    owner_id, owner_name = object_owner(req)
    extra: dict[str, Any] = {}
    tags = request_tags(req)
    if tags:
        extra[TAGS] = tags
    extra.update(request_lock(req))
    return ObjectMD(size=size, etag=md5 if sealing is None else sealing.etag(md5), last_modified=iso_now(),
                    owner_id=owner_id, owner_name=owner_name,
                    storage_class=req.headers.get("x-amz-storage-class", "STANDARD"), headers=stored_headers(req),
                    user_metadata=user_metadata(req.headers), pieces=pieces, extra=extra,
                    sse=None if sealing is None else sealing.wire())


def request_lock(req: S3Request) -> dict[str, Any]:
    """The Object Lock fields of a new version: the x-amz-object-lock-* headers, else the bucket's
    default retention; InvalidArgument/InvalidRequest if the headers are wrong or the bucket has no lock."""
    now = time.time()
    retention, hold = parse_lock_headers(req.headers, now)
    lock = req.access.bucket.object_lock
    check_lock_allowed(lock is not None, retention, hold)
    if lock is None:
        return {}
    fields: dict[str, Any] = {}
    retention = new_version_retention(retention, config_from_json(lock), now)
    if retention is not None:
        fields[RETENTION] = retention_to_json(retention)
    if hold is not None:
        fields[LEGAL_HOLD] = hold
    return fields


def request_tags(req: S3Request) -> dict[str, str] | None:
    """The tags x-amz-tagging asks for (InvalidTag and friends if it is wrong), or None."""
    value = req.headers.get("x-amz-tagging")
    return None if value is None else parse_tagging_header(value)


def checksum_headers(checksum: ChecksumValue) -> dict[str, str]:
    return {f"x-amz-checksum-{checksum.algorithm}": checksum.value, "x-amz-checksum-type": checksum.type}


async def put_object(req: S3Request) -> S3Response:
    if "versionId" in req.query:
        raise S3Error("InvalidArgument", "This operation does not accept a version-id.",
                      ArgumentName="versionId", ArgumentValue=req.query["versionId"])
    check_new_object(req)
    length = body_length(req)
    condition = write_condition(req.headers)
    reader = BodyReader(req, length, C.DEFAULT_CHECKSUM)
    md, result, sealing = await store_object(req, reader, condition)
    bucket = req.access.bucket
    headers = new_object_headers(md, result, bucket, sealing)
    if has_lifecycle(bucket):
        headers.update(await expiration_headers(req.frontend.metadata, bucket, req.key, md))
    return with_gc(req, S3Response(200, headers), result.garbage)


def check_new_object(req: S3Request) -> None:
    """A new object's metadata, tags and lock headers, refused before any byte is stored."""
    user_metadata(req.headers)
    request_tags(req)
    request_lock(req)


async def store_object(req: S3Request, reader: BodyReader, condition: WriteCondition | None = None,
                       event: str = "s3:ObjectCreated:Put") -> tuple[ObjectMD, WriteResult, Sealing | None]:
    """The write path of a new object from its request headers and `reader`'s bytes (PutObject,
    PostObject, whose form fields are the headers): encrypt as the headers or the bucket's default
    say, stream the bytes to the data location, then commit the version."""
    acl = request_acl(req, requester_party(req)[0], req.access.bucket.owner)
    location = put_location(req)       # before any byte is read: InvalidStorageClass and friends
    sealing = await for_write(req)
    pieces = await write_data(req, reader, sealing, location=location)
    md = new_object_md(req, reader.length, reader.etag, pieces, sealing)
    md.acl = acl.get("acl")
    md.checksum = reader.verify()
    result = await commit(req, req.frontend.metadata.put_object(req.bucket, req.key, md, condition,
                                                                 event_request(req, event)), pieces)
    return md, result, sealing


def new_object_headers(md: ObjectMD, result: WriteResult, bucket: BucketInfo,
                       sealing: Sealing | None = None) -> dict[str, str]:
    """What a new object's answer says of it: ETag, version id, encryption, checksum."""
    headers = {"ETag": etag(md), **put_version_header(result, bucket)}
    if sealing is not None:
        headers.update(sealing.headers(WRITE))
    if md.checksum:
        headers.update(checksum_headers(md.checksum))
    return headers


def put_version_header(result: WriteResult, bucket: BucketInfo) -> dict[str, str]:
    # The state the daemon applied under its lock wins over the one read before the body.
    # Only an Enabled bucket names the new version: a null version (never-versioned or Suspended) has none.
    if (result.versioning or bucket.versioning) != "Enabled":
        return {}
    return {"x-amz-version-id": NULL_VERSION if result.is_null else encode_version_id(result.version_id)}


def with_gc(req: S3Request, resp: S3Response, garbage: tuple[Garbage, ...] | list[Garbage]) -> S3Response:
    """Delete the data a committed change dropped once the client has its answer."""
    if garbage:
        resp.after.append(lambda: req.frontend.collect(garbage))
    return resp


def read_target(req: S3Request) -> tuple[BucketInfo, ObjectMD]:
    """(bucket, object version) of a GET or HEAD, with delete markers answered as S3 does."""
    access = req.access
    bucket, md, version_id = access.bucket, access.object, access.version_id
    if md is None:
        # s3-tests' test_delete_marker_nonversioned (not marked fails_on_aws) reads "false" here
        raise S3Error("NoSuchKey", headers={"x-amz-delete-marker": "false"}, Key=req.key)
    if md.is_delete_marker:
        headers = {"x-amz-delete-marker": "true", **version_header(md, bucket)}
        if version_id is not None:
            raise S3Error("MethodNotAllowed", headers={**headers, "Last-Modified": md.last_modified},
                          Method=req.method, ResourceType="DeleteMarker")
        raise S3Error("NoSuchKey", headers=headers, Key=req.key)
    return bucket, md


def _answer_headers(req: S3Request, md: ObjectMD, bucket: BucketInfo) -> dict[str, str]:
    headers = object_headers(req, md, bucket)
    if req.auth and req.auth.account is not None:
        for param, header in RESPONSE_OVERRIDES.items():
            if param in req.query:
                headers[header] = req.query[param]
    return headers


def _byte_range(req: S3Request, size: int) -> tuple[int, int] | None:
    header = req.headers.get("range")
    if header is None or "," in header:
        return None          # S3 ignores a multi-range header and serves the whole object
    try:
        return parse_range(header, size)
    except Unsatisfiable:
        raise S3Error("InvalidRange", headers={"Content-Range": f"bytes */{size}"},
                      ActualObjectSize=size, RangeRequested=header) from None


def _part_or_byte_range(req: S3Request, md: ObjectMD, headers: dict[str, str]) -> tuple[int, int] | None:
    """The bytes a GET or HEAD asks for: `?partNumber=N` (a part of a multipart object) or a Range header."""
    raw = req.query.get("partNumber")
    if raw is None:
        return _byte_range(req, md.size)
    n = ascii_part_number(raw)
    if "range" in req.headers:
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
    if not md.is_multipart:         # the whole object is its only part
        if n != 1:
            raise S3Error("InvalidPart", PartNumberRequested=n, ActualPartCount=1)
        return (0, md.size - 1) if md.size else None
    count = md.part_count
    pieces = [p for p in md.pieces if p.part_number == n]
    if n > count or not pieces:
        # 400 InvalidPart, as S3 answers a part number the object does not have (s3-tests agree)
        raise S3Error("InvalidPart", PartNumberRequested=n, ActualPartCount=count)
    headers["x-amz-mp-parts-count"] = str(count)
    _part_checksum(req, md, n, headers)
    return pieces[0].start, pieces[-1].end


def _part_checksum(req: S3Request, md: ObjectMD, n: int, headers: dict[str, str]) -> None:
    """In checksum mode, one part of a multipart object answers with that part's checksum."""
    checksum = md.checksum
    if not checksum or req.headers.get("x-amz-checksum-mode", "").upper() != "ENABLED":
        return
    for part in md.parts:
        if part.number == n and part.checksum:
            headers[f"x-amz-checksum-{checksum.algorithm}"] = part.checksum
            headers["x-amz-checksum-type"] = checksum.type


async def get_object(req: S3Request) -> S3Response:
    bucket, md = read_target(req)
    check_read_conditions(req.headers, md)
    size = md.size
    headers = _answer_headers(req, md, bucket)
    if has_lifecycle(bucket) and req.access.version_id is None:    # the current version, which rules expire
        headers.update(await expiration_headers(req.frontend.metadata, bucket, req.key, md))
    rng = _part_or_byte_range(req, md, headers)
    customer = read_key(req, md)        # after the part number's checks, as s3-tests expect of AWS
    if md.sse is not None:
        headers.update(read_headers(md, customer))
    status, (start, end) = (206, rng) if rng else (200, (0, size - 1))
    if rng:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1 if size else 0)
    body: bytes | PieceStream | SealedStream = b""
    if size:
        body = await open_object(req, md, start, end, customer)
        body = body.ready() or body     # a small object is sent in one piece, without a stream
    return accessed(req, S3Response(status, headers, body), "s3:ObjectAccessed:Get", md.version_id)


async def head_object(req: S3Request) -> S3Response:
    bucket, md = read_target(req)
    check_read_conditions(req.headers, md)
    headers = _answer_headers(req, md, bucket)
    if has_lifecycle(bucket) and req.access.version_id is None:    # the current version, which rules expire
        headers.update(await expiration_headers(req.frontend.metadata, bucket, req.key, md))
    size = md.size
    rng = _part_or_byte_range(req, md, headers)
    customer = read_key(req, md)
    if md.sse is not None:
        headers.update(read_headers(md, customer))
    if rng:
        headers["Content-Range"] = f"bytes {rng[0]}-{rng[1]}/{size}"
        headers["Content-Length"] = str(rng[1] - rng[0] + 1)
        return accessed(req, S3Response(206, headers), "s3:ObjectAccessed:Head", md.version_id)
    headers["Content-Length"] = str(size)
    return accessed(req, S3Response(200, headers), "s3:ObjectAccessed:Head", md.version_id)


async def open_object(req: S3Request, md: ObjectMD, start: int, end: int, customer: CustomerKey | None = None,
                      source: bool = False) -> PieceStream | SealedStream:
    """Plaintext bytes [start, end] of an object (the copy source, with `source`), decrypted if it is
    encrypted (`customer`: its SSE-C key)."""
    if md.sse is not None:
        return await open_range(req, md, start, end, customer, source)
    return await open_pieces(req, md.pieces, start, end)


async def open_pieces(req: S3Request, pieces: tuple[Piece, ...], start: int, end: int) -> PieceStream:
    """Bytes [start, end] of an object stitched from its pieces; the first piece opens before headers go out."""
    wanted = [p for p in pieces if p.start <= end and p.end >= start]
    if not wanted:
        raise S3Error("InternalError")
    ranges = [(p, max(start, p.start) - p.start, min(end, p.end) - p.start) for p in wanted]
    return PieceStream(req, await req.frontend.data.open(*ranges[0]), ranges[1:])


class PieceStream:
    """The pieces of an object read one after the other; `aclose` releases whichever is open."""

    def __init__(self, req: S3Request, first: DataStream, rest: list[tuple[Piece, int, int]]) -> None:
        self._req, self._current, self._rest = req, first, rest

    def ready(self) -> bytes | None:
        """All the bytes at once when there is one piece and it has already arrived."""
        return None if self._rest else self._current.ready()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            async for chunk in self._current:
                yield chunk
            await self._current.aclose()
            if not self._rest:
                return
            self._current = await self._req.frontend.data.open(*self._rest.pop(0))

    async def aclose(self) -> None:
        await self._current.aclose()


def delete_marker(req: S3Request) -> ObjectMD:
    """What a delete marker the request stacks records: when, and who."""
    owner_id, owner_name = requester_party(req)
    return ObjectMD(last_modified=iso_now(), owner_id=owner_id, owner_name=owner_name)


async def delete_object(req: S3Request) -> S3Response:
    # With a versionId the routing table asks DELETE_VERSION (the bucket owner), else WRITE.
    version_id = version_param(req)
    result: DeleteResult = await req.frontend.metadata.delete_object(
        req.bucket, req.key, version_id, delete_marker(req), bypass_governance=may_bypass_governance(req),
        event=event_request(req, ""))
    headers: dict[str, str] = {}
    if result.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    if version_id is not None:
        headers["x-amz-version-id"] = req.query["versionId"]
    elif result.delete_marker:
        headers["x-amz-version-id"] = external_version_id(result.version_id, result.is_null)
    return with_gc(req, S3Response(204, headers), result.garbage)


HANDLERS = {
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "DeleteObject": delete_object,
}
