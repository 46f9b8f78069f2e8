"""Put/Get/DeleteBucketOwnershipControls (s3front/ownership.py says what each mode does)."""
from __future__ import annotations

from s3front.body import read_small_body
from s3front.ownership import OWNERSHIP, check_mode, refuse_acl_with_enforced
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import document, parse
from shared.errors import S3Error

MAX_BODY = 16 * 1024


def _parse(body: bytes) -> str:
    root = parse(body)
    rules = root.findall("Rule") if root.tag == "OwnershipControls" else []
    values = [r.findtext("ObjectOwnership") for r in rules]
    if len(values) != 1 or values[0] is None:
        raise S3Error("MalformedXML")
    try:
        return check_mode(values[0].strip())
    except S3Error:
        raise S3Error("MalformedXML") from None


async def put_bucket_ownership_controls(req: S3Request) -> S3Response:
    mode = _parse(await read_small_body(req, MAX_BODY))
    attrs = req.access.bucket
    refuse_acl_with_enforced(mode, attrs.acl, attrs.owner)
    await req.frontend.metadata.update_bucket(req.bucket, set={OWNERSHIP: mode})
    return S3Response(200)


async def get_bucket_ownership_controls(req: S3Request) -> S3Response:
    mode = req.access.bucket.extra.get(OWNERSHIP)
    if mode is None:
        raise S3Error("OwnershipControlsNotFoundError")
    return xml_response(document("OwnershipControls", [("Rule", [("ObjectOwnership", mode)])]))


async def delete_bucket_ownership_controls(req: S3Request) -> S3Response:
    await req.frontend.metadata.update_bucket(req.bucket, unset=[OWNERSHIP])
    return S3Response(204)


HANDLERS = {
    "PutBucketOwnershipControls": put_bucket_ownership_controls,
    "GetBucketOwnershipControls": get_bucket_ownership_controls,
    "DeleteBucketOwnershipControls": delete_bucket_ownership_controls,
}
