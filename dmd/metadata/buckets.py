"""Bucket operations of the metadata daemon."""
from __future__ import annotations

import asyncio

from dmd.metadata import keys
from dmd.metadata.context import MetadataContext, dumps, loads
from dmd.metadata.engine import has_keys, prefix_cursor
from dmd.metadata.keys import metastore_key, users_key
from dmd.metadata.versioning import MD
from shared.errors import S3Error
from shared.models import iso_now

ATTRS_FORMAT = 1


async def create_bucket(ctx: MetadataContext, bucket: str, attrs: MD) -> dict:
    """Create a bucket, unless its name is taken (by this owner or another)."""
    async with ctx.buckets.hold(bucket, exclusive=True):
        existing = await ctx.read_json(metastore_key(bucket))
        if existing is not None:
            code = "BucketAlreadyOwnedByYou" if existing["owner"] == attrs["owner"] else "BucketAlreadyExists"
            raise S3Error(code, BucketName=bucket)
        attrs = {"versioning": None, **attrs, "name": bucket, "creationDate": attrs.get("creationDate") or iso_now(),
                 "_rev": 1, "format": ATTRS_FORMAT}
        await ctx.commit([(metastore_key(bucket), dumps(attrs)),
                          (users_key(attrs["owner"], bucket), dumps({"creationDate": attrs["creationDate"],
                                                                     "locationConstraint": attrs.get("locationConstraint")}))])
    return {}


async def get_bucket_attributes(ctx: MetadataContext, bucket: str) -> MD:
    return await ctx.bucket_attrs(bucket)


async def put_bucket_attributes(ctx: MetadataContext, bucket: str, attrs: MD, if_rev: int | None = None) -> dict:
    """Replace a bucket's attributes, optionally only if nobody changed them since revision `if_rev`."""
    async with ctx.buckets.hold(bucket, exclusive=True):
        current = await ctx.bucket_attrs(bucket)
        if if_rev is not None and current.get("_rev") != if_rev:
            raise S3Error("OperationAborted")
        attrs = {**attrs, "name": bucket, "owner": current["owner"], "_rev": current.get("_rev", 0) + 1,
                 "format": ATTRS_FORMAT}
        await ctx.commit([(metastore_key(bucket), dumps(attrs))])
    return {"_rev": attrs["_rev"]}


async def update_bucket_attributes(ctx: MetadataContext, bucket: str, set: MD | None = None,
                                   unset: list[str] | None = None) -> MD:
    """Read-modify-write of some attributes under the exclusive bucket lock."""
    async with ctx.buckets.hold(bucket, exclusive=True):
        attrs = await ctx.bucket_attrs(bucket)
        attrs.update(set or {})
        for name in unset or []:
            attrs.pop(name, None)
        attrs["_rev"] = attrs.get("_rev", 0) + 1
        await ctx.commit([(metastore_key(bucket), dumps(attrs))])
    return attrs


async def delete_bucket(ctx: MetadataContext, bucket: str) -> dict:
    """Delete an empty bucket; open multipart uploads go with it, their data to `__gc`."""
    async with ctx.buckets.hold(bucket, exclusive=True):
        attrs = await ctx.bucket_attrs(bucket)
        if await ctx.run(has_keys, ctx.engine, keys.bucket_prefix(bucket)):
            raise S3Error("BucketNotEmpty", BucketName=bucket)
        ops: list = [(metastore_key(bucket), None), (users_key(attrs["owner"], bucket), None)]
        mpu_ops, parts = await asyncio.to_thread(_multipart_state, ctx, bucket)
        gc_ops, gc = ctx.gc_entries(bucket, parts, "bucket-deleted")
        ops += mpu_ops
        await ctx.commit(ops + gc_ops)
    return {"gc": gc}


def _multipart_state(ctx: MetadataContext, bucket: str) -> tuple[list, list[MD]]:
    """Deletes for every MPU key of the bucket, and its stored parts (a scan: runs in a worker thread)."""
    ops, parts = [], []
    with prefix_cursor(ctx.engine, keys.mpu_prefix(bucket)) as cursor:
        for raw_key, raw in cursor:
            ops.append((raw_key, None))
            if keys.is_part_key(bucket, raw_key):
                parts.append(loads(raw))
    return ops, parts


def _owned_buckets(ctx: MetadataContext, owner: str) -> list[dict]:
    prefix = keys.users_prefix(owner)
    with prefix_cursor(ctx.engine, prefix) as cursor:
        return [{"name": raw_key[len(prefix):].decode(), **loads(raw)} for raw_key, raw in cursor]


async def list_buckets(ctx: MetadataContext, owner: str) -> list[dict]:
    """An account's buckets, sorted by name."""
    return await asyncio.to_thread(_owned_buckets, ctx, owner)
