"""Cluster-wide leases (the lifecycle worker's): one holder at a time, with an expiry, kept durably.

A lease is one document `{holder, expires, state}` under `__leases`, changed under its own lock
(across daemons on a shared engine), with this daemon's clock as the only clock: a front-end's
clock never decides who holds it. The holder's `state` (the worker's cursors) is written only by
the holder of an unexpired lease, so a holder that stalled past its expiry and lost the lease to
another cannot overwrite the new holder's progress.
"""
from __future__ import annotations

import time
from typing import Any

from dmd.metadata import keys
from dmd.metadata.context import MetadataContext, dumps
from dmd.metadata.engine import prefix_cursor
from shared.errors import S3Error


def _holds(doc: dict[str, Any], holder: str, now: float) -> bool:
    return doc.get("holder") == holder and doc.get("expires", 0.0) > now


async def take_lease(ctx: MetadataContext, name: str, holder: str, ttl_s: float, state: Any = None) -> dict:
    """Take or renew `name` for `ttl_s` seconds unless another holder's lease is unexpired."""
    if not holder or not 0 < ttl_s <= 3600:
        raise S3Error("InvalidArgument", "a lease needs a holder and a ttl of (0, 3600] seconds")
    key = keys.lease_key(name)
    async with ctx.leases.hold(name):
        doc = await ctx.read_json(key) or {}
        now = time.time()
        if doc.get("holder") not in (None, holder) and doc.get("expires", 0.0) > now:
            return {**doc, "held": False}
        doc = {**doc, "holder": holder, "expires": now + ttl_s}
        if state is not None:
            doc["state"] = state
        await ctx.commit([(key, dumps(doc))])
    return {**doc, "held": True}


async def release_lease(ctx: MetadataContext, name: str, holder: str, state: Any = None) -> None:
    """Give the lease up, if `holder` holds it, storing `state` (None: keep) as it goes."""
    key = keys.lease_key(name)
    async with ctx.leases.hold(name):
        doc = await ctx.read_json(key) or {}
        if not _holds(doc, holder, time.time()):
            return
        doc = {**doc, "holder": None, "expires": 0.0}
        if state is not None:
            doc["state"] = state
        await ctx.commit([(key, dumps(doc))])


def _with_config(ctx: MetadataContext, kind: str) -> list[str]:
    with prefix_cursor(ctx.engine, keys.CONFIGS) as cursor:
        return sorted({bucket for bucket, found in (keys.config_kind(k) for k, _ in cursor) if found == kind})


async def buckets_with_config(ctx: MetadataContext, kind: str) -> list[str]:
    """Every bucket with a configuration of `kind` (one scan of the small `__configs` sub-level)."""
    return await ctx.run(_with_config, ctx, kind)
