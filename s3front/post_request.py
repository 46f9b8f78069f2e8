"""A browser POST form, read up to its file part before authorization: who signed it, for which key.

PostObject is the one operation signed in its body, so authorize.py calls `read_post` first: it
reads the fields before the file (s3front/post_form.py, bounded), verifies the form's SigV4 or
SigV2 signature over its policy with the keys and secrets every signed request uses (the
Authenticator's lookup, s3front/post_policy.py), makes the signer the request's identity
(anonymous for an unsigned form), names the object (`key`, `${filename}` replaced) and checks the
policy against every field. The file part is left unread: the handler streams it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from s3front.addressing import check_key
from s3front.auth import AuthResult, Identity, security_token
from s3front.post_form import PostForm, object_key, put_headers, read_form
from s3front.post_policy import Policy, authenticate, parse_policy
from s3front.request import S3Request
from shared.errors import S3Error


@dataclass
class PostUpload:
    form: PostForm
    key: str                       # the object's key, `${filename}` replaced
    policy: Policy | None          # None for an unsigned form
    headers: dict[str, str]        # the PutObject headers the fields stand for (post_form.put_headers)
    signature_version: str = ""    # "AWS4-HMAC-SHA256", "AWS", or "" unsigned


def _claimed_key(fields: dict[str, str]) -> str:
    if "x-amz-credential" in fields:
        return fields["x-amz-credential"].split("/", 1)[0]
    return fields.get("awsaccesskeyid", "")


async def _signer(req: S3Request, fields: dict[str, str]) -> Identity | None:
    """Whoever signed the form (an account's key, an IAM user's, a session's), None if nobody did."""
    claimed = _claimed_key(fields)
    if claimed:
        await req.frontend.identities.prefetch(claimed)     # an IAM user's key: cached, else one read
    token = fields.get("x-amz-security-token") or security_token(req.query, req.headers)
    found: dict[str, Identity] = {}

    def secret_for(access_key: str) -> str | None:
        try:
            found[access_key] = req.frontend.auth.lookup(access_key, token)
        except S3Error:
            return None
        return found[access_key].account.secret_key

    access_key = authenticate(fields, secret_for)
    return None if access_key is None else found[access_key]


async def read_post(req: S3Request) -> PostUpload:
    """Read a PostObject form up to its file; `req.auth` becomes its signer. Errors as AWS answers them."""
    form = await read_form(req.raw_body(), req.headers.get("content-type"))
    fields = form.fields
    signer = await _signer(req, fields)
    version = ""
    if signer is not None:
        req.auth = AuthResult(signer.account, principal=signer.principal, session_policies=signer.session_policies)
        version = "AWS4-HMAC-SHA256" if "x-amz-signature" in fields else "AWS"
    key = object_key(fields, form.filename)
    check_key(key)
    policy = None
    if signer is not None:          # a signed form has a policy (authenticate required it)
        policy = parse_policy(fields["policy"])
        policy.check(req.bucket or "", {**fields, "key": key}, time.time())
    return PostUpload(form, key, policy, put_headers(fields), version)
