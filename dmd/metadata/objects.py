"""Object operations of the metadata daemon: each S3 decision in one call, under the key lock."""
from __future__ import annotations

import time

from dmd.metadata import keys
from dmd.metadata.context import MetadataContext
from dmd.metadata.keys import version_key
from dmd.metadata.notify.outbox import removal_event
from dmd.metadata.versioning import (MD, Plan, plan_delete, plan_delete_version, plan_put, resolve_version,
                                     successor_needed, version_to_read)
from shared.contract.records import OBJECT_FORMAT
from shared.errors import InternalError, S3Error
from shared.models import NULL_VERSION, etag_matches, iso_now
from shared.object_lock import LEGAL_HOLD, RETENTION, check_delete, check_retention_change, retention_from_json

MD_MODEL_VERSION = OBJECT_FORMAT     # pieces name their part in partNumber/partETag
# The events each call makes unless the front-end names another (a copy, a POST ...).
CREATED_PUT = "s3:ObjectCreated:Put"
REMOVED_DELETE = "s3:ObjectRemoved:Delete"
REMOVED_MARKER = "s3:ObjectRemoved:DeleteMarkerCreated"


def _check_master(md: MD | None) -> MD | None:
    if md is not None and md.get("isPHD"):
        raise InternalError("found a placeholder master; Coffer never writes those")
    return md


async def _null_version(ctx: MetadataContext, bucket: str, key: str, master: MD | None) -> MD | None:
    if master and not master.get("isNull") and master.get("nullVersionId"):
        return await ctx.read_object(bucket, version_key(key, master["nullVersionId"]))
    return None


async def _resolve(ctx: MetadataContext, bucket: str, key: str, master: MD | None, version_id: str) -> MD | None:
    """The version `version_id` names (`null` or a vid): the one read it needs, then the pure decision."""
    vid = version_to_read(master, version_id)
    stored = await ctx.read_object(bucket, version_key(key, vid)) if vid else None
    return resolve_version(master, version_id, stored)


async def _find(ctx: MetadataContext, bucket: str, key: str, version_id: str | None) -> MD:
    master = _check_master(await ctx.read_object(bucket, key))
    if version_id is None:
        if master is None:
            raise S3Error("NoSuchKey", Key=key)
        return master
    found = await _resolve(ctx, bucket, key, master, version_id)
    if found is None:
        raise S3Error("NoSuchKey" if version_id == NULL_VERSION else "NoSuchVersion", Key=key)
    return found


async def get_object(ctx: MetadataContext, bucket: str, key: str, version_id: str | None = None) -> MD:
    """An object's metadata (the master, or a given version); delete markers are returned as they are."""
    await ctx.bucket_attrs(bucket)
    return await _find(ctx, bucket, key, version_id)


async def get_bucket_and_object(ctx: MetadataContext, bucket: str, key: str, version_id: str | None = None) -> dict:
    """The bucket's attributes and the object's metadata (None when missing) in one round trip."""
    attrs = await ctx.bucket_attrs(bucket)
    try:
        obj = await _find(ctx, bucket, key, version_id)
    except S3Error as exc:
        if exc.code == "NoSuchVersion":
            raise
        obj = None
    return {"bucket": attrs, "object": obj}


def check_write_condition(master: MD | None, condition: dict | None, key: str) -> None:
    """A conditional write (If-Match / If-None-Match) against the current object; a delete marker is no object."""
    if not condition:
        return
    current = None if master is None or master.get("isDeleteMarker") else master
    etag = (current or {}).get("content-md5", "")
    if "ifMatch" in condition:
        if current is None:
            raise S3Error("NoSuchKey", Key=key)
        if not etag_matches(condition["ifMatch"], etag):
            raise S3Error("PreconditionFailed", Condition="If-Match")
    if "ifNoneMatch" in condition and current is not None and etag_matches(condition["ifNoneMatch"], etag):
        raise S3Error("PreconditionFailed", Condition="If-None-Match")


async def put_object(ctx: MetadataContext, bucket: str, key: str, md: MD, condition: dict | None = None,
                     event: dict | None = None) -> dict:
    """Store a new object version per the bucket's versioning state (design.md §5.6), if `condition` holds;
    its event record (if the bucket's rules want one) goes into the same batch."""
    async with ctx.buckets.hold(bucket, exclusive=False), ctx.keys.hold((bucket, key)):
        if condition:
            await ctx.bucket_attrs(bucket)
            check_write_condition(_check_master(await ctx.read_object(bucket, key)), condition, key)
        plan, ops, gc = await put_version_ops(ctx, bucket, key, md, event)
        await ctx.commit(ops)
    return {**plan.result, "gc": gc}


