"""Bucket policies: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy, GetBucketPolicyStatus.

The policy is validated and compiled as AWS would (s3front.iam) before it is stored, as its JSON
text, with the bucket; s3front/authorize.py decides every later request with it.
"""
from __future__ import annotations

from s3front.acl_model import is_public as acl_is_public
from s3front.body import read_small_body
from s3front.bucket_policy import CONFIRM_REMOVE_SELF, LOCKS_OWNER_ATTR, POLICY_ATTR, bucket_policy
from s3front.iam import PolicyError, check_size, is_public, parse_bucket_policy
from s3front.public_access import switch
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import document
from shared import constants as C
from shared.errors import S3Error

_READ_LIMIT = 3 * C.BUCKET_POLICY_MAX_BYTES      # whitespace does not count towards the 20 KB
_TOO_LARGE = "Policy exceeds the maximum allowed document size."


async def _policy_text(req: S3Request) -> str:
    try:
        raw = await read_small_body(req, _READ_LIMIT)
    except S3Error as exc:
        if exc.code == "MalformedXML":
            raise S3Error("MalformedPolicy", _TOO_LARGE) from None
        raise
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("MalformedPolicy", "Policies must be valid UTF-8 JSON.") from None
    try:
        check_size("bucket", text)
        parse_bucket_policy(text, req.bucket)
    except PolicyError as exc:
        raise S3Error("MalformedPolicy", exc.message) from None
    return text


async def put_bucket_policy(req: S3Request) -> S3Response:
    text = await _policy_text(req)
    if switch(req.access.bucket, "BlockPublicPolicy") and is_public(parse_bucket_policy(text, req.bucket)):
        raise S3Error("AccessDenied")
    if req.headers.get(CONFIRM_REMOVE_SELF, "").strip().lower() == "true":
        await req.frontend.metadata.update_bucket(req.bucket, set={POLICY_ATTR: text, LOCKS_OWNER_ATTR: True})
    else:
        await req.frontend.metadata.update_bucket(req.bucket, set={POLICY_ATTR: text}, unset=[LOCKS_OWNER_ATTR])
    return S3Response(204)


async def get_bucket_policy(req: S3Request) -> S3Response:
    text = req.access.bucket.extra.get(POLICY_ATTR)
    if not text:
        raise S3Error("NoSuchBucketPolicy", BucketName=req.bucket)
    return S3Response(200, {"Content-Type": "application/json"}, text.encode())


async def delete_bucket_policy(req: S3Request) -> S3Response:
    await req.frontend.metadata.update_bucket(req.bucket, unset=[POLICY_ATTR, LOCKS_OWNER_ATTR])
    return S3Response(204)


async def get_bucket_policy_status(req: S3Request) -> S3Response:
    """IsPublic: the policy grants to everyone, or (as RGW and s3-tests count it) the bucket's ACL does."""
    attrs = req.access.bucket
    public = is_public(bucket_policy(attrs)) or acl_is_public(attrs.acl, attrs.owner)
    return xml_response(document("PolicyStatus", [("IsPublic", public)]))


HANDLERS = {
    "PutBucketPolicy": put_bucket_policy,
    "GetBucketPolicy": get_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "GetBucketPolicyStatus": get_bucket_policy_status,
}
