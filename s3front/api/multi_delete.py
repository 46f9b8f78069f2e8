"""DeleteObjects: up to 1000 keys in one request, each deleted as DeleteObject would, each answered on its own."""
from __future__ import annotations

import asyncio

from s3front.addressing import check_key
from s3front.api.objects import delete_marker
from s3front.authorize import may_bypass_governance, may_delete
from s3front.body import read_small_body
from s3front.notify import event_request
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import Node, child_text, document, parse
from shared import constants as C
from shared.checksums import ALGORITHMS
from shared.contract.metadata import DeleteResult, Garbage
from shared.contract.records import ObjectMD
from shared.errors import InternalError, S3Error
from shared.models import NULL_VERSION, decode_version_id, encode_version_id

Target = tuple[str, str | None]          # (key, version id as the client wrote it)


def has_integrity_header(headers: dict[str, str]) -> bool:
    """Content-MD5, or (as S3 now also accepts) an x-amz-checksum-* header or trailer."""
    if "content-md5" in headers:
        return True
    if any(f"x-amz-checksum-{algorithm}" in headers for algorithm in ALGORITHMS):
        return True
    return headers.get("x-amz-trailer", "").strip().lower().startswith("x-amz-checksum-")


def parse_delete(body: bytes) -> tuple[bool, list[Target]]:
    """(quiet, objects) of a <Delete> document; anything else, or more than 1000 objects, is MalformedXML."""
    root = parse(body, C.MULTI_DELETE_MAX_BODY)
    if root.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet = (child_text(root, "Quiet") or "false").strip().lower()
    if quiet not in ("true", "false"):
        raise S3Error("MalformedXML")
    targets = [_target(el) for el in root if el.tag == "Object"]
    if not targets or len(targets) > C.MULTI_DELETE_MAX_KEYS:
        raise S3Error("MalformedXML")
    return quiet == "true", targets


def _target(el) -> Target:
    key = child_text(el, "Key")          # kept verbatim: leading and trailing spaces are part of a key
    if not key:
        raise S3Error("MalformedXML")
    version = child_text(el, "VersionId")
    return key, None if version is None else version.strip()


def _deleted(key: str, version: str | None, result: DeleteResult) -> Node:
    children: list[Node] = [("Key", key), ("VersionId", version)]
    if result.delete_marker:
        marker_id = version if version is not None else \
            NULL_VERSION if result.is_null else encode_version_id(result.version_id)
        children += [("DeleteMarker", True), ("DeleteMarkerVersionId", marker_id)]
    return ("Deleted", children)


def _error(key: str, version: str | None, err: S3Error) -> Node:
    return ("Error", [("Key", key), ("VersionId", version), ("Code", err.code), ("Message", err.message)])


async def _delete_one(req: S3Request, target: Target, marker: ObjectMD, bypass: bool,
                      gate: asyncio.Semaphore, gc: list[Garbage]) -> Node:
    key, version = target
    try:
        check_key(key)
        if not may_delete(req, key, version is not None):
            # By the ACLs, only the bucket owner deletes a version for good; WRITE adds delete markers.
            raise S3Error("AccessDenied")
        try:
            version_id = None if version is None else decode_version_id(version)
        except S3Error:
            raise S3Error("NoSuchVersion") from None
        async with gate:
            result = await req.frontend.metadata.delete_object(req.bucket, key, version_id, marker,
                                                               bypass_governance=bypass, event=event_request(req, ""))
    except S3Error as exc:
        return _error(key, version, exc)
    except InternalError:
        return _error(key, version, S3Error("InternalError"))
    gc.extend(result.garbage)
    return _deleted(key, version, result)


async def delete_objects(req: S3Request) -> S3Response:
    attrs = req.access.bucket
    if not has_integrity_header(req.headers):
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")
    quiet, targets = parse_delete(await read_small_body(req, C.MULTI_DELETE_MAX_BODY))
    marker = delete_marker(req)
    gate, gc = asyncio.Semaphore(C.MULTI_DELETE_PARALLEL), []
    bypass = may_bypass_governance(req)
    nodes = await asyncio.gather(*(_delete_one(req, t, marker, bypass, gate, gc) for t in targets))
    deleted = tuple(target for target, node in zip(targets, nodes) if node[0] == "Deleted")
    if quiet:
        nodes = [n for n in nodes if n[0] == "Error"]
    resp = xml_response(document("DeleteResult", nodes))
    resp.deleted = deleted          # each one a BATCH.DELETE.OBJECT record in a logged bucket
    if gc:
        resp.after.append(lambda: req.frontend.collect(gc))
    return resp


HANDLERS = {
    "DeleteObjects": delete_objects,
}
