"""Helpers every operation family shares: who is asking, request ACLs, the headers an object answers with."""
from __future__ import annotations

from typing import Any

from s3front import acl_model as A
from s3front.ownership import acls_off, check_request_acl, owner_takes_it
from s3front.public_access import check_acl as check_public_acl
from s3front.request import S3Request
from s3front.tagging import TAGS, tagging_count
from shared.contract.records import BucketInfo, ObjectMD
from shared.object_lock import LEGAL_HOLD, RETENTION, lock_headers, retention_from_json
from shared.models import external_version_id, http_date

# The headers an object keeps as they were given are the records' (shared/contract/records.py STORED_HEADERS).
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
        return attrs.owner, attrs.owner_name
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


def etag(md: ObjectMD) -> str:
    return f'"{md.etag}"'


def version_header(md: ObjectMD, bucket: BucketInfo) -> dict[str, str]:
    """x-amz-version-id, only in buckets that have ever had versioning configured."""
    if bucket.versioning is None:
        return {}
    return {"x-amz-version-id": external_version_id(md.version_id, md.is_null)}


def _wants_checksum(req: S3Request) -> bool:
    """Checksum mode asks for the object's checksum; S3 does not send it for a range or one part."""
    return req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and \
        "range" not in req.headers and "partNumber" not in req.query


def object_headers(req: S3Request, md: ObjectMD, bucket: BucketInfo) -> dict[str, str]:
    """The headers of a GET or HEAD answer: stored headers, user metadata, version, checksum."""
    headers = {"ETag": etag(md), "Last-Modified": http_date(md.last_modified), "Accept-Ranges": "bytes",
               "Content-Type": md.headers.get("content-type") or "binary/octet-stream"}
    for name, value in md.headers.items():
        if name != "content-type" and value:
            headers[name] = value
    if md.storage_class:
        headers["x-amz-storage-class"] = md.storage_class
    headers.update(md.user_metadata)
    checksum = md.checksum
    if checksum and _wants_checksum(req):
        headers[f"x-amz-checksum-{checksum.algorithm}"] = checksum.value
        headers["x-amz-checksum-type"] = checksum.type
    headers.update(lock_headers(retention_from_json(md.extra.get(RETENTION)), md.extra.get(LEGAL_HOLD)))
    count = tagging_count(md.extra.get(TAGS))
    if count is not None:
        headers["x-amz-tagging-count"] = count
    headers.update(version_header(md, bucket))
    return headers
