"""Bucket operations of the metadata daemon."""
from __future__ import annotations

import asyncio
from typing import Any

from dmd.metadata import keys
from dmd.metadata.context import MetadataContext, dumps, loads
from dmd.metadata.engine import has_keys, prefix_cursor
from dmd.metadata.keys import metastore_key, users_key
from dmd.metadata.versioning import MD
from shared import constants as C
from shared.errors import S3Error
from shared.models import iso_now

ATTRS_FORMAT = 1
BUCKET_CREATED, BUCKET_REMOVED = "s3:BucketCreated", "s3:BucketRemoved"     # service-level events


async def create_bucket(ctx: MetadataContext, bucket: str, info: MD, event: MD | None = None) -> None:
    """Create a bucket, unless its name is taken (by this owner or another); s3:BucketCreated for the
    targets subscribed to bucket events, in the same batch."""
    attrs = info
    async with ctx.buckets.hold(bucket, exclusive=True):
        existing = await ctx.read_json(metastore_key(bucket))
        if existing is not None:
            code = "BucketAlreadyOwnedByYou" if existing["owner"] == attrs["owner"] else "BucketAlreadyExists"
            raise S3Error(code, BucketName=bucket)
        attrs = {"versioning": None, **attrs, "name": bucket, "creationDate": attrs.get("creationDate") or iso_now(),
                 "_rev": 1, "format": ATTRS_FORMAT}
        await ctx.commit([(metastore_key(bucket), dumps(attrs)),
                          (users_key(attrs["owner"], bucket), dumps({"creationDate": attrs["creationDate"],
                                                                     "locationConstraint": attrs.get("locationConstraint")})),
                          *ctx.outbox.bucket_ops(bucket, attrs, event, BUCKET_CREATED)])


async def get_bucket(ctx: MetadataContext, bucket: str) -> MD:
    return await ctx.bucket_attrs(bucket)


async def update_bucket(ctx: MetadataContext, bucket: str, set: MD | None, unset: list[str] | None) -> MD:
    """Read-modify-write of some attributes under the exclusive bucket lock."""
    async with ctx.buckets.hold(bucket, exclusive=True):
        attrs = await ctx.bucket_attrs(bucket)
        attrs.update(set or {})
        for name in unset or []:
            attrs.pop(name, None)
        attrs["_rev"] = attrs.get("_rev", 0) + 1
        await ctx.commit([(metastore_key(bucket), dumps(attrs))])
    return attrs


async def delete_bucket(ctx: MetadataContext, bucket: str, event: MD | None = None) -> list[dict]:
    """Delete an empty bucket; open multipart uploads and configurations go with it, data to `__gc`."""
    async with ctx.buckets.hold(bucket, exclusive=True):
        attrs = await ctx.bucket_attrs(bucket)
        if await ctx.run(has_keys, ctx.engine, keys.bucket_prefix(bucket)):
            raise S3Error("BucketNotEmpty", BucketName=bucket)
        ops: list = [(metastore_key(bucket), None), (users_key(attrs["owner"], bucket), None)]
        ops += [(keys.config_key(bucket, kind), None) for kind in attrs.get("configs") or ()]
        mpu_ops, parts = await asyncio.to_thread(_multipart_state, ctx, bucket)
        gc_ops, gc = ctx.gc_entries(bucket, parts, "bucket-deleted")
        ops += mpu_ops + ctx.outbox.bucket_ops(bucket, attrs, event, BUCKET_REMOVED)
        await ctx.commit(ops + gc_ops)
    return gc


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


async def get_bucket_config(ctx: MetadataContext, bucket: str, kind: str) -> Any:
    """A configuration kept apart from the bucket's attributes; None when the bucket has none of `kind`."""
    attrs = await ctx.bucket_attrs(bucket)
    if kind not in (attrs.get("configs") or ()):
        return None
    return await ctx.read_json(keys.config_key(bucket, kind))


async def put_bucket_config(ctx: MetadataContext, bucket: str, kind: str, config: Any) -> None:
    """Store (None: delete) a configuration, and name it in the attributes' `configs` in the same batch."""
    if kind == C.NOTIFY_CONFIG_KIND and config is not None:
        ctx.outbox.check_config(config)         # every ARN must name a configured target
    async with ctx.buckets.hold(bucket, exclusive=True):
        attrs = await ctx.bucket_attrs(bucket)
        kinds = set(attrs.get("configs") or ())
        kinds = kinds - {kind} if config is None else kinds | {kind}
        if kinds:
            attrs["configs"] = sorted(kinds)
        else:
            attrs.pop("configs", None)
        attrs["_rev"] = attrs.get("_rev", 0) + 1
        value = None if config is None else dumps(config)
        await ctx.commit([(metastore_key(bucket), dumps(attrs)), (keys.config_key(bucket, kind), value)])
