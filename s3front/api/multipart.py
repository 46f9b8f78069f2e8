"""Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts, ListMultipartUploads.

The decisions (is the upload open, which parts make the object, versioning) are the metadata
daemon's, in one call each; a handler streams bytes, validates the request and renders XML.
"""
from __future__ import annotations

import re
from urllib.parse import quote
from xml.etree.ElementTree import Element

from s3front.api.common import object_owner, request_acl, requester_party
from s3front.api.copy import copy_bytes, copy_source
from s3front.api.listing import encoder, max_keys, prefixes_nodes
from s3front.api.objects import new_object_md, put_version_header, user_metadata, with_gc
from s3front.api.store import commit, put_location, write_data
from s3front.api.conditions import write_condition
from s3front.body import BodyReader, body_length, object_checksum_header, read_small_body
from s3front.lifecycle.rules import upload_abort_headers
from s3front.notify import event_request
from s3front.request import S3Request, S3Response, upload_id, xml_response
from s3front.sse.data import Sealing, for_part, for_write
from s3front.sse.headers import COMPLETE, PART, WRITE, ObjectSse, check_complete, parse_part
from s3front.xml import MAX_XML_BODY, Node, child_text, document, parse
from shared import constants as C
from shared.checksums import ALGORITHMS, header_name, upload_checksum_type
from shared.contract.listings import (CompletedPart, PartInfo, Party, UploadInfo, UploadsPage, UploadsQuery,
                                     upload_may_be_encrypted)
from shared.contract.records import ChecksumValue, Piece
from shared.errors import S3Error
from shared.models import iso_now
from shared.params import ascii_int, ascii_part_number, parse_int

_XML_CHECKSUMS = {f"Checksum{name.upper()}": name for name in ALGORITHMS}
_COPY_RANGE = re.compile(r"^bytes=([0-9]+)-([0-9]+)$")      # ASCII digits: \d takes any script's


def part_number(req: S3Request) -> int:
    """The partNumber query parameter, an integer in 1..10000."""
    return ascii_part_number(req.query.get("partNumber", ""))


def _checksum_algorithm(req: S3Request) -> str | None:
    value = req.headers.get("x-amz-checksum-algorithm")
    if value is None:
        return None
    if value.lower() not in ALGORITHMS:
        raise S3Error("InvalidRequest", f"Checksum algorithm {value} is not supported.")
    return value.lower()


def _party(req: S3Request) -> Party:
    return Party(*requester_party(req))


async def create_multipart_upload(req: S3Request) -> S3Response:
    user_metadata(req.headers)
    bucket = req.access.bucket
    sealing = await for_write(req)
    # The ACL asked for now is the completed object's: completion applies the upload's md.
    md = new_object_md(req, 0, "", (), sealing)
    md.acl = request_acl(req, requester_party(req)[0], bucket.owner).get("acl")
    algorithm = _checksum_algorithm(req)
    kind = upload_checksum_type(algorithm, req.headers.get("x-amz-checksum-type"))
    upload = UploadInfo(_party(req), Party(*object_owner(req)), md.storage_class, algorithm, kind, md,
                        location=put_location(req))
    uid = await req.frontend.metadata.initiate_multipart_upload(req.bucket, req.key, upload)
    headers = {"x-amz-checksum-algorithm": algorithm.upper(), "x-amz-checksum-type": kind} if algorithm else {}
    headers.update(await upload_abort_headers(req.frontend.metadata, bucket, req.key))
    if sealing is not None:
        headers.update(sealing.headers(WRITE))
    body = document("InitiateMultipartUploadResult", [("Bucket", req.bucket), ("Key", req.key), ("UploadId", uid)])
    return xml_response(body, headers=headers)


async def _upload_location(req: S3Request) -> str:
    """Where an upload's parts go: the location chosen when it was initiated. Read only when there
    is a choice (one location configured: no extra metadata call); a gone upload is NoSuchUpload."""
    data = req.frontend.data
    if len(data.backends) == 1:
        return data.default
    upload = req.access.upload
    if upload is None:
        upload = (await req.frontend.metadata.list_parts(req.bucket, upload_id(req), 0, 0, key=req.key)).upload
    return upload.location or req.frontend.placement.object(req.access.bucket.location, None, None)


async def upload_sse(req: S3Request, uid: str) -> ObjectSse | None:
    """The encryption of an upload: asked of the daemon only when the upload id says it may have one."""
    if not upload_may_be_encrypted(uid):
        return None
    page = await req.frontend.metadata.list_parts(req.bucket, uid, 0, 0, key=req.key)
    sse = page.upload.sse if page.upload is not None else None
    return None if sse is None else ObjectSse.from_dict(sse)


async def part_sealing(req: S3Request) -> Sealing | None:
    """How this part is encrypted: as its upload is (with the SSE-C key again, for SSE-C)."""
    uid = upload_id(req)
    return for_part(req, await upload_sse(req, uid), part_number(req))


