"""Bucket versioning: PutBucketVersioning, GetBucketVersioning, ListObjectVersions."""
from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from s3front.api.listing import encoder, max_keys, owner_node, prefixes_nodes, version_id_text
from s3front.body import read_small_body
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import Node, document, parse
from shared.errors import S3Error
from shared.models import NULL_VERSION, decode_version_id, encode_version_id
from shared.object_lock import LOCK_ATTR, check_versioning_change

ENABLED, SUSPENDED = "Enabled", "Suspended"
MAX_CONFIG_BODY = 64 * 1024
# The elements VersioningConfiguration may hold, and their allowed values (AWS validates against its schema).
_ALLOWED = {"Status": (ENABLED, SUSPENDED), "MfaDelete": ("Enabled", "Disabled", "")}


def parse_versioning(body: bytes) -> str:
    """The Status a VersioningConfiguration body asks for; AWS's errors for everything else."""
    if not body:
        raise S3Error("MissingRequestBodyError", "Request Body is empty")
    root = parse(body)
    # AWS does not check the root element's name (a <Delete> root with a Status is accepted).
    seen = _children(root)
    status = seen.get("Status", "")
    if not status:
        raise S3Error("IllegalVersioningConfigurationException", "The Versioning element must be specified")
    if seen.get("MfaDelete") == "Enabled":
        # Enabling MFA Delete needs an MFA device, which Coffer has no notion of.
        raise S3Error("NotImplemented", "MFA Delete is not supported.")
    return status


def _children(root: Element) -> dict[str, str]:
    seen: dict[str, str] = {}
    for child in root:
        allowed = _ALLOWED.get(child.tag)
        text = child.text or ""
        if allowed is None or child.tag in seen or len(child) or (text and text not in allowed):
            raise S3Error("MalformedXML")
        seen[child.tag] = text
    return seen


async def put_bucket_versioning(req: S3Request) -> S3Response:
    status = parse_versioning(await read_small_body(req, MAX_CONFIG_BODY))
    check_versioning_change(req.access.bucket.get(LOCK_ATTR) is not None, status)
    # The daemon writes it under the exclusive bucket lock: the next object write sees it.
    await req.frontend.metadata.update_bucket_attributes(req.bucket, set={"versioning": status})
    return S3Response(200)


async def get_bucket_versioning(req: S3Request) -> S3Response:
    attrs = req.access.bucket
    return xml_response(document("VersioningConfiguration", [("Status", attrs.get("versioning"))]))


def _markers(req: S3Request) -> tuple[str | None, str | None]:
    """(key-marker, internal version-id-marker or `null`), checked as AWS checks them."""
    key_marker = req.query.get("key-marker") or None
    raw = req.query.get("version-id-marker")
    if raw is None:
        return key_marker, None
    if key_marker is None:
        raise S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.",
                      ArgumentName="version-id-marker", ArgumentValue=raw)
    if raw == "":
        raise S3Error("InvalidArgument", "A version-id marker cannot be empty.",
                      ArgumentName="version-id-marker", ArgumentValue=raw)
    try:
        return key_marker, decode_version_id(raw)
    except S3Error:
        raise S3Error("InvalidArgument", "Invalid version id specified", ArgumentName="version-id-marker",
                      ArgumentValue=raw) from None


def _entry_node(entry: dict[str, Any], enc) -> Node:
    v = entry["value"]
    vid = entry.get("versionId") or v.get("versionId")
    head: list[Node] = [("Key", enc(entry["key"])), ("VersionId", version_id_text(vid, v)),
                        ("IsLatest", bool(entry.get("isLatest"))), ("LastModified", v.get("last-modified"))]
    if v.get("isDeleteMarker"):
        return ("DeleteMarker", head + [owner_node(v)])
    return ("Version", head + [("ETag", f'"{v.get("content-md5", "")}"'), ("Size", v.get("content-length", 0)),
                               owner_node(v), ("StorageClass", v.get("x-amz-storage-class") or "STANDARD")])


def _next_version_marker(page: dict[str, Any]) -> str | None:
    """NextVersionIdMarker as clients see it: `null` for a null version, else the encoded id."""
    marker = page.get("NextVersionIdMarker")
    if marker is None or marker == NULL_VERSION:
        return marker
    last = page["Versions"][-1] if page.get("Versions") else None
    if last and last["key"] == page.get("NextKeyMarker") and \
            (last.get("versionId") or last["value"].get("versionId")) == marker:
        return version_id_text(marker, last["value"])
    return encode_version_id(marker)


async def list_object_versions(req: S3Request) -> S3Response:
    enc = encoder(req)
    echo, wanted = max_keys(req)
    key_marker, vid_marker = _markers(req)
    q = req.query
    params = {"listingType": "DelimiterVersions", "prefix": q.get("prefix", ""), "delimiter": q.get("delimiter") or None,
              "keyMarker": key_marker, "versionIdMarker": vid_marker, "maxKeys": wanted}
    if wanted == 0:
        page: dict[str, Any] = {"Versions": [], "CommonPrefixes": [], "IsTruncated": False}
    else:
        page = await req.frontend.metadata.list_object(req.bucket, {k: v for k, v in params.items() if v is not None})
    truncated = bool(page["IsTruncated"])
    children: list[Node] = [("Name", req.bucket), ("Prefix", enc(q.get("prefix", ""))),
                            ("KeyMarker", enc(q.get("key-marker", ""))),
                            ("VersionIdMarker", q.get("version-id-marker", ""))]
    if truncated:
        children += [("NextKeyMarker", enc(page.get("NextKeyMarker"))),
                     ("NextVersionIdMarker", _next_version_marker(page))]
    children += [("MaxKeys", echo), ("Delimiter", enc(q.get("delimiter") or None)),
                 ("EncodingType", q.get("encoding-type")), ("IsTruncated", truncated)]
    children += [_entry_node(e, enc) for e in page["Versions"]]
    children += prefixes_nodes(page["CommonPrefixes"], enc)
    return xml_response(document("ListVersionsResult", children))


HANDLERS = {
    "PutBucketVersioning": put_bucket_versioning,
    "GetBucketVersioning": get_bucket_versioning,
    "ListObjectVersions": list_object_versions,
}
