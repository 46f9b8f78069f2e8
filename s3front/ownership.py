"""Object Ownership (Put/GetBucketOwnershipControls): who owns the objects a bucket receives, and
whether its ACLs count.

- ObjectWriter (Coffer's default, and AWS's before 2023): the writer owns what it writes.
- BucketOwnerPreferred: the bucket owner owns what is written with bucket-owner-full-control.
- BucketOwnerEnforced: the bucket owner owns everything and ACLs are off: they grant nothing, and a
  request that sets one (other than bucket-owner-full-control) is AccessControlListNotSupported.
"""
from __future__ import annotations

from typing import Any

from s3front import acl_model as A
from shared.contract.records import BucketInfo
from shared.errors import S3Error

OWNERSHIP = "ownership"                 # the bucket attribute
ENFORCED, PREFERRED, WRITER = "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"
MODES = (ENFORCED, PREFERRED, WRITER)
HEADER = "x-amz-object-ownership"
_HANDED_OVER = "bucket-owner-full-control"


def acls_off(attrs: BucketInfo | None) -> bool:
    return attrs is not None and attrs.extra.get(OWNERSHIP) == ENFORCED


def owner_takes_it(attrs: BucketInfo, headers: dict[str, str]) -> bool:
    """Whether a new object belongs to the bucket's owner rather than its writer."""
    mode = attrs.extra.get(OWNERSHIP)
    return mode == ENFORCED or (mode == PREFERRED and headers.get("x-amz-acl", "").strip() == _HANDED_OVER)


def check_request_acl(attrs: BucketInfo | None, headers: dict[str, str]) -> None:
    """With ACLs off, a request may name no ACL but bucket-owner-full-control."""
    if not acls_off(attrs):
        return
    canned = headers.get("x-amz-acl")
    grants = any(h in headers for h in A.GRANT_HEADERS)
    if grants or (canned is not None and canned.strip() != _HANDED_OVER):
        raise S3Error("AccessControlListNotSupported")


def check_mode(value: str) -> str:
    if value not in MODES:
        raise S3Error("InvalidArgument", f"Invalid x-amz-object-ownership header: {value}",
                      ArgumentName=HEADER, ArgumentValue=value)
    return value


def refuse_acl_with_enforced(mode: str | None, acl: Any, owner: str) -> None:
    """BucketOwnerEnforced needs a bucket ACL that grants only its owner."""
    if mode == ENFORCED and A.grants_of(acl, owner) != A.grants_of(None, owner):
        raise S3Error("InvalidBucketAclWithObjectOwnership")