async def _store_part(req: S3Request, pieces: tuple[Piece, ...], etag: str, size: int,
                      checksum: ChecksumValue | None) -> list:
    """Record a part whose data is durable; the data is deleted if the upload turns out to be gone."""
    part = PartInfo(etag, size, pieces, iso_now(), checksum)
    write = req.frontend.metadata.put_part(req.bucket, req.key, upload_id(req), part_number(req), part)
    return await commit(req, write, pieces)


async def upload_part(req: S3Request) -> S3Response:
    upload_id(req)
    part_number(req)
    length = body_length(req, C.MAX_PUT_BYTES)
    sealing = await part_sealing(req)
    location = await _upload_location(req)
    reader = BodyReader(req, length)
    pieces = await write_data(req, reader, sealing, location=location)
    checksum = reader.verify()
    etag = reader.etag if sealing is None else sealing.etag(reader.etag)
    garbage = await _store_part(req, pieces, etag, reader.length, checksum)
    headers = {"ETag": f'"{etag}"'}
    if checksum:
        headers[header_name(checksum.algorithm)] = checksum.value
    if sealing is not None:
        headers.update(sealing.headers(PART))
    return with_gc(req, S3Response(200, headers), garbage)


async def upload_part_copy(req: S3Request) -> S3Response:
    upload_id(req)
    part_number(req)
    sealing = await part_sealing(req)
    pieces, etag, size = await _copy_part(req, sealing)
    garbage = await _store_part(req, pieces, etag, size, None)
    body = document("CopyPartResult", [("LastModified", iso_now()), ("ETag", f'"{etag}"')])
    headers = sealing.headers(PART) if sealing is not None else {}
    return with_gc(req, xml_response(body, headers=headers), garbage)


def _copy_range(req: S3Request, size: int) -> tuple[int, int]:
    """x-amz-copy-source-range (only `bytes=first-last`, within the source), else the whole source."""
    header = req.headers.get("x-amz-copy-source-range")
    if header is None:
        if size > C.MAX_PUT_BYTES:
            raise S3Error("InvalidRequest", "The specified copy source is larger than the maximum allowable size "
                                            f"for a copy source: {C.MAX_PUT_BYTES}")
        return 0, size - 1
    m = _COPY_RANGE.match(header.strip())
    first, last = (parse_int(m.group(1)), parse_int(m.group(2))) if m else (None, None)
    if first is None or last is None or last < first:
        raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last "
                                         "where first and last are the zero-based offsets of the first and last "
                                         "bytes to copy",
                      ArgumentName="x-amz-copy-source-range", ArgumentValue=header)
    if last >= size:
        raise S3Error("InvalidRange", f"Range specified is not valid for source object of size: {size}",
                      status=416, RangeRequested=header, ActualObjectSize=size)
    return first, last


async def _copy_part(req: S3Request, sealing: Sealing | None) -> tuple[tuple[Piece, ...], str, int]:
    """Copy a byte range of the source into new data (keys are never shared): (pieces, ETag, size)."""
    _, md = copy_source(req)
    size = md.size
    first, last = _copy_range(req, size)
    pieces, md5, _ = await copy_bytes(req, md, first, last, sealing=sealing, location=await _upload_location(req))
    return pieces, md5 if sealing is None else sealing.etag(md5), last - first + 1 if size else 0


def parse_complete(body: bytes) -> list[CompletedPart]:
    """The parts a CompleteMultipartUpload body lists, with the checksums each names."""
    if not body.strip():
        raise S3Error("MalformedXML")
    root = parse(body)
    if root.tag != "CompleteMultipartUpload":
        raise S3Error("MalformedXML")
    parts = [_parse_part(el) for el in root if el.tag == "Part"]
    if not parts:
        raise S3Error("MalformedXML")
    return parts


def _parse_part(el: Element) -> CompletedPart:
    number, etag = child_text(el, "PartNumber"), child_text(el, "ETag")
    # Not an integer does not validate against AWS's schema; an integer out of 1..10000 is refused as such.
    if number is None or etag is None or parse_int(number.strip(), signed=True) is None:
        raise S3Error("MalformedXML")
    checksums = {algorithm: value for tag, algorithm in _XML_CHECKSUMS.items()
                 if (value := child_text(el, tag)) is not None}
    return CompletedPart(ascii_part_number(number.strip(), "PartNumber"), etag.strip(), checksums)


def _object_url(req: S3Request) -> str:
    host = req.headers.get("host", "localhost")
    return f"http://{host}/{req.bucket}/{quote(req.key or '', safe='/')}"


