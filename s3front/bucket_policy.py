"""Bucket policies in the decision: the policy text kept with the bucket, compiled once, and AWS's
evaluation logic (`s3front.iam.decide`) run over it together with the ACLs.

A bucket without a policy is decided by its ACLs alone (s3front/authorize.py), at no extra cost.
"""
from __future__ import annotations

from collections.abc import Callable

from s3front.actions import iam_action
from s3front.iam import (Decision, Policy, PolicyError, Request, account_root, anonymous, bucket_arn, context,
                         decide, is_public, object_arn, parse_bucket_policy)
from s3front.iam.evaluate import Principal
from s3front.public_access import switch
from s3front.request import S3Request
from s3front.tagging import TAGS, parse_tagging_header
from shared.contract.records import BucketInfo, ObjectMD
from shared.errors import InternalError, S3Error

POLICY_ATTR = "policy"                 # the bucket attribute holding the policy's JSON text
# Set when the policy was put with x-amz-confirm-remove-self-bucket-access: true: then the owner's
# root-user exception no longer holds, and the policy may deny its owner the policy calls too.
LOCKS_OWNER_ATTR = "policyLocksOwner"
CONFIRM_REMOVE_SELF = "x-amz-confirm-remove-self-bucket-access"
_CACHE_MAX = 10_000
_compiled: dict[str, tuple[str, Policy]] = {}


def bucket_policy(attrs: BucketInfo) -> Policy | None:
    """The compiled policy of a bucket, or None; compiled once per text and kept per bucket."""
    text = attrs.extra.get(POLICY_ATTR)
    if not text:
        return None
    name = attrs.name
    hit = _compiled.get(name)
    if hit is not None and hit[0] == text:
        return hit[1]
    try:
        policy = parse_bucket_policy(text, name)
    except PolicyError as exc:      # it was valid when stored: a stored policy we cannot read is our fault
        raise InternalError(f"the stored policy of bucket {name} does not parse: {exc.message}") from exc
    if len(_compiled) >= _CACHE_MAX:
        _compiled.clear()
    _compiled[name] = (text, policy)
    return policy


def principal(req: S3Request) -> Principal:
    """Who asks, in the policy language's terms (an account's own keys are its root)."""
    found = getattr(req, "principal", None)
    if found is not None:
        return found
    account = req.account
    return anonymous() if account is None else account_root(account.account_id, account.canonical_id)


def allows(req: S3Request, policy: Policy | None, action: str, bucket: str, key: str | None,
           resource_account: str, acl_allows: Callable[[], bool], md: ObjectMD | None = None,
           restrict: bool = False, extra_keys: dict[str, str] | None = None) -> bool:
    """Whether the policy (with the ACL where no policy decides) allows `action` on bucket[/key];
    `md`, the object version acted on, brings its tags (s3:ExistingObjectTag/<key>). With
    `restrict` (RestrictPublicBuckets on a public policy) the policy lets in the owner's account only;
    `extra_keys` are condition keys the request implies (a HEAD of a missing key asks ListBucket
    with that key as s3:prefix)."""
    who = principal(req)
    resource = bucket_arn(bucket) if key is None else object_arn(bucket, key)
    keys = condition_keys(req)
    if extra_keys:
        keys.update(extra_keys)
    for tag, value in ((md.extra.get(TAGS) if md else None) or {}).items():
        keys[f"s3:existingobjecttag/{tag.lower()}"] = value
    access, auth = getattr(req, "access", None), req.auth
    verdict = decide(Request(who, action, resource, resource_account, context(who, keys)),
                     access.identity if access is not None else (), policy,
                     auth.session_policies if auth is not None else (), acl_allows)
    if restrict and policy is not None and verdict.source == policy.name and who.account != resource_account:
        return False
    return verdict.decision is Decision.ALLOW


def restricted(attrs: BucketInfo, policy: Policy | None) -> bool:
    """RestrictPublicBuckets is on and the policy is public: it may only let in the owner's account."""
    return policy is not None and switch(attrs, "RestrictPublicBuckets") and is_public(policy)


def operation_action(req: S3Request) -> str:
    """The action the request's operation asks for ("s3:GetObjectVersion" when it names a version)."""
    return iam_action(req.operation.name, "versionId" in req.query)


_QUERY_KEYS = ("prefix", "delimiter", "max-keys", "versionid")
_HEADER_KEYS = ("x-amz-acl", "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-server-side-encryption",
                "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-customer-algorithm",
                "x-amz-storage-class", "x-amz-content-sha256",
                "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
                "x-amz-grant-full-control", "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
                "x-amz-object-lock-legal-hold")


def _request_tag_keys(header: str) -> dict[str, str | list[str]]:
    """s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys of an x-amz-tagging header (none if it is
    malformed: the handler refuses it with its own error)."""
    try:
        tags = parse_tagging_header(header)
    except S3Error:
        return {}
    keys: dict[str, str | list[str]] = {f"s3:requestobjecttag/{k.lower()}": v for k, v in tags.items()}
    keys["s3:requestobjecttagkeys"] = list(tags)
    return keys


def condition_keys(req: S3Request) -> dict[str, str | list[str]]:
    """The global and S3 condition keys a request carries (AWS's names, lower-cased)."""
    headers, query = req.headers, req.query
    post = getattr(getattr(req, "access", None), "post", None)
    if post is not None:            # a POST form's fields stand for PutObject's headers
        headers = {**headers, **post.headers}
    keys: dict[str, str | list[str]] = {"aws:securetransport": "true" if req.secure else "false"}
    if req.source_ip:
        keys["aws:sourceip"] = req.source_ip
    for name, key in (("user-agent", "aws:useragent"), ("referer", "aws:referer")):
        if name in headers:
            keys[key] = headers[name]
    for name in _QUERY_KEYS:
        value = query.get(name if name != "versionid" else "versionId")
        if value is not None:
            keys[f"s3:{name}"] = value
    for name in _HEADER_KEYS:
        if name in headers:
            keys[f"s3:{name}"] = headers[name]
    if "x-amz-tagging" in headers:
        keys.update(_request_tag_keys(headers["x-amz-tagging"]))
    auth = req.auth
    if post is not None and post.signature_version:
        keys["s3:authtype"], keys["s3:signatureversion"] = "POST", post.signature_version
    elif auth is not None and req.account is not None:
        keys["s3:authtype"] = "REST-QUERY-STRING" if "x-amz-signature" in {k.lower() for k in query} \
            or "Signature" in query else "REST-HEADER"
        keys["s3:signatureversion"] = "AWS" if headers.get("authorization", "").startswith("AWS ") \
            or "Signature" in query else "AWS4-HMAC-SHA256"
    return keys
