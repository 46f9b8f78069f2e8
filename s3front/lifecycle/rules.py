"""A bucket's lifecycle rules on the request path: read once per change of the bucket, the
x-amz-expiration header of PUT, GET and HEAD, and x-amz-abort-* of CreateMultipartUpload.

The configuration is a cold one (s3front/api/bucket_config.py): the cached bucket record's
`configs` says whether there is one, so a bucket without lifecycle costs nothing here, and one with
it costs one `get_bucket_config` per change of the record (its `rev`), then nothing.
"""
from __future__ import annotations

import time

from s3front.tagging import TAGS
from shared import constants as C
from shared.contract.metadata import MetadataAPI
from shared.contract.records import BucketInfo, ObjectMD
from shared.lifecycle import Rule, rules_from_json
from shared.lifecycle_plan import abort_due, abort_headers, expiration_header, expiry
from shared.models import parse_iso

LIFECYCLE = "lifecycle"           # the configuration's kind
_CACHE_MAX = 10_000
_cache: dict[str, tuple[tuple[str, int], list[Rule]]] = {}


def has_lifecycle(bucket: BucketInfo) -> bool:
    """Whether the bucket has a lifecycle configuration (from the cached record: no call)."""
    return LIFECYCLE in bucket.configs


async def bucket_rules(metadata: MetadataAPI, bucket: BucketInfo) -> list[Rule]:
    """The bucket's lifecycle rules ([] when it has none), read once per revision of its record."""
    if not has_lifecycle(bucket):
        return []
    # The creation date too: a bucket deleted and made again starts its revisions over.
    stamp = (bucket.creation_date, bucket.rev)
    hit = _cache.get(bucket.name)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    stored = await metadata.get_bucket_config(bucket.name, LIFECYCLE)
    rules = rules_from_json(stored) if stored else []
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[bucket.name] = (stamp, rules)
    return rules


def created_at(md: ObjectMD) -> float:
    """An object's creation time (its Last-Modified) in epoch seconds."""
    return parse_iso(md.last_modified).timestamp() if md.last_modified else time.time()


async def expiration_headers(metadata: MetadataAPI, bucket: BucketInfo, key: str, md: ObjectMD) -> dict[str, str]:
    """`x-amz-expiration` for the current version `md` of `key`, if a rule expires it.

    Always in AWS's days, even with COFFER_LIFECYCLE_DAY_SECONDS: the header says when AWS would
    expire the object (as Ceph does under rgw_lc_debug_interval, and as s3-tests read it); the
    shortened day only speeds the worker."""
    rules = await bucket_rules(metadata, bucket)
    if not rules or md.is_delete_marker:
        return {}
    due = expiry(rules, key, md.size, md.extra.get(TAGS) or {}, created_at(md), C.LIFECYCLE_DAY_S)
    header = expiration_header(due)
    return {"x-amz-expiration": header} if header else {}


async def upload_abort_headers(metadata: MetadataAPI, bucket: BucketInfo, key: str) -> dict[str, str]:
    """x-amz-abort-date and x-amz-abort-rule-id of a new multipart upload of `key`, if a rule aborts it."""
    rules = await bucket_rules(metadata, bucket)
    return abort_headers(abort_due(rules, key, time.time(), C.LIFECYCLE_DAY_S)) if rules else {}
