"""Block Public Access (Put/GetPublicAccessBlock): a bucket's four switches, as AWS defines them.

- BlockPublicAcls: a request that sets a public ACL (on the bucket or an object) is AccessDenied.
- IgnorePublicAcls: grants to AllUsers and AuthenticatedUsers count for nothing.
- BlockPublicPolicy: PutBucketPolicy with a public policy is AccessDenied.
- RestrictPublicBuckets: while the bucket's policy is public, it lets in only the bucket owner's
  account: what it allows anyone else is refused (its Deny statements still apply).
"""
from __future__ import annotations

from typing import Any

from s3front import acl_model as A
from shared.contract.records import BucketInfo
from shared.errors import S3Error

ATTR = "publicAccessBlock"
SWITCHES = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def switch(attrs: BucketInfo | None, name: str) -> bool:
    return bool(attrs and (attrs.extra.get(ATTR) or {}).get(name))


def check_acl(attrs: BucketInfo | None, acl: Any, owner: str) -> None:
    """Refuse to set a public ACL where BlockPublicAcls is on."""
    if acl is not None and switch(attrs, "BlockPublicAcls") and A.is_public(acl, owner):
        raise S3Error("AccessDenied")


def effective_acl(attrs: BucketInfo, acl: Any, owner: str) -> Any:
    """The ACL that decides: without its public grants where IgnorePublicAcls is on."""
    if not switch(attrs, "IgnorePublicAcls"):
        return acl
    return [g for g in A.grants_of(acl, owner) if not (g["type"] == "Group" and g["uri"] in A.PUBLIC_GROUPS)]
