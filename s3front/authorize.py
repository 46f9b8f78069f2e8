"""Every S3 request is authorized here, once, after authentication and before its handler runs.

`authorize(req)` resolves what the operation acts on (the addressed bucket; for operations an
object's ACL decides, the object version; for copies, the source; for an upload's own operations,
the upload) with as few metadata reads as the decision needs, decides, and leaves what it read in
`req.access` for the handler, which reads none of it again. A handler never authorizes.
PostObject is signed in its form: `read_post` (s3front/post_request.py) reads the fields before the
file, makes their signer the requester, and the request is then decided as any PutObject of the
form's key.
DeleteObjects alone asks once more per key, through `may_delete`, the same decision.

The decision follows AWS's "Mapping of ACL permissions and access policy permissions" (see the
permission column of `s3front.routing`): READ on a bucket lists it, WRITE creates and deletes its
objects, READ on an object reads it, READ_ACP and WRITE_ACP read and change an ACL, and anything no
ACL grants is the owner's. A bucket with a policy is decided by AWS's policy evaluation logic
over the policy and the ACLs (s3front/bucket_policy.py), with the operation's IAM action
(s3front/actions.py). x-amz-expected-bucket-owner (and its copy-source twin) is checked here.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from s3front import acl_model as A
from s3front.addressing import COPY_SOURCE, parse_copy_source
from s3front.actions import iam_action
from s3front.bucket_policy import LOCKS_OWNER_ATTR, allows, bucket_policy, operation_action, restricted
from s3front.iam import Decision, Policy, PrincipalKind, Request, context, decide
from s3front.iam_api.store import identity_policies
from s3front.ownership import acls_off
from s3front.post_form import is_form
from s3front.post_request import PostUpload, read_post
from s3front.public_access import effective_acl
from s3front.request import S3Request, upload_id, version_param
from s3front.routing import (DELETE_VERSION, OBJECT, OWNER, READ, READ_ACP, SERVICE, WRITE, WRITE_ACP,
                             Operation)
from shared.contract.listings import UploadInfo
from shared.contract.records import BucketInfo, ObjectMD
from shared.errors import S3Error
from shared.object_lock import BYPASS_HEADER, parse_bypass

EXPECTED_OWNER, SOURCE_EXPECTED_OWNER = "x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner"

# The ACL permission each permission of the routing table asks of a bucket ...
_BUCKET_PERMISSION = {READ: A.READ, WRITE: A.WRITE, OWNER: A.OWNER, READ_ACP: A.READ_ACP,
                      WRITE_ACP: A.WRITE_ACP, DELETE_VERSION: A.DELETE_VERSION}
# ... and of an object: OWNER there is the object's owner (what no object ACL grants, e.g. tagging).
_OBJECT_PERMISSION = {READ: A.READ, READ_ACP: A.READ_ACP, WRITE_ACP: A.WRITE_ACP, OWNER: A.OWNER}
# Object permissions the bucket's ACL decides: writing, and deleting a version.
_BUCKET_LEVEL = (WRITE, DELETE_VERSION)
# Object operations that the bucket's ACL decides although they read: the uploader lists its parts.
_BUCKET_DECIDES = {"ListParts": A.WRITE}
# Operations on an upload that only its initiator (or the bucket owner) may perform, as on AWS.
_INITIATOR_ONLY = ("ListParts", "AbortMultipartUpload")
# Operations that need no bucket: the service, and the bucket being created.
_NO_BUCKET = ("ListBuckets", "CreateBucket")
_FORM_SIGNED = "PostObject"       # signed (or not) in its body's form fields, not in its headers
_PREFLIGHT = "OptionsObject"      # a CORS preflight is anonymous: its handler answers by the CORS rules
# The bucket owner may always read, change and delete the bucket's policy, even one that denies it
# (AWS's root-user exception), so that no policy can lock its owner out.
_POLICY_OPS = ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy")


@dataclass(slots=True)
class Access:
    """What authorization read, for the handler."""

    bucket: BucketInfo | None = None               # the addressed bucket
    object: ObjectMD | None = None                 # the addressed version, when its ACL decided (None: none)
    version_id: str | None = None                  # the version the request names (internal form)
    source_bucket: BucketInfo | None = None        # a copy's source bucket ...
    source: ObjectMD | None = None                 # ... and source version (None: no such key)
    source_key: str = ""
    source_version_id: str | None = None
    upload: UploadInfo | None = None               # the upload, when its initiator mattered
    may_delete_versions: bool = False              # DeleteObjects: whether entries may name versions
    policy: Policy | None = None                   # the bucket's compiled policy, if it has one
    identity: tuple[Policy, ...] = ()              # an IAM user's or role session's own policies
    post: PostUpload | None = None                 # PostObject: the form, read up to its file part
    acl_required: bool = False                     # an ACL grant let a non-owner in (access logs' ACLRequired)


# What ACLs see of an IAM user or role session: an authenticated requester that is not its account's
# root, so that grants to AuthenticatedUsers and AllUsers count and the account's own do not (within
# an account, a user's permissions come from its policies).
IAM_PRINCIPAL_ID = "iam-principal"


def governed(req: S3Request) -> bool:
    """Whether the requester's own policies decide (an IAM user, a role session, a service account)."""
    who = req.principal
    return who is not None and who.kind is not PrincipalKind.ROOT


