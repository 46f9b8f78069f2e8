"""CopyObject, and what UploadPartCopy shares with it: reading the copy source and copying its bytes.

Bytes are always copied into a new data key: two objects never share data, so deleting one
can never take the other's bytes with it.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

from s3front.api.common import request_acl, requester_party
from s3front.api.conditions import check_read_conditions, write_condition
from s3front.api.objects import new_object_md, open_object, put_version_header, request_tags, user_metadata, with_gc
from s3front.api.store import commit, put_location, write_stream
from s3front.notify import event_request
from s3front.request import S3Request, S3Response, xml_response
from s3front.sse.data import Sealing, for_write, read_key
from s3front.sse.headers import WRITE
from s3front.tagging import REPLACE, TAGS, tagging_directive
from s3front.xml import Node, document
from shared import constants as C
from shared.checksums import ALGORITHMS, Checksum
from shared.contract.records import BucketInfo, ChecksumValue, ObjectMD, Piece
from shared.errors import S3Error
from shared.models import external_version_id

# The copy-source conditions, named as the GET conditions they mirror.
_SOURCE_CONDITIONS = {"x-amz-copy-source-if-match": "if-match", "x-amz-copy-source-if-none-match": "if-none-match",
                      "x-amz-copy-source-if-modified-since": "if-modified-since",
                      "x-amz-copy-source-if-unmodified-since": "if-unmodified-since"}
# Headers that make a copy of an object onto itself legal: they change something about it.
_SELF_COPY_CHANGES = ("x-amz-storage-class", "x-amz-website-redirect-location", "x-amz-server-side-encryption")
_SELF_COPY = ("This copy request is illegal because it is trying to copy an object to itself without changing "
              "the object's metadata, storage class, website redirect location or encryption attributes.")
# Stored headers that belong to the write, never copied from the source's metadata.
_NOT_COPIED = ("x-amz-website-redirect-location",)


def check_source_conditions(headers: dict[str, str], md: ObjectMD) -> None:
    """x-amz-copy-source-if-*: evaluated as GET's conditions are, but every failure is 412."""
    mapped = {plain: headers[name] for name, plain in _SOURCE_CONDITIONS.items() if name in headers}
    if not mapped:
        return
    try:
        check_read_conditions(mapped, md)
    except S3Error as exc:
        if exc.code == "NotModified":
            raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-None-Match") from None
        raise


def copy_source(req: S3Request) -> tuple[BucketInfo, ObjectMD]:
    """(bucket, object version) of the copy source (authorized), with its conditions met."""
    access = req.access
    attrs, md, key, version_id = access.source_bucket, access.source, access.source_key, access.source_version_id
    if md is None or (md.is_delete_marker and version_id is None):
        raise S3Error("NoSuchKey", Key=key)
    if md.is_delete_marker:
        raise S3Error("InvalidRequest", "The source of a copy request may not specifically refer to a delete "
                                        "marker by version id.")
    check_source_conditions(req.headers, md)
    return attrs, md


async def copy_bytes(req: S3Request, md: ObjectMD, first: int, last: int, algorithm: str | None = None,
                     sealing: Sealing | None = None, *,
                     location: str) -> tuple[tuple[Piece, ...], str, ChecksumValue | None]:
    """Copy bytes [first, last] of an object into a new data key of a location (any location: the
    bytes stream from where they are to there): (pieces, MD5 hex, checksum or None).

    An encrypted source is decrypted (its SSE-C key from the x-amz-copy-source-...-customer-* headers)
    and the copy sealed anew with `sealing`: the destination's encryption, never the source's keys.
    """
    md5 = hashlib.md5()
    checksum = Checksum(algorithm) if algorithm else None
    length = last - first + 1 if md.size else 0
    pieces: tuple[Piece, ...] = ()
    customer = read_key(req, md, source=True)
    if length > 0:
        source = await open_object(req, md, first, last, customer, source=True)

        async def hashed():
            try:
                async for chunk in source:
                    md5.update(chunk)
                    if checksum:
                        checksum.update(chunk)
                    yield chunk
            finally:
                await source.aclose()

        pieces = await write_stream(req, hashed(), length, sealing, location=location)
    summary = ChecksumValue(checksum.algorithm, checksum.b64()) if checksum else None
    return pieces, md5.hexdigest(), summary