async def complete_multipart_upload(req: S3Request) -> S3Response:
    uid = upload_id(req)
    bucket = req.access.bucket
    condition, announced = write_condition(req.headers), object_checksum_header(req.headers)
    parts = parse_complete(await read_small_body(req, MAX_XML_BODY, body_checksums=False))
    sse = await upload_sse(req, uid)
    customer = parse_part(req.headers, req.secure, req.frontend.sse.allow_http)
    check_complete(sse, customer)
    # The object's metadata is the upload's; the daemon sets its size, ETag, pieces and Last-Modified.
    result = await req.frontend.metadata.complete_multipart_upload(req.bucket, req.key, uid, parts,
                                                                   condition=condition, checksum=announced,
                                                                   event=event_request(req, ""))
    checksum = result.checksum
    children: list[Node] = [("Location", _object_url(req)), ("Bucket", req.bucket), ("Key", req.key),
                            ("ETag", f'"{result.etag}"')]
    if checksum:
        children.append((f"Checksum{checksum.algorithm.upper()}", checksum.value))
        children.append(("ChecksumType", checksum.type))
    headers = put_version_header(result.write, bucket)
    if sse is not None:
        headers.update(Sealing(sse, customer).headers(COMPLETE))
    resp = xml_response(document("CompleteMultipartUploadResult", children), headers=headers)
    return with_gc(req, resp, result.write.garbage)


async def abort_multipart_upload(req: S3Request) -> S3Response:
    uid = upload_id(req)
    garbage = await req.frontend.metadata.abort_multipart_upload(req.bucket, req.key, uid)
    return with_gc(req, S3Response(204), garbage)


def _marker(req: S3Request, name: str) -> int:
    raw = req.query.get(name)
    return 0 if raw is None else ascii_int(raw, name, 0, C.MAX_INT32)


def _parties(upload: UploadInfo) -> list[Node]:
    initiator, owner = upload.initiator, upload.owner
    return [("Initiator", [("ID", initiator.id), ("DisplayName", initiator.display_name)]),
            ("Owner", [("ID", owner.id), ("DisplayName", owner.display_name)])]


def _part_node(part: PartInfo) -> Node:
    children: list[Node] = [("PartNumber", part.number), ("LastModified", part.last_modified or None),
                            ("ETag", f'"{part.etag}"'), ("Size", part.size)]
    if part.checksum:
        children.append((f"Checksum{part.checksum.algorithm.upper()}", part.checksum.value))
    return ("Part", children)


async def list_parts(req: S3Request) -> S3Response:
    uid = upload_id(req)
    marker = _marker(req, "part-number-marker")
    echo, wanted = max_keys(req, "max-parts")
    page = await req.frontend.metadata.list_parts(req.bucket, uid, marker, wanted, key=req.key)
    upload, parts = page.upload, page.parts
    children: list[Node] = [("Bucket", req.bucket), ("Key", req.key), ("UploadId", uid),
                            ("PartNumberMarker", marker),
                            ("NextPartNumberMarker", parts[-1].number if parts else None),
                            ("MaxParts", echo), ("IsTruncated", page.is_truncated)]
    children += [_part_node(p) for p in parts]
    children += _parties(upload)
    children.append(("StorageClass", upload.storage_class))
    algorithm = upload.checksum_algorithm
    children.append(("ChecksumAlgorithm", algorithm.upper() if algorithm else None))
    children.append(("ChecksumType", upload.checksum_type if algorithm else None))
    return xml_response(document("ListPartsResult", children))


def _upload_node(upload: UploadInfo, enc) -> Node:
    return ("Upload", [("Key", enc(upload.key)), ("UploadId", upload.upload_id), *_parties(upload),
                       ("StorageClass", upload.storage_class), ("Initiated", upload.initiated or None)])


async def list_multipart_uploads(req: S3Request) -> S3Response:
    enc = encoder(req)
    echo, wanted = max_keys(req, "max-uploads")
    q = req.query
    query = UploadsQuery(q.get("prefix", ""), q.get("delimiter") or None, wanted, q.get("key-marker") or None,
                         q.get("upload-id-marker") or None)
    page = UploadsPage([], [], False) if wanted == 0 else \
        await req.frontend.metadata.list_multipart_uploads(req.bucket, query)
    truncated = page.is_truncated
    children: list[Node] = [("Bucket", req.bucket), ("KeyMarker", enc(q.get("key-marker", ""))),
                            ("UploadIdMarker", q.get("upload-id-marker", ""))]
    if truncated:
        children += [("NextKeyMarker", enc(page.next_key_marker)), ("NextUploadIdMarker", page.next_upload_id_marker)]
    children += [("Delimiter", enc(q.get("delimiter") or None)), ("Prefix", enc(q.get("prefix", ""))),
                 ("MaxUploads", echo), ("EncodingType", q.get("encoding-type")), ("IsTruncated", truncated)]
    children += [_upload_node(u, enc) for u in page.uploads]
    children += prefixes_nodes(page.common_prefixes, enc)
    return xml_response(document("ListMultipartUploadsResult", children))


HANDLERS = {
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "UploadPartCopy": upload_part_copy,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
}