def requester_id(req: S3Request) -> str | None:
    if req.account is None:
        return None
    return IAM_PRINCIPAL_ID if governed(req) else req.account.canonical_id


def acl_requester(req: S3Request, owner: str) -> str | None:
    """Who an ACL owned by `owner` sees: the requester; an IAM principal of another account as its
    account, whose grants count for its users and roles across accounts (decide() asks the ACL
    only once their own policies allowed, as AWS does)."""
    found = requester_id(req)
    if found == IAM_PRINCIPAL_ID and req.account.canonical_id != owner:
        return req.account.canonical_id
    return found


async def authorize(req: S3Request) -> None:
    """Decide whether the request's operation may run; AccessDenied (or NoSuchBucket) if not."""
    op: Operation = req.operation
    req.access = access = Access()
    if op.name == _FORM_SIGNED and is_form(req.headers.get("content-type")):
        # The form's fields say who signs and which key it writes: then it is decided as a PutObject.
        # (A body that is no form is decided by its headers; its handler then refuses it.)
        access.post = await read_post(req)
        req.key = access.post.key
        req.operation = op = replace(op, target=OBJECT)
    if governed(req):
        access.identity = tuple(await identity_policies(req.frontend, req.principal))
    if op.target == SERVICE or op.name in _NO_BUCKET:
        req.require_account()
        _check_service(req, access, op)
        return
    if op.name == _PREFLIGHT:
        return
    if _object_decides(op):
        access.version_id = version_param(req)
        found = await req.frontend.metadata.get_bucket_and_object(req.bucket, req.key, access.version_id)
        access.bucket, access.object = found.bucket, found.object
        access.policy = bucket_policy(access.bucket)
        _check_object(req, access.bucket, access.object, _OBJECT_PERMISSION[op.permission], EXPECTED_OWNER,
                      req.key, operation_action(req))
    else:
        access.bucket = await req.frontend.metadata.get_bucket(req.bucket)
        access.policy = bucket_policy(access.bucket)
        _check_bucket(req, access, op)
    if op.header == COPY_SOURCE:
        await _authorize_source(req, access)
    if op.name in _INITIATOR_ONLY:
        await _authorize_upload(req, access)
    if op.name == "DeleteObjects":
        access.may_delete_versions = _acl_allows(req, access.bucket, A.DELETE_VERSION)


def _object_decides(op: Operation) -> bool:
    """Whether the object's own ACL decides (object reads, object ACLs), not the bucket's."""
    return op.target == OBJECT and op.permission not in _BUCKET_LEVEL and op.name not in _BUCKET_DECIDES


def _bucket_permission(op: Operation) -> str:
    if op.target == OBJECT and op.permission not in _BUCKET_LEVEL:
        return _BUCKET_DECIDES.get(op.name, A.OWNER)
    return _BUCKET_PERMISSION[op.permission]


def _acl_allows(req: S3Request, attrs: BucketInfo, permission: str) -> bool:
    if acls_off(attrs):                 # BucketOwnerEnforced: the owner's, and what policies grant
        return requester_id(req) == attrs.owner
    return _granted(req, A.allowed(effective_acl(attrs, attrs.acl, attrs.owner), attrs.owner,
                                   acl_requester(req, attrs.owner), permission), attrs.owner)


def _granted(req: S3Request, allowed: bool, owner: str | None) -> bool:
    """An ACL's answer; one that lets in someone other than the owner is noted (ACLRequired)."""
    if allowed and req.access is not None and requester_id(req) != owner:
        req.access.acl_required = True
    return allowed


def _check_expected_owner(req: S3Request, attrs: BucketInfo, header: str) -> None:
    expected = req.headers.get(header)
    if expected is None:
        return
    owner = req.frontend.config.account_by_canonical_id(attrs.owner)
    if owner is None or owner.account_id != expected.strip():
        raise S3Error("AccessDenied")


def _owner_account(req: S3Request, canonical_id: str | None) -> str:
    """The account id of a canonical id (a resource's owner), or "" for one no account has."""
    account = req.frontend.config.account_by_canonical_id(canonical_id or "")
    return account.account_id if account else ""


def _check_service(req: S3Request, access: Access, op: Operation) -> None:
    """ListBuckets and CreateBucket: an IAM principal needs its policies to allow them."""
    if not governed(req):
        return
    who = req.principal
    resource = "*" if op.name == "ListBuckets" else f"arn:aws:s3:::{req.bucket}"
    verdict = decide(Request(who, operation_action(req), resource, who.account, context(who)), access.identity,
                     None, req.auth.session_policies)
    if verdict.decision is not Decision.ALLOW:
        raise S3Error("AccessDenied")


