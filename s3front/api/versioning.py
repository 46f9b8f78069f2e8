"""Bucket versioning: PutBucketVersioning, GetBucketVersioning, ListObjectVersions."""
from __future__ import annotations

from xml.etree.ElementTree import Element

from s3front.api.listing import encoder, max_keys, owner_node, prefixes_nodes, version_id_text
from s3front.body import read_small_body
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import Node, document, parse
from shared.contract.listings import VersionEntry, VersionsPage, VersionsQuery
from shared.errors import S3Error
from shared.models import NULL_VERSION, decode_version_id, encode_version_id
from shared.object_lock import check_versioning_change

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
    check_versioning_change(req.access.bucket.object_lock is not None, status)
    # The daemon writes it under the exclusive bucket lock: the next object write sees it.
    await req.frontend.metadata.update_bucket(req.bucket, set={"versioning": status})
    return S3Response(200)


async def get_bucket_versioning(req: S3Request) -> S3Response:
    return xml_response(document("VersioningConfiguration", [("Status", req.access.bucket.versioning)]))


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


def _entry_node(v: VersionEntry, enc) -> Node:
    head: list[Node] = [("Key", enc(v.key)), ("VersionId", version_id_text(v.version_id, v.is_null)),
                        ("IsLatest", v.is_latest), ("LastModified", v.last_modified)]
    owner = owner_node(v.owner_id, v.owner_name)
    if v.is_delete_marker:
        return ("DeleteMarker", head + [owner])
    return ("Version", head + [("ETag", f'"{v.etag}"'), ("Size", v.size), owner, ("StorageClass", v.storage_class)])


def _next_version_marker(page: VersionsPage) -> str | None:
    """NextVersionIdMarker as clients see it: `null` for a null version, else the encoded id."""
    marker = page.next_version_id_marker
    if marker is None or marker == NULL_VERSION:
        return marker
    last = page.versions[-1] if page.versions else None
    if last and last.key == page.next_key_marker and last.version_id == marker:
        return version_id_text(marker, last.is_null)
    return encode_version_id(marker)


async def list_object_versions(req: S3Request) -> S3Response:
    enc = encoder(req)
    echo, wanted = max_keys(req)
    key_marker, vid_marker = _markers(req)
    q = req.query
    query = VersionsQuery(q.get("prefix", ""), q.get("delimiter") or None, wanted, key_marker, vid_marker)
    page = VersionsPage([], [], False) if wanted == 0 else \
        await req.frontend.metadata.list_object_versions(req.bucket, query)
    truncated = page.is_truncated
    children: list[Node] = [("Name", req.bucket), ("Prefix", enc(q.get("prefix", ""))),
                            ("KeyMarker", enc(q.get("key-marker", ""))),
                            ("VersionIdMarker", q.get("version-id-marker", ""))]
    if truncated:
        children += [("NextKeyMarker", enc(page.next_key_marker)),
                     ("NextVersionIdMarker", _next_version_marker(page))]
    children += [("MaxKeys", echo), ("Delimiter", enc(q.get("delimiter") or None)),
                 ("EncodingType", q.get("encoding-type")), ("IsTruncated", truncated)]
    children += [_entry_node(e, enc) for e in page.versions]
    children += prefixes_nodes(page.common_prefixes, enc)
    return xml_response(document("ListVersionsResult", children))


HANDLERS = {
    "PutBucketVersioning": put_bucket_versioning,
    "GetBucketVersioning": get_bucket_versioning,
    "ListObjectVersions": list_object_versions,
}
