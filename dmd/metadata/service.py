"""The RPC surface of the metadata daemon (design.md §2.4): one table, one dispatcher."""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dmd.metadata import buckets, listing, multipart, objects, raw, streams
from dmd.metadata.context import MetadataContext
from dmd.metadata.keys import bucket_prefix, mpu_prefix
from dmd.metadata.locks import call_deadline
from shared import constants as C
from shared.errors import InternalError

log = logging.getLogger("coffer.metadata")

Handler = Callable[..., Awaitable[Any]]

# Calls that can change state: their outcome is unknown to a client that lost the reply.
WRITE_METHODS = {"createBucket", "putBucketAttributes", "updateBucketAttributes", "deleteBucket", "putObject",
                 "updateObject", "deleteObject", "initiateMultipartUpload", "putPart",
                 "completeMultipartUpload", "abortMultipartUpload", "gcDone", "put", "del", "batch"}


async def list_object(ctx: MetadataContext, bucket: str, params: dict) -> dict:
    """One listing page, computed next to the data (design.md §6)."""
    kind = params.get("listingType", "DelimiterMaster")
    await ctx.bucket_attrs(bucket)
    prefix = mpu_prefix(bucket) if kind == "MultipartUploads" else bucket_prefix(bucket)
    view = ctx.engine.view(prefix)
    return await asyncio.to_thread(listing.list_page, view, kind, params)


async def list_parts(ctx: MetadataContext, bucket: str, uploadId: str, partNumberMarker: int = 0,
                     maxParts: int = C.LISTING_MAX_KEYS, key: str | None = None) -> dict:
    """A page of an upload's parts; with `key`, the upload must exist (NoSuchUpload) and comes in `Upload`."""
    await ctx.bucket_attrs(bucket)
    upload = await multipart.upload_overview(ctx, bucket, key, uploadId) if key is not None else None
    view = ctx.engine.view(mpu_prefix(bucket))
    page = await asyncio.to_thread(listing.list_parts, view, uploadId, partNumberMarker, maxParts)
    return page if upload is None else {**page, "Upload": upload}


@functools.cache
def _parameters(handler: Handler) -> tuple[frozenset[str], frozenset[str], bool]:
    """(all argument names, required ones, takes **kwargs) after the context argument.

    Checking names against these sets is what Signature.bind did, at a fraction of its cost.
    """
    params = list(inspect.signature(handler).parameters.values())[1:]
    names = frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    required = frozenset(p.name for p in params if p.default is p.empty
                         and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names, required, any(p.kind is p.VAR_KEYWORD for p in params)


def _check_arguments(handler: Handler, args: dict[str, Any]) -> None:
    names, required, open_ended = _parameters(handler)
    missing = required - args.keys()
    unknown = set() if open_ended else args.keys() - names
    if missing or unknown:
        raise TypeError(f"missing {sorted(missing)}, unexpected {sorted(unknown)}")


class MetadataService:
    """Maps call messages onto the operations, with deadlines and error framing."""

    def __init__(self, ctx: MetadataContext) -> None:
        self.ctx = ctx
        self.streams: streams.StreamRegistry | None = None   # set by the server, which can emit
        self.methods: dict[str, Handler] = {
            "getManifest": self.get_manifest,
            "getStats": self.get_stats,
            "createBucket": buckets.create_bucket,
            "getBucketAttributes": buckets.get_bucket_attributes,
            "putBucketAttributes": buckets.put_bucket_attributes,
            "updateBucketAttributes": buckets.update_bucket_attributes,
            "deleteBucket": buckets.delete_bucket,
            "listBuckets": buckets.list_buckets,
            "getBucketAndObject": objects.get_bucket_and_object,
            "getObject": objects.get_object,
            "putObject": objects.put_object,
            "updateObject": objects.update_object,
            "deleteObject": objects.delete_object,
            "listObject": list_object,
            "listParts": list_parts,
            "gcDone": objects.gc_done,
            "get": raw.get,
            "put": raw.put,
            "del": raw.delete,
            "batch": raw.batch,
            **multipart.METHODS,
            **streams.METHODS,
        }

    def add_methods(self, methods: dict[str, Handler]) -> None:
        self.methods.update(methods)

    async def get_manifest(self, ctx: MetadataContext) -> dict:
        return {"apiVersion": C.RPC_API_VERSION, "proto": C.RPC_PROTO, "boot_id": ctx.boot_id,
                "db_uuid": ctx.engine.db_uuid, "methods": sorted(self.methods),
                "degraded": ctx.gatherer.degraded,
                "limits": {"maxKeys": C.LISTING_MAX_KEYS, "streamMaxPendingAck": C.STREAM_MAX_PENDING_ACK,
                           "streamAckTimeoutMs": int(C.STREAM_ACK_TIMEOUT_S * 1000)}}

    async def get_stats(self, ctx: MetadataContext) -> dict:
        return {"gatherer": ctx.gatherer.stats.as_dict(), "locks": {
            "buckets": len(ctx.buckets), "keys": len(ctx.keys), "uploads": len(ctx.uploads)},
                "streams": self.streams.stats() if self.streams else {}}

    async def dispatch(self, method: str, args: dict[str, Any], timeout_ms: int, received: float) -> Any:
        """Run one call; raises S3Error or InternalError for the reply."""
        handler = self.methods.get(method)
        if handler is None:
            raise InternalError(f"unknown method {method!r}", "InvalidArgument")
        try:
            _check_arguments(handler, args)
        except TypeError as exc:
            raise InternalError(f"bad arguments for {method}: {exc}", "InvalidArgument") from exc
        deadline = received + timeout_ms / 1000
        if time.monotonic() >= deadline:
            raise InternalError("the call expired before it started", "RequestTimeout")
        token = call_deadline.set(deadline)
        try:
            return await handler(self.ctx, **args)
        finally:
            call_deadline.reset(token)