def _directive(req: S3Request) -> str:
    value = req.headers.get("x-amz-metadata-directive", "COPY")
    if value not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.", ArgumentName="x-amz-metadata-directive",
                      ArgumentValue=value)
    return value


def _checksum_algorithm(req: S3Request, source: ObjectMD) -> str:
    """The checksum the copy keeps: the one asked for, else the source's algorithm, else S3's default."""
    value = req.headers.get("x-amz-checksum-algorithm")
    if value is not None:
        if value.lower() not in ALGORITHMS:
            raise S3Error("InvalidRequest", f"Checksum algorithm {value} is not supported.")
        return value.lower()
    return source.checksum.algorithm if source.checksum else C.DEFAULT_CHECKSUM


def _check_not_self_copy(req: S3Request, directive: str) -> None:
    access = req.access
    bucket, key, version_id = access.source_bucket.name, access.source_key, access.source_version_id
    if bucket != req.bucket or key != req.key or version_id is not None or directive == "REPLACE":
        return
    if any(h.startswith(_SELF_COPY_CHANGES) for h in req.headers):
        return
    raise S3Error("InvalidRequest", _SELF_COPY)


def _destination_md(req: S3Request, source: ObjectMD, directive: str, md5: str, pieces: tuple[Piece, ...],
                    sealing: Sealing | None) -> ObjectMD:
    """The new object's metadata: its content headers and user metadata from the request or the source."""
    md = new_object_md(req, source.size, md5, pieces, sealing)
    if directive == "REPLACE":
        return md
    own = {k: v for k, v in md.headers.items() if k in _NOT_COPIED}
    copied = {k: v for k, v in source.headers.items() if k not in _NOT_COPIED}
    return replace(md, headers={**copied, **own}, user_metadata=dict(source.user_metadata))


def _copy_tags(md: ObjectMD, source: ObjectMD, directive: str) -> None:
    """x-amz-tagging-directive: the source's tags (COPY, the default) or the request's (REPLACE)."""
    if directive == REPLACE:
        return                   # new_object_md took x-amz-tagging, if any
    md.extra.pop(TAGS, None)
    if source.extra.get(TAGS):
        md.extra[TAGS] = source.extra[TAGS]


async def copy_object(req: S3Request) -> S3Response:
    if "versionId" in req.query:
        raise S3Error("InvalidArgument", "This operation does not accept a version-id.",
                      ArgumentName="versionId", ArgumentValue=req.query["versionId"])
    directive = _directive(req)
    if directive == "REPLACE":
        user_metadata(req.headers)
    tags_directive = tagging_directive(req.headers.get("x-amz-tagging-directive"))
    request_tags(req)
    condition = write_condition(req.headers)
    bucket = req.access.bucket
    acl = request_acl(req, requester_party(req)[0], bucket.owner)
    _check_not_self_copy(req, directive)
    location = put_location(req)
    source_bucket, source = copy_source(req)
    size = source.size
    if size > C.MAX_PUT_BYTES:
        raise S3Error("InvalidRequest", "The specified copy source is larger than the maximum allowable size for a "
                                        f"copy source: {C.MAX_PUT_BYTES}")
    sealing = await for_write(req)
    pieces, md5, checksum = await copy_bytes(req, source, 0, size - 1, _checksum_algorithm(req, source), sealing,
                                             location=location)
    md = _destination_md(req, source, directive, md5, pieces, sealing)
    md.acl, md.checksum = acl.get("acl"), checksum
    _copy_tags(md, source, tags_directive)
    event = event_request(req, "s3:ObjectCreated:Copy")
    result = await commit(req, req.frontend.metadata.put_object(req.bucket, req.key, md, condition, event), pieces)
    headers = put_version_header(result, bucket)
    if source_bucket.versioning is not None:
        headers["x-amz-copy-source-version-id"] = external_version_id(source.version_id, source.is_null)
    if sealing is not None:
        headers.update(sealing.headers(WRITE))
    children: list[Node] = [("LastModified", md.last_modified), ("ETag", f'"{md.etag}"')]
    if checksum:
        children += [(f"Checksum{checksum.algorithm.upper()}", checksum.value), ("ChecksumType", "FULL_OBJECT")]
    return with_gc(req, xml_response(document("CopyObjectResult", children), headers=headers), result.garbage)


HANDLERS = {
    "CopyObject": copy_object,
}
