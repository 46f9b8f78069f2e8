"""One lifecycle pass over one bucket: its versions, then its open uploads, in pages of the
metadata contract's ordinary listings, each page's due actions done before the next is read.

Every action is the S3 call's own path: `delete_object` of the metadata daemon (which applies the
bucket's versioning and refuses, under the key lock, to remove a version under Object Lock) or
`abort_multipart_upload`, then the front-end's `collect` of the data they drop, as the DeleteObject
and AbortMultipartUpload handlers do. A refused (locked) version is skipped, not an error.
After each page the bucket's cursor (the last key done) is saved with the lease, so that a pass cut
short resumes there.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from s3front.lifecycle.rules import bucket_rules
from s3front.tagging import TAGS
from shared import constants as C
from shared.contract.listings import UploadsQuery, VersionEntry, VersionsQuery
from shared.contract.metadata import Garbage, MetadataAPI
from shared.contract.records import BucketInfo, ObjectMD
from shared.errors import S3Error
from shared.lifecycle import Rule
from shared.lifecycle_model import uses_tags
from shared.lifecycle_plan import (DELETE_VERSION, EXPIRE_CURRENT, REMOVE_DELETE_MARKER, Action, Version, plan_key,
                                   plan_upload)
from shared.notify.record import EventRequest
from shared.models import NULL_VERSION, external_version_id, iso_now, parse_iso

log = logging.getLogger("coffer.lifecycle")
Cursor = dict[str, Any]           # {"phase": "versions", "key": K} or {"phase": "uploads", "key": K, "upload": U}
_GONE = ("NoSuchKey", "NoSuchVersion", "NoSuchUpload")      # done by someone else meanwhile: nothing to do
_LOCKED = ("AccessDenied", "InvalidRequest")                # Object Lock refused the delete


@dataclass
class Report:
    """What a pass did: counts, and the first actions one by one."""

    buckets: int = 0
    expired: int = 0                  # current versions: deleted, or a delete marker placed
    noncurrent_deleted: int = 0
    delete_markers_removed: int = 0
    uploads_aborted: int = 0
    locked_skipped: int = 0
    errors: int = 0
    resumed: dict[str, str] = field(default_factory=dict)     # bucket -> the key its cursor resumed after
    actions: list[dict[str, str]] = field(default_factory=list)

    def note(self, bucket: str, key: str, action: str, rule: str, version: str | None = None) -> None:
        if len(self.actions) < C.LIFECYCLE_REPORT_ACTIONS:
            entry = {"bucket": bucket, "key": key, "action": action, "rule": rule}
            if version is not None:
                entry["versionId"] = version
            self.actions.append(entry)

    def as_dict(self) -> dict[str, Any]:
        return {"buckets": self.buckets, "expired": self.expired, "noncurrentDeleted": self.noncurrent_deleted,
                "deleteMarkersRemoved": self.delete_markers_removed, "uploadsAborted": self.uploads_aborted,
                "lockedSkipped": self.locked_skipped, "errors": self.errors, "resumed": self.resumed,
                "actions": self.actions}


@dataclass
class Scan:
    """What a bucket's scan works with: the daemons, the day, the pace, and where progress goes."""

    metadata: MetadataAPI
    collect: Callable[[Iterable[Garbage]], Awaitable[None]]
    save: Callable[[str, Cursor], Awaitable[None]]    # the bucket's cursor, with the lease (LeaseLost)
    report: Report
    day: int = C.LIFECYCLE_DAY_S
    page: int = C.LIFECYCLE_PAGE
    pause: float = 0.0                                 # seconds between pages (spares a busy cluster)


def _seconds(iso: str | None) -> float:
    return parse_iso(iso).timestamp() if iso else 0.0


def _vid(entry: VersionEntry) -> str:
    """The version id `delete_object` takes: the internal one, or "null"."""
    return NULL_VERSION if entry.is_null or not entry.version_id else entry.version_id


async def scan_bucket(scan: Scan, bucket: str, cursor: Cursor | None) -> None:
    """Apply the bucket's rules to every version and upload, from `cursor` on."""
    try:
        await _scan(scan, await scan.metadata.get_bucket(bucket), cursor)
    except S3Error as exc:
        if exc.code != "NoSuchBucket":          # deleted meanwhile: nothing left to expire
            raise


async def _scan(scan: Scan, info: BucketInfo, cursor: Cursor | None) -> None:
    """Versions (unless the rules only abort uploads), then uploads (if a rule aborts them)."""
    bucket = info.name
    rules = [r for r in await bucket_rules(scan.metadata, info) if r.enabled]
    if not rules:
        return
    scan.report.buckets += 1
    if cursor:
        scan.report.resumed[bucket] = cursor.get("key", "")
    if not cursor or cursor.get("phase") == "versions":
        if any(_expires(r) for r in rules):
            await _versions(scan, info, rules, cursor.get("key") if cursor else None)
        cursor = None
    if any(r.abort_days is not None for r in rules):
        await _uploads(scan, info, rules, cursor)


# -- versions -----------------------------------------------------------------------------------
def _expires(rule: Rule) -> bool:
    """Whether the rule acts on versions (not only on uploads)."""
    return (rule.expiration_days is not None or rule.expiration_date is not None
            or bool(rule.expired_object_delete_marker) or rule.noncurrent_days is not None)


