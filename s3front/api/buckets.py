"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation."""
from __future__ import annotations

from s3front.addressing import endpoint_of, valid_bucket_name
from s3front.acl_model import grants_of
from s3front.api.common import request_acl
from s3front.body import read_small_body
from s3front.notify import bucket_event
from s3front.request import S3Request, S3Response, xml_response
from s3front.api.listing import decode_token, encode_token
from s3front.xml import Node, child_text, document, parse, text_document
from s3front.ownership import HEADER as OWNERSHIP_HEADER
from s3front.ownership import OWNERSHIP, check_mode, refuse_acl_with_enforced
from shared import constants as C
from shared.contract.metadata import BucketSummary
from shared.contract.records import BucketInfo
from shared.errors import S3Error
from shared.models import iso_now
from shared.object_lock import LockConfig, config_to_json
from shared.params import ascii_int

LOCK_ENABLED_HEADER = "x-amz-bucket-object-lock-enabled"
_LIST_BUCKETS_PARAMS = ("max-buckets", "continuation-token", "prefix", "bucket-region")


async def list_buckets(req: S3Request) -> S3Response:
    account = req.require_account()
    q = req.query
    paged = any(name in q for name in _LIST_BUCKETS_PARAMS)
    limit = _max_buckets(q.get("max-buckets"))
    after = decode_token(q["continuation-token"]) if q.get("continuation-token") else None
    region = req.frontend.config.region
    buckets = [b for b in await req.frontend.metadata.list_buckets(account.canonical_id)
               if b.name.startswith(q.get("prefix") or "") and (after is None or b.name > after)
               and (q.get("bucket-region") is None or (b.location or region) == q["bucket-region"])]
    page = buckets[:limit] if paged else buckets
    children: list[Node] = [("Owner", [("ID", account.canonical_id), ("DisplayName", account.name)]),
                            ("Buckets", [_bucket_node(b, region if paged else None) for b in page])]
    if len(buckets) > len(page):
        children.append(("ContinuationToken", encode_token(page[-1].name)))
    if "prefix" in q:
        children.append(("Prefix", q["prefix"]))
    return xml_response(document("ListAllMyBucketsResult", children))


def _max_buckets(raw: str | None) -> int:
    if raw is None:
        return C.LIST_BUCKETS_MAX
    return ascii_int(raw, "max-buckets", 1, C.LIST_BUCKETS_MAX,
                     f"Argument max-buckets must be an integer between 1 and {C.LIST_BUCKETS_MAX}")


def _bucket_node(bucket: BucketSummary, region: str | None) -> Node:
    """A <Bucket>; BucketRegion is shown, as AWS does, once the request used any paging parameter."""
    children: list[Node] = [("Name", bucket.name), ("CreationDate", bucket.creation_date)]
    if region is not None:
        children.append(("BucketRegion", bucket.location or region))
    return ("Bucket", children)


async def create_bucket(req: S3Request) -> S3Response:
    account = req.require_account()
    if not valid_bucket_name(req.bucket):
        raise S3Error("InvalidBucketName", BucketName=req.bucket)
    acl = request_acl(req, account.canonical_id)
    endpoint = endpoint_of(req.headers.get("host", ""), req.frontend.config.endpoints)
    location = req.frontend.placement.bucket(await _location_constraint(req), endpoint)   # InvalidLocationConstraint
    extra = {}
    if OWNERSHIP_HEADER in req.headers:
        extra[OWNERSHIP] = check_mode(req.headers[OWNERSHIP_HEADER].strip())
        refuse_acl_with_enforced(extra[OWNERSHIP], acl.get("acl"), account.canonical_id)
    versioning, lock = None, None
    if req.headers.get(LOCK_ENABLED_HEADER, "").strip().lower() == "true":
        # Object Lock is for good, and needs versioning on for good (AWS turns it on with it).
        versioning, lock = "Enabled", config_to_json(LockConfig())
    info = BucketInfo(req.bucket, account.canonical_id, account.name, iso_now(), location, acl.get("acl"),
                      versioning, object_lock=lock, extra=extra)
    try:
        await req.frontend.metadata.create_bucket(req.bucket, info, bucket_event(req))
    except S3Error as exc:
        # us-east-1 answers 200 to an owner re-creating its bucket (legacy behaviour AWS keeps),
        # but not when the request would change the bucket's ACL.
        if exc.code != "BucketAlreadyOwnedByYou" or location not in ("", "us-east-1"):
            raise
        existing = await req.frontend.metadata.get_bucket(req.bucket)
        owner = account.canonical_id
        if grants_of(existing.acl, owner) != grants_of(acl.get("acl"), owner):
            raise S3Error("BucketAlreadyExists", BucketName=req.bucket) from None
    return S3Response(200, {"Location": f"/{req.bucket}"})


async def _location_constraint(req: S3Request) -> str:
    body = await read_small_body(req, 64 * 1024)
    if not body.strip():
        return ""
    root = parse(body)
    if root.tag != "CreateBucketConfiguration":
        raise S3Error("MalformedXML")
    return child_text(root, "LocationConstraint") or ""


async def head_bucket(req: S3Request) -> S3Response:
    region = req.access.bucket.location or req.frontend.config.region
    return S3Response(200, {"x-amz-bucket-region": region})


async def delete_bucket(req: S3Request) -> S3Response:
    garbage = await req.frontend.metadata.delete_bucket(req.bucket, bucket_event(req))
    resp = S3Response(204)
    if garbage:
        resp.after.append(lambda: req.frontend.collect(garbage))
    return resp


async def get_bucket_location(req: S3Request) -> S3Response:
    return xml_response(text_document("LocationConstraint", req.frontend.placement.reply(req.access.bucket.location)))


HANDLERS = {
    "ListBuckets": list_buckets,
    "CreateBucket": create_bucket,
    "HeadBucket": head_bucket,
    "DeleteBucket": delete_bucket,
    "GetBucketLocation": get_bucket_location,
}
