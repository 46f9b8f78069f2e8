"""Helpers every operation family shares: who is asking, request ACLs, the headers an object answers with."""
from __future__ import annotations

from typing import Any

from s3front import acl_model as A
from s3front.ownership import acls_off, check_request_acl, owner_takes_it
from s3front.public_access import check_acl as check_public_acl
from s3front.request import S3Request
from s3front.tagging import tagging_count
from shared.object_lock import LEGAL_HOLD, RETENTION, lock_headers, retention_from_json
from shared.models import external_version_id, http_date

# Headers stored with an object and returned on GET/HEAD as they were given.
STORED_HEADERS = ("content-type", "content-encoding", "content-disposition", "content-language",
                  "cache-control", "expires", "x-amz-website-redirect-location", "x-amz-storage-class")
RESPONSE_OVERRIDES = {"response-content-type": "Content-Type", "response-content-language": "Content-Language",
                      "response-expires": "Expires", "response-cache-control": "Cache-Control",
                      "response-content-disposition": "Content-Disposition",
                      "response-content-encoding": "Content-Encoding"}


def requester_party(req: S3Request) -> tuple[str, str]:
    """(canonical id, display name) recorded as the owner of what the request creates."""
    account = req.account
    return (account.canonical_id, account.name) if account else (A.ANONYMOUS_ID, A.ANONYMOUS_NAME)


def object_owner(req: S3Request) -> tuple[str, str]:
    """(canonical id, display name) of the owner of an object the request writes: the writer, or the
    bucket's owner as the bucket's Object Ownership says (s3front/ownership.py)."""
    attrs = req.access.bucket
    if owner_takes_it(attrs, req.headers):
        return attrs["owner"], attrs.get("ownerDisplayName", "")
    return requester_party(req)


def request_acl(req: S3Request, owner: str, bucket_owner: str | None = None) -> dict[str, Any]:
    """{"acl": grants} when the request's x-amz-acl or x-amz-grant-* headers set an ACL, else {}
    (always {} in a bucket whose ACLs are off, where only bucket-owner-full-control may be named)."""
    attrs = req.access.bucket if req.access else None
    check_request_acl(attrs, req.headers)
    if acls_off(attrs):
        return {}
    acl = A.header_acl(req.headers, owner, req.frontend.config.accounts, bucket_owner)
    check_public_acl(attrs, acl, owner)
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
    headers.update(lock_headers(retention_from_json(md.get(RETENTION)), md.get(LEGAL_HOLD)))
    count = tagging_count(md.get("tags"))
    if count is not None:
        headers["x-amz-tagging-count"] = count
    headers.update(version_header(md, attrs))
    return headers