async def _versions(scan: Scan, info: BucketInfo, rules: list[Rule], after: str | None) -> None:
    query = VersionsQuery(max_keys=scan.page, key_marker=after)
    carry: list[VersionEntry] = []
    while True:
        page = await scan.metadata.list_object_versions(info.name, query)
        entries = carry + page.versions
        # The last key of a truncated page may have more versions on the next one: keep it for then.
        last = entries[-1].key if page.is_truncated and entries else None
        carry = [e for e in entries if e.key == last]
        done = [e for e in entries if e.key != last]
        for key, group in groupby(done, key=lambda e: e.key):
            await _key(scan, info, rules, key, list(group))
        if done:
            await scan.save(info.name, {"phase": "versions", "key": done[-1].key})
        if not page.is_truncated:
            return
        query = VersionsQuery(max_keys=scan.page, key_marker=page.next_key_marker,
                              version_id_marker=page.next_version_id_marker)
        if scan.pause:
            await asyncio.sleep(scan.pause)


def _needs_tags(rules: list[Rule], key: str) -> bool:
    return any(uses_tags(r.filter) and key.startswith(r.filter.prefix) for r in rules)


async def _tags(scan: Scan, bucket: str, key: str, entry: VersionEntry) -> dict[str, str]:
    """A version's tags (the listing does not carry them): read only where a rule filters by tag."""
    if entry.is_delete_marker:
        return {}
    try:
        md = await scan.metadata.get_object(bucket, key, _vid(entry))
    except S3Error:
        return {}
    return md.extra.get(TAGS) or {}


async def _key(scan: Scan, info: BucketInfo, rules: list[Rule], key: str, entries: list[VersionEntry]) -> None:
    """The due actions of one key's versions (newest first), in the plan's order."""
    tagged = _needs_tags(rules, key)
    versions = [Version(_vid(e), _seconds(e.last_modified), e.size,
                        await _tags(scan, info.name, key, e) if tagged else {}, e.is_delete_marker)
                for e in entries]
    refused = False
    for action in plan_key(rules, key, versions, time.time(), scan.day):
        if action.kind == REMOVE_DELETE_MARKER and refused:
            break                     # a version beneath stays: the marker must stay above it
        done = await _act(scan, info, key, action, entries[0])
        refused = refused or not done


def _expiry_event(info: BucketInfo, version: str | None) -> EventRequest | None:
    """The LifecycleExpiration event of a delete, for a bucket with notification rules."""
    if C.NOTIFY_CONFIG_KIND not in info.configs:
        return None
    marks = version is None and info.versioning is not None      # a current version in a versioned bucket
    name = "s3:LifecycleExpiration:DeleteMarkerCreated" if marks else "s3:LifecycleExpiration:Delete"
    return EventRequest(name, "lifecycle", "", "")


async def _act(scan: Scan, info: BucketInfo, key: str, action: Action, current: VersionEntry) -> bool:
    """One action through the DeleteObject path; False if it was refused or not done."""
    report = scan.report
    version = None if action.kind == EXPIRE_CURRENT else action.version_id
    if version is None and not await _still_current(scan, info.name, key, current):
        return False
    marker = ObjectMD(last_modified=iso_now(), owner_id=info.owner, owner_name=info.owner_name)
    try:
        result = await scan.metadata.delete_object(info.name, key, version, marker, event=_expiry_event(info, version))
    except S3Error as exc:
        if exc.code in _GONE:
            return False
        if exc.code in _LOCKED:
            report.locked_skipped += 1
            return False
        report.errors += 1
        log.warning("lifecycle action failed", extra={"bucket": info.name, "key": key, "error": exc.code})
        return False
    await scan.collect(result.garbage)
    if action.kind == EXPIRE_CURRENT:
        report.expired += 1
    elif action.kind == DELETE_VERSION:
        report.noncurrent_deleted += 1
    else:
        report.delete_markers_removed += 1
    shown = None if version is None else external_version_id(version, version == NULL_VERSION)
    report.note(info.name, key, action.kind, action.rule_id, shown)
    return True


async def _still_current(scan: Scan, bucket: str, key: str, listed: VersionEntry) -> bool:
    """Whether the version listed as current still is: a PUT since must not be expired in its place.
    (A PUT between this read and the delete can still be; the window is one RPC.)"""
    try:
        md = await scan.metadata.get_object(bucket, key)
    except S3Error:
        return False
    return (not md.is_delete_marker and md.last_modified == listed.last_modified
            and (md.version_id or None) == (listed.version_id or None))


# -- uploads ------------------------------------------------------------------------------------
async def _uploads(scan: Scan, info: BucketInfo, rules: list[Rule], cursor: Cursor | None) -> None:
    query = UploadsQuery(max_keys=scan.page, key_marker=cursor.get("key") if cursor else None,
                         upload_id_marker=cursor.get("upload") if cursor else None)
    while True:
        page = await scan.metadata.list_multipart_uploads(info.name, query)
        for upload in page.uploads:
            rule = plan_upload(rules, upload.key, _seconds(upload.initiated), time.time(), scan.day)
            if rule is not None:
                await _abort(scan, info.name, upload.key, upload.upload_id, rule)
        if page.uploads:
            last = page.uploads[-1]
            await scan.save(info.name, {"phase": "uploads", "key": last.key, "upload": last.upload_id})
        if not page.is_truncated:
            return
        query = UploadsQuery(max_keys=scan.page, key_marker=page.next_key_marker,
                             upload_id_marker=page.next_upload_id_marker)
        if scan.pause:
            await asyncio.sleep(scan.pause)


async def _abort(scan: Scan, bucket: str, key: str, upload_id: str, rule: str) -> None:
    """AbortMultipartUpload's path: the daemon drops the upload, the front-end its parts' data."""
    try:
        garbage = await scan.metadata.abort_multipart_upload(bucket, key, upload_id)
    except S3Error as exc:
        if exc.code not in _GONE:
            scan.report.errors += 1
            log.warning("lifecycle abort failed", extra={"bucket": bucket, "key": key, "error": exc.code})
        return
    await scan.collect(garbage)
    scan.report.uploads_aborted += 1
    scan.report.note(bucket, key, "abort-upload", rule, upload_id)