def _check_bucket(req: S3Request, access: Access, op: Operation) -> None:
    attrs, policy, permission = access.bucket, access.policy, _bucket_permission(op)
    _check_expected_owner(req, attrs, EXPECTED_OWNER)
    owner_policy_op = (op.name in _POLICY_OPS and requester_id(req) == attrs.owner
                       and not attrs.extra.get(LOCKS_OWNER_ATTR))
    if (policy is None and not governed(req)) or owner_policy_op:
        allowed = _acl_allows(req, attrs, permission)
    elif op.name == "DeleteObjects":
        return      # no bucket-level action: each key is decided on its own (may_delete)
    else:
        key = req.key if op.target == OBJECT else None
        allowed = allows(req, policy, operation_action(req), req.bucket, key,
                         _owner_account(req, attrs.owner), lambda: _acl_allows(req, attrs, permission),
                         restrict=restricted(attrs, policy))
    if not allowed:
        raise S3Error("AccessDenied")


def _check_object(req: S3Request, attrs: BucketInfo, md: ObjectMD | None, permission: str,
                  header: str, key: str, action: str) -> None:
    """An object's ACL decides (with the bucket's policy, if any); where there is no such object (or
    a delete marker), saying so needs READ (s3:ListBucket) on the bucket, as on S3: anyone else
    learns nothing and gets AccessDenied."""
    _check_expected_owner(req, attrs, header)
    policy, bucket = bucket_policy(attrs), attrs.name
    acl_alone = policy is None and not governed(req)
    if md is None or md.is_delete_marker:
        def acl() -> bool:
            return _acl_allows(req, attrs, A.READ)
        # Saying "no such key" reveals what a listing with that key as its prefix would.
        allowed = acl() if acl_alone else allows(req, policy, "s3:ListBucket", bucket, None,
                                                 _owner_account(req, attrs.owner), acl,
                                                 restrict=restricted(attrs, policy), extra_keys={"s3:prefix": key})
    else:
        def acl() -> bool:
            if acls_off(attrs):
                return requester_id(req) == attrs.owner
            return _granted(req, A.allowed(effective_acl(attrs, md.acl, md.owner_id), md.owner_id,
                                           acl_requester(req, md.owner_id), permission), md.owner_id)
        allowed = acl() if acl_alone else allows(req, policy, action, bucket, key,
                                                 _owner_account(req, md.owner_id), acl, md,
                                                 restrict=restricted(attrs, policy))
    if not allowed:
        raise S3Error("AccessDenied")


def may_bypass_governance(req: S3Request) -> bool:
    """Whether the request sent x-amz-bypass-governance-retention and may use it
    (s3:BypassGovernanceRetention: the bucket owner's, or granted by the bucket's policy)."""
    if not parse_bypass(req.headers.get(BYPASS_HEADER)):
        return False
    attrs = req.access.bucket
    def owner() -> bool:
        return requester_id(req) == attrs.owner
    if req.access.policy is None and not governed(req):
        return owner()
    return allows(req, req.access.policy, "s3:BypassGovernanceRetention", req.bucket, req.key,
                  _owner_account(req, attrs.owner), owner)


def may_delete(req: S3Request, key: str, version: bool) -> bool:
    """DeleteObjects: whether the requester may delete this key (this version of it, with `version`)."""
    access = req.access
    if access.policy is None and not governed(req):
        return not version or access.may_delete_versions
    permission = A.DELETE_VERSION if version else A.WRITE
    return allows(req, access.policy, iam_action("DeleteObject", version), req.bucket, key,
                  _owner_account(req, access.bucket.owner),
                  lambda: _acl_allows(req, access.bucket, permission),
                  restrict=restricted(access.bucket, access.policy))


async def _authorize_source(req: S3Request, access: Access) -> None:
    """A copy reads its source: READ on the source object, by the source's ACL."""
    bucket, key, version_id = parse_copy_source(req.headers[COPY_SOURCE])
    found = await req.frontend.metadata.get_bucket_and_object(bucket, key, version_id)
    access.source_bucket, access.source = found.bucket, found.object
    access.source_key, access.source_version_id = key, version_id
    _check_object(req, access.source_bucket, access.source, A.READ, SOURCE_EXPECTED_OWNER, key,
                  iam_action("GetObject", version_id is not None))


async def _authorize_upload(req: S3Request, access: Access) -> None:
    """Only an upload's initiator and the bucket's owner may list its parts or abort it."""
    requester = requester_id(req) or A.ANONYMOUS_ID
    if requester == access.bucket.owner or governed(req):
        return                          # an IAM principal's own policies decided already
    page = await req.frontend.metadata.list_parts(req.bucket, upload_id(req), 0, 0, key=req.key)
    access.upload = page.upload
    if requester != access.upload.initiator.id:
        raise S3Error("AccessDenied")
