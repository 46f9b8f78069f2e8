"""The listing calls of the metadata contract: one page per call, computed next to the data (design.md §6)."""
from __future__ import annotations

import asyncio

from dmd.metadata import listing, multipart
from dmd.metadata.context import MetadataContext
from dmd.metadata.keys import bucket_prefix, mpu_prefix
from dmd.metadata.versioning import MD


async def _page(ctx: MetadataContext, bucket: str, kind: str, query: MD, prefix: bytes) -> MD:
    """A page of the listing `kind`: the call names the algorithm, never the query."""
    await ctx.bucket_attrs(bucket)
    view = ctx.engine.view(prefix)
    return await asyncio.to_thread(listing.list_page, view, kind, {**query, "listingType": kind})


async def list_objects(ctx: MetadataContext, bucket: str, query: MD) -> MD:
    return await _page(ctx, bucket, "DelimiterMaster", query, bucket_prefix(bucket))


async def list_object_versions(ctx: MetadataContext, bucket: str, query: MD) -> MD:
    return await _page(ctx, bucket, "DelimiterVersions", query, bucket_prefix(bucket))


async def list_multipart_uploads(ctx: MetadataContext, bucket: str, query: MD) -> MD:
    return await _page(ctx, bucket, "MultipartUploads", query, mpu_prefix(bucket))


async def list_parts(ctx: MetadataContext, bucket: str, upload_id: str, part_number_marker: int, max_parts: int,
                     key: str | None) -> MD:
    """A page of an upload's parts; with `key`, the upload must exist (NoSuchUpload) and comes in `Upload`."""
    await ctx.bucket_attrs(bucket)
    upload = await multipart.upload_overview(ctx, bucket, key, upload_id) if key is not None else None
    view = ctx.engine.view(mpu_prefix(bucket))
    page = await asyncio.to_thread(listing.list_parts, view, upload_id, part_number_marker, max_parts)
    return page if upload is None else {**page, "Upload": upload}