async def put_version_ops(ctx: MetadataContext, bucket: str, key: str, md: MD, event: dict | None = None,
                          default_event: str = CREATED_PUT) -> tuple[Plan, list, list[dict]]:
    """The batch that stores a new version (PUT rules of §5.6), with its event records; the caller holds
    the bucket and key locks."""
    attrs = await ctx.bucket_attrs(bucket)
    state = attrs.get("versioning")
    master = _check_master(await ctx.read_object(bucket, key))
    # Stamped at commit, under the key lock, so that Last-Modified follows version order
    # even when several front-ends race on one key.
    md = {**md, "key": key, "md-model-version": MD_MODEL_VERSION, "last-modified": iso_now()}
    null_version = await _null_version(ctx, bucket, key, master)
    plan = plan_put(state, key, master, null_version, md, ctx.new_version_id(master))
    ops, gc = ctx.plan_ops(bucket, plan, "replaced")
    ops += await ctx.outbox.ops(bucket, attrs, event, default_event, key, _written(plan, key))
    return plan, ops + ctx.hwm_ops(), gc


def _written(plan: Plan, key: str) -> MD | None:
    """The master a plan writes (what an event record describes), None when it writes none."""
    return next((v for k, v in reversed(plan.puts) if k == key), None)


async def update_object(ctx: MetadataContext, bucket: str, key: str, version_id: str | None = None,
                        set: MD | None = None, unset: list[str] | None = None, bypass_governance: bool = False,
                        event: dict | None = None) -> MD:
    """Change metadata-only fields (ACL, tags, retention, legal hold) of one version, and of the master
    if it is that version. A retention may only be weakened as Object Lock allows (under the key lock)."""
    async with ctx.buckets.hold(bucket, exclusive=False), ctx.keys.hold((bucket, key)):
        attrs = await ctx.bucket_attrs(bucket)
        target = await _find(ctx, bucket, key, version_id)
        if target.get("isDeleteMarker"):
            raise S3Error("MethodNotAllowed")
        updated = {**target, **(set or {})}
        for name in unset or []:
            updated.pop(name, None)
        if updated.get(RETENTION) != target.get(RETENTION):
            check_retention_change(retention_from_json(target.get(RETENTION)),
                                   retention_from_json(updated.get(RETENTION)), time.time(),
                                   bypass_governance, bypass_governance)
        master = await ctx.read_object(bucket, key)
        puts = []
        vid = target.get("versionId")
        if vid and await ctx.read_object(bucket, version_key(key, vid)) is not None:
            puts.append((version_key(key, vid), updated))
        if master is not None and master.get("versionId") == vid:
            puts.append((key, updated))
        ops, _ = ctx.plan_ops(bucket, Plan(puts=puts), "updated")
        ops += await ctx.outbox.ops(bucket, attrs, event, "", key, updated)    # only the event the front-end names
        await ctx.commit(ops)
    return updated


async def delete_object(ctx: MetadataContext, bucket: str, key: str, version_id: str | None = None,
                        marker: MD | None = None, bypass_governance: bool = False, event: dict | None = None) -> dict:
    """Delete an object, stack a delete marker, or remove one version (design.md §5.6). A version
    under Object Lock (a legal hold, or a retention not yet past) is refused here, under the key
    lock, so that no front-end and no race can remove it; `bypass_governance` is the front-end's
    word that the request sent x-amz-bypass-governance-retention and may use it."""
    async with ctx.buckets.hold(bucket, exclusive=False), ctx.keys.hold((bucket, key)):
        attrs = await ctx.bucket_attrs(bucket)
        state = attrs.get("versioning")
        master = _check_master(await ctx.read_object(bucket, key))
        removed = master
        if version_id is None:
            marker = {**(marker or {}), "key": key, "md-model-version": MD_MODEL_VERSION}
            null_version = await _null_version(ctx, bucket, key, master)
            plan = plan_delete(state, key, master, null_version, marker, ctx.new_version_id(master))
        else:
            target = await _resolve(ctx, bucket, key, master, version_id)
            if target is not None:
                check_delete(retention_from_json(target.get(RETENTION)), bool(target.get(LEGAL_HOLD)),
                             time.time(), bypass_governance, bypass_governance)
            replaced = successor_needed(master, target)
            successor = await ctx.next_version(bucket, key, replaced) if replaced else None
            plan = plan_delete_version(key, master, target, successor)
            removed = target
        if not plan.puts and not plan.dels:
            return {**plan.result, "gc": []}
        ops, gc = ctx.plan_ops(bucket, plan, "deleted")
        if plan.result.get("deleteMarker") and version_id is None:
            ops += await ctx.outbox.ops(bucket, attrs, removal_event(event, True), REMOVED_MARKER, key,
                                        _written(plan, key))
        else:
            ops += await ctx.outbox.ops(bucket, attrs, removal_event(event, False), REMOVED_DELETE, key, removed)
        await ctx.commit(ops + ctx.hwm_ops())
    return {**plan.result, "gc": gc}


async def gc_done(ctx: MetadataContext, entries: list[str]) -> None:
    """Forget `__gc` entries whose data has been deleted."""
    if entries:
        await ctx.commit([(keys.gc_entry(e), None) for e in entries])
