"""Access control lists: GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl.

Who may call them is decided in `common` (READ_ACP / WRITE_ACP, the owner always); the grants
themselves are `acl_model`'s. A bucket's ACL is its `acl` attribute, an object's the `acl` field of
the metadata of one version.
"""
from __future__ import annotations

from s3front import acl_model as A
from s3front.api.common import version_header
from s3front.api.objects import read_target
from s3front.body import read_small_body
from s3front.notify import event_request
from s3front.ownership import acls_off
from s3front.public_access import check_acl as check_public_acl
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import MAX_XML_BODY
from shared.contract.records import BucketInfo, ObjectMD
from shared.errors import S3Error


async def _requested_acl(req: S3Request, owner: str, bucket_owner: str | None = None) -> A.ACL:
    """The new ACL: from x-amz-acl / x-amz-grant-* headers, or from an AccessControlPolicy body."""
    accounts = req.frontend.config.accounts
    from_headers = A.header_acl(req.headers, owner, accounts, bucket_owner)   # checked before the body
    body = await read_small_body(req, MAX_XML_BODY)
    if from_headers is not None:
        if body.strip():
            raise S3Error("UnexpectedContent")
        return from_headers
    if not body.strip():
        raise S3Error("MissingSecurityHeader", "Your request was missing a required header",
                      MissingHeaderName="x-amz-acl")
    return A.parse_policy(body, accounts)


async def get_bucket_acl(req: S3Request) -> S3Response:
    bucket = req.access.bucket
    return xml_response(A.render_policy(bucket.acl, bucket.owner, req.frontend.config.accounts))


async def put_bucket_acl(req: S3Request) -> S3Response:
    bucket = req.access.bucket
    if acls_off(bucket):
        raise S3Error("AccessControlListNotSupported")
    acl = await _requested_acl(req, bucket.owner)
    check_public_acl(bucket, acl, bucket.owner)
    await req.frontend.metadata.update_bucket(req.bucket, set={"acl": acl})
    return S3Response(200)


def _object_target(req: S3Request) -> tuple[BucketInfo, ObjectMD, str | None]:
    """(bucket attributes, object metadata, version id asked for) of an object ACL request, authorized."""
    attrs, md = read_target(req)
    return attrs, md, req.access.version_id


async def get_object_acl(req: S3Request) -> S3Response:
    attrs, md, _ = _object_target(req)
    body = A.render_policy(md.acl, md.owner_id, req.frontend.config.accounts)
    return xml_response(body, headers=version_header(md, attrs))


async def put_object_acl(req: S3Request) -> S3Response:
    attrs, md, version_id = _object_target(req)
    if acls_off(attrs):
        raise S3Error("AccessControlListNotSupported")
    acl = await _requested_acl(req, md.owner_id, attrs.owner)
    check_public_acl(attrs, acl, md.owner_id)
    # Name the version that was authorized, so that a PUT racing with us cannot receive this ACL.
    target = version_id if version_id is not None else md.version_id
    await req.frontend.metadata.update_object(req.bucket, req.key, target, set={"acl": acl},
                                              event=event_request(req, "s3:ObjectAcl:Put"))
    return S3Response(200, version_header(md, attrs))


HANDLERS = {
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
}
