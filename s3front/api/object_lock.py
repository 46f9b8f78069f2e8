"""Object Lock: Put/GetObjectLockConfiguration, Put/GetObjectRetention, Put/GetObjectLegalHold, and
what PUT, copy and multipart uploads ask for with the x-amz-object-lock-* headers.

The documents, headers and decisions are shared/object_lock.py's; the metadata daemon enforces
them under the key lock (dmd/metadata/objects.py), so no front-end can delete a locked version.
"""
from __future__ import annotations

import time
from typing import Any

from shared.contract.records import BucketInfo, ObjectMD

from s3front.api.common import version_header
from s3front.api.objects import read_target
from s3front.authorize import may_bypass_governance
from s3front.body import read_small_body
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import document, parse
from shared.contract.records import bucket_changes_to_wire
from shared.errors import S3Error
from shared.object_lock import (LEGAL_HOLD, RETENTION, check_lock_config_allowed, config_from_json,
                                config_to_json, legal_hold_nodes, lock_config_nodes, parse_legal_hold,
                                parse_lock_config, parse_retention, require_lock_enabled, retention_from_json,
                                retention_nodes, retention_to_json)

MAX_BODY = 64 * 1024


async def put_object_lock_configuration(req: S3Request) -> S3Response:
    config = parse_lock_config(parse(await read_small_body(req, MAX_BODY)))
    check_lock_config_allowed(req.access.bucket.versioning)
    changes = bucket_changes_to_wire({"object_lock": config_to_json(config)})
    await req.frontend.metadata.update_bucket(req.bucket, *changes)
    return S3Response(200)


async def get_object_lock_configuration(req: S3Request) -> S3Response:
    lock = req.access.bucket.object_lock
    if lock is None:
        raise S3Error("ObjectLockConfigurationNotFoundError", BucketName=req.bucket)
    return xml_response(document("ObjectLockConfiguration", lock_config_nodes(config_from_json(lock))))


def _locked_target(req: S3Request) -> tuple[BucketInfo, ObjectMD]:
    require_lock_enabled(req.access.bucket.object_lock is not None)
    return read_target(req)


async def _change(req: S3Request, attrs: BucketInfo, md: ObjectMD, changes: dict[str, Any]) -> S3Response:
    # Name the version that was authorized, so that a PUT racing with us cannot receive the change.
    version_id = req.access.version_id if req.access.version_id is not None else md.version_id
    set_ = {k: v for k, v in changes.items() if v is not None}
    unset = [k for k, v in changes.items() if v is None]
    await req.frontend.metadata.update_object(req.bucket, req.key, version_id, set=set_, unset=unset,
                                              bypass_governance=may_bypass_governance(req))
    return S3Response(200, version_header(md, attrs))


async def put_object_retention(req: S3Request) -> S3Response:
    attrs, md = _locked_target(req)
    retention = parse_retention(parse(await read_small_body(req, MAX_BODY)), time.time())
    return await _change(req, attrs, md, {RETENTION: retention_to_json(retention)})


async def get_object_retention(req: S3Request) -> S3Response:
    attrs, md = _locked_target(req)
    retention = retention_from_json(md.extra.get(RETENTION))
    if retention is None:
        raise S3Error("NoSuchObjectLockConfiguration")
    return xml_response(document("Retention", retention_nodes(retention)), headers=version_header(md, attrs))


async def put_object_legal_hold(req: S3Request) -> S3Response:
    attrs, md = _locked_target(req)
    on = parse_legal_hold(parse(await read_small_body(req, MAX_BODY)))
    return await _change(req, attrs, md, {LEGAL_HOLD: on})


async def get_object_legal_hold(req: S3Request) -> S3Response:
    attrs, md = _locked_target(req)
    if md.extra.get(LEGAL_HOLD) is None:
        raise S3Error("NoSuchObjectLockConfiguration")
    return xml_response(document("LegalHold", legal_hold_nodes(md.extra[LEGAL_HOLD])),
                        headers=version_header(md, attrs))


HANDLERS = {
    "PutObjectLockConfiguration": put_object_lock_configuration,
    "GetObjectLockConfiguration": get_object_lock_configuration,
    "PutObjectRetention": put_object_retention, "GetObjectRetention": get_object_retention,
    "PutObjectLegalHold": put_object_legal_hold, "GetObjectLegalHold": get_object_legal_hold,
}
