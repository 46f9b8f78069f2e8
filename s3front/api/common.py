"""Helpers every operation family shares: access checks and the headers an object answers with."""
from __future__ import annotations

from typing import Any

from s3front import acl_model as A
from s3front.request import S3Request
from s3front.routing import DELETE_VERSION, OBJECT, OWNER, READ_ACP, WRITE, WRITE_ACP
from shared.errors import S3Error
from shared.models import external_version_id, http_date

# Headers stored with an object and returned on GET/HEAD as they were given.
STORED_HEADERS = ("content-type", "content-encoding", "content-disposition", "content-language",
                  "cache-control", "expires", "x-amz-website-redirect-location", "x-amz-storage-class")
RESPONSE_OVERRIDES = {"response-content-type": "Content-Type", "response-content-language": "Content-Language",
                      "response-expires": "Expires", "response-cache-control": "Cache-Control",
                      "response-content-disposition": "Content-Disposition",
                      "response-content-encoding": "Content-Encoding"}


EXPECTED_OWNER, SOURCE_EXPECTED_OWNER = "x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner"
# The ACL permission each permission of the routing table asks of a bucket.
_BUCKET_PERMISSION = {"read": A.READ, "write": A.WRITE, OWNER: A.OWNER, READ_ACP: A.READ_ACP,
                      WRITE_ACP: A.WRITE_ACP, DELETE_VERSION: A.DELETE_VERSION}
# ... and of an object: OWNER there is the object's owner (what no object ACL grants, e.g. tagging).
_OBJECT_PERMISSION = {"read": A.READ, READ_ACP: A.READ_ACP, WRITE_ACP: A.WRITE_ACP, OWNER: A.OWNER}
# Object permissions the bucket's ACL decides: writing, and deleting a version.
_BUCKET_LEVEL = (WRITE, DELETE_VERSION)
# Object operations decided by the bucket's ACL although they read (the uploader lists its parts).
_BUCKET_DECIDES = {"ListParts": A.WRITE}


def requester_id(req: S3Request) -> str | None:
    return req.account.canonical_id if req.account else None


def requester_party(req: S3Request) -> tuple[str, str]:
    """(canonical id, display name) recorded as the owner of what the request creates."""
    account = req.account
    return (account.canonical_id, account.name) if account else (A.ANONYMOUS_ID, A.ANONYMOUS_NAME)


def _check_expected_owner(req: S3Request, attrs: dict[str, Any], header: str) -> None:
    expected = req.headers.get(header)
    if expected is None:
        return
    owner = req.frontend.config.account_by_canonical_id(attrs.get("owner", ""))
    if owner is None or owner.account_id != expected.strip():
        raise S3Error("AccessDenied")


def _bucket_permission(req: S3Request) -> str:
    """What the request's operation needs of the bucket's ACL.

    Object reads and object ACL operations are decided by the object's ACL (check_object); when
    a handler of one only reads the bucket, the conservative answer is that the owner decides.
    """
    op = req.operation
    if op is None:
        return A.OWNER
    if op.target == OBJECT and op.permission not in _BUCKET_LEVEL:
        return _BUCKET_DECIDES.get(op.name, A.OWNER)
    return _BUCKET_PERMISSION[op.permission]


def _remember(req: S3Request, attrs: dict[str, Any]) -> None:
    """Keep the attributes of the bucket the request addresses, for its CORS headers; never another's
    (a copy source's), whose CORS rules must not answer for this bucket."""
    if attrs.get("name") == req.bucket:
        req.bucket_attrs = attrs


def check_access(req: S3Request, attrs: dict[str, Any]) -> None:
    """Authorize the request's operation on its bucket: the bucket's ACL and x-amz-expected-bucket-owner."""
    _remember(req, attrs)
    _check_expected_owner(req, attrs, EXPECTED_OWNER)
    if not A.allowed(attrs.get("acl"), attrs.get("owner"), requester_id(req), _bucket_permission(req)):
        raise S3Error("AccessDenied")


def check_object(req: S3Request, attrs: dict[str, Any], md: dict[str, Any] | None,
                 permission: str | None = None, header: str = EXPECTED_OWNER) -> None:
    """Authorize a read of an object (or of its ACL) by the object's ACL.

    When there is no such object (or it is a delete marker), saying so needs READ on the bucket, as
    on S3: anyone else learns nothing and gets AccessDenied.
    """
    _remember(req, attrs)
    _check_expected_owner(req, attrs, header)
    requester = requester_id(req)
    need = permission or _OBJECT_PERMISSION.get(req.operation.permission if req.operation else "", A.READ)
    if md is None or md.get("isDeleteMarker"):
        if not A.allowed(attrs.get("acl"), attrs.get("owner"), requester, A.READ):
            raise S3Error("AccessDenied")
        return
    if not A.allowed(md.get("acl"), md.get("owner-id"), requester, need):
        raise S3Error("AccessDenied")


def may_delete_versions(req: S3Request, attrs: dict[str, Any]) -> bool:
    """Whether the requester may delete specific versions in this bucket (the bucket owner, with WRITE)."""
    return A.allowed(attrs.get("acl"), attrs.get("owner"), requester_id(req), A.DELETE_VERSION)


def check_initiator(req: S3Request, attrs: dict[str, Any], upload: dict[str, Any]) -> None:
    """Aborting an upload or listing its parts: only its initiator and the bucket owner may (as on AWS)."""
    requester = requester_party(req)[0]
    if requester != attrs.get("owner") and requester != (upload.get("initiator") or {}).get("ID"):
        raise S3Error("AccessDenied")


async def bucket_attrs(req: S3Request) -> dict[str, Any]:
    attrs = await req.frontend.metadata.get_bucket_attributes(req.bucket)
    check_access(req, attrs)
    return attrs


def request_acl(req: S3Request, owner: str, bucket_owner: str | None = None) -> dict[str, Any]:
    """{"acl": grants} when the request's x-amz-acl or x-amz-grant-* headers set an ACL, else {}."""
    acl = A.header_acl(req.headers, owner, req.frontend.config.accounts, bucket_owner)
    return {} if acl is None else {"acl": acl}


def etag(md: dict[str, Any]) -> str:
    return f'"{md.get("content-md5", "")}"'


def version_header(md: dict[str, Any], attrs: dict[str, Any]) -> dict[str, str]:
    """x-amz-version-id, only in buckets that have ever had versioning configured."""
    if attrs.get("versioning") is None:
        return {}
    return {"x-amz-version-id": external_version_id(md)}


def _wants_checksum(req: S3Request) -> bool:
    """Checksum mode asks for the object's checksum; S3 does not send it for a range or one part."""
    return req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and \
        "range" not in req.headers and "partNumber" not in req.query


def object_headers(req: S3Request, md: dict[str, Any], attrs: dict[str, Any]) -> dict[str, str]:
    """The headers of a GET or HEAD answer: stored headers, user metadata, version, checksum."""
    headers = {"ETag": etag(md), "Last-Modified": http_date(md["last-modified"]), "Accept-Ranges": "bytes",
               "Content-Type": md.get("content-type") or "binary/octet-stream"}
    for name in STORED_HEADERS[1:]:
        if md.get(name):
            headers[name] = md[name]
    for name, value in md.items():
        if name.startswith("x-amz-meta-"):
            headers[name] = value
    checksum = md.get("checksum")
    if checksum and _wants_checksum(req):
        headers[f"x-amz-checksum-{checksum['algorithm']}"] = checksum["value"]
        headers["x-amz-checksum-type"] = checksum.get("type", "FULL_OBJECT")
    headers.update(version_header(md, attrs))
    return headers
