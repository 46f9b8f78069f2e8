"""Server access logs on a front-end: one record per request on a logged bucket, delivered as log objects.

A request's bucket record (already read to authorize it) says whether the bucket is logged: its
`configs` names the logging configuration. For a bucket that is not, `logged()` is one set lookup
and nothing else happens. For one that is, the configuration is read once per bucket revision, and
the target's permission (its policy or ACL letting log delivery in, logging_config.py) is decided
again whenever the target's record changes: a target that revokes it receives no more records. The
record goes into the front-end's LogBuffer (s3front/access_log_format.py), which hands its
batches to the metadata daemon every C.ACCESS_LOG_SHIP_S; the front-end holding the cluster's
`access-log` lease writes them as log objects (s3front/access_log_delivery.py), so however many
front-ends served a bucket, one interval makes one log object. Those writes are no requests: they
are never logged. A front-end that stops cleanly hands over what it holds; one killed (kill -9)
loses at most the last C.ACCESS_LOG_SHIP_S of records.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from s3front import logging_config as G
from s3front.access_log_delivery import Delivery, batch_document
from s3front.access_log_format import (BATCH_DELETE, COPY_SOURCE, PART_COPY_SOURCE, Lines, LogBuffer, LogRecord,
                                       LogTarget, operation_name)
from s3front.auth import AuthResult
from s3front.authorize import Access
from s3front.request import S3Request, S3Response
from shared import constants as C
from shared.contract.records import BucketInfo
from shared.errors import S3Error

if TYPE_CHECKING:
    from s3front.frontend import Frontend

log = logging.getLogger("coffer.accesslog")
_SIZED = ("PutObject", "UploadPart", "PostObject")      # their object size is the body's


def logged(req: S3Request) -> bool:
    """Whether the request makes a record: its bucket (or a copy's source) is logged. The hot path:
    no I/O, a set lookup or two; a request refused before authorization (a bad signature) counts
    when its bucket is in the cache."""
    access = req.access
    if access is None:
        return _is_logged(req.frontend.metadata.cached_bucket(req.bucket) if req.bucket else None)
    return _is_logged(access.bucket) or _is_logged(access.source_bucket)


def _is_logged(bucket: BucketInfo | None) -> bool:
    return bucket is not None and G.KIND in bucket.configs


def _request_bucket(req: S3Request) -> BucketInfo | None:
    if req.access is not None:
        return req.access.bucket
    return req.frontend.metadata.cached_bucket(req.bucket) if req.bucket else None


@dataclass
class _Route:
    """A logged bucket's configuration (at its revision `stamp`), and the target it resolved to."""
    stamp: tuple[str, int]
    config: G.LoggingConfig | None
    target_stamp: tuple[str, int] | None = None
    target: LogTarget | None = None


class AccessLogger:
    """The front-end's records, their targets and their delivery."""

    def __init__(self, frontend: "Frontend", interval_s: float) -> None:
        interval_s = max(interval_s, C.ACCESS_LOG_MIN_FLUSH_S)     # never a busy loop
        self.frontend = frontend
        self.buffer = LogBuffer(self._ship, min(interval_s, C.ACCESS_LOG_SHIP_S))
        self.delivery = Delivery(frontend, interval_s)
        self._routes: dict[str, _Route] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Hand every buffered record over and give the delivery lease up (the front-end is stopping)."""
        if self._task is not None:
            self._task.cancel()
        try:
            shipped = await self.buffer.stop()
            if shipped:
                log.info("access logs handed over on stop", extra={"batches": shipped})
            await self.delivery.release()
        except Exception as exc:  # noqa: BLE001 - stopping goes on; the records are lost, and said so
            log.warning("access logs could not be handed over on stop",
                        extra={"error": str(exc), "records": self.buffer.pending()})

    async def _run(self) -> None:
        ticks_per_delivery = max(1, round(C.ACCESS_LOG_TICK_S / C.ACCESS_LOG_SHIP_S))
        for n in itertools.count(1):
            await asyncio.sleep(C.ACCESS_LOG_SHIP_S)
            await self._tick()
            if n % ticks_per_delivery == 0:
                await self._deliver()

    async def _tick(self) -> None:
        try:
            await self.buffer.tick()
        except Exception as exc:  # noqa: BLE001 - the buffer keeps the records for the next tick
            log.warning("access log records could not be handed over", extra={"error": str(exc)})

    async def _deliver(self) -> None:
        try:
            await self.delivery.tick()
        except Exception as exc:  # noqa: BLE001 - the daemon keeps the records for the next tick
            log.warning("access log delivery failed", extra={"error": str(exc)})

    async def _ship(self, target: LogTarget, records: Lines) -> None:
        """Hand one target's batch to the metadata daemon, with the TargetGrants its log objects get."""
        route = self._routes.get(target.source_bucket)
        grants = route.config.grants if route is not None and route.config is not None else ()
        await self.frontend.metadata.append_access_logs(target.source_bucket, batch_document(target, grants, records))

    async def record(self, req: S3Request, resp: S3Response, started: float, wall: float, finished: float) -> None:
        """Buffer the records of one finished request (see `logged`): its own, one per key a
        DeleteObjects removed, and a copy's read of its source in the source bucket's log, as AWS writes them."""
        bucket = _request_bucket(req)
        try:
            full = False
            if _is_logged(bucket):
                record = build_record(req, resp, bucket, started, wall, finished)
                full |= await self._add(bucket, record)
                for key, version in resp.deleted:
                    full |= await self._add(bucket, replace(record, operation=BATCH_DELETE, key=key, version_id=version,
                                                            request_uri=None, status=204, bytes_sent=0))
            source = req.access.source_bucket if req.access is not None else None
            if _is_logged(source) and resp.status < 300:
                full |= await self._add(source, _source_record(req, resp, source, started, wall, finished))
            if full:
                asyncio.get_running_loop().create_task(self._tick())      # a full batch goes now
        except Exception as exc:  # noqa: BLE001 - a record never fails its request
            log.warning("access log record dropped", extra={"error": str(exc), "bucket": req.bucket})

    async def _add(self, bucket: BucketInfo, record: LogRecord) -> bool:
        """Buffer one record of `bucket`; True when its batch is full."""
        target = await self._target(bucket)
        return target is not None and self.buffer.add(target, record)

    async def _target(self, bucket: BucketInfo) -> LogTarget | None:
        """Where the bucket's records go, or None when they go nowhere (no configuration, the target
        gone, or its policy no longer letting log delivery in). Read once per revision of each bucket."""
        stamp = (bucket.creation_date, bucket.rev)
        route = self._routes.get(bucket.name)
        if route is None or route.stamp != stamp:
            stored = await self.frontend.metadata.get_bucket_config(bucket.name, G.KIND)
            route = _Route(stamp, G.LoggingConfig.from_dict(stored) if stored else None)
            if len(self._routes) >= C.ACCESS_LOG_TARGETS_CACHED:
                self._routes.clear()
            self._routes[bucket.name] = route
        if route.config is None:
            return None
        try:
            target = await self.frontend.metadata.get_bucket(route.config.target_bucket)    # the cached record
        except S3Error as err:
            if err.code == "NoSuchBucket":
                return None
            raise
        target_stamp = (target.creation_date, target.rev)
        if route.target_stamp != target_stamp:
            account = self.frontend.config.account_by_canonical_id(bucket.owner)
            permitted = G.target_permits(route.config, bucket, target, account.account_id if account else None)
            route.target_stamp, route.target = target_stamp, self._log_target(bucket, route.config) if permitted else None
            if not permitted:
                log.warning("access log target no longer permits delivery: records dropped",
                            extra={"bucket": bucket.name, "target": target.name})
        return route.target

    def _log_target(self, bucket: BucketInfo, config: G.LoggingConfig) -> LogTarget:
        account = self.frontend.config.account_by_canonical_id(bucket.owner)
        return LogTarget(bucket.name, account.account_id if account else bucket.owner,
                         bucket.location or self.frontend.config.region, config.target_bucket,
                         config.target_prefix, config.key_format, config.date_source)


def build_record(req: S3Request, resp: S3Response, bucket: BucketInfo, started: float, wall: float,
                 finished: float) -> LogRecord:
    """The log record of a finished request: `started`/`finished` on the perf clock, `wall` its time."""
    op = req.operation.name if req.operation else None
    signature, auth_type = _auth_fields(req)
    query = f"?{req.raw_query}" if req.raw_query else ""
    replied = req.replied_at or finished
    return LogRecord(
        bucket_owner=bucket.owner, bucket=bucket.name, time=datetime.fromtimestamp(wall, timezone.utc),
        remote_ip=req.source_ip or None, requester=_requester(req), request_id=req.request_id,
        operation=operation_name(op) if op else "-", key=req.key, request_uri=f"{req.method} {req.raw_path}{query} HTTP/1.1",
        status=resp.status, error_code=resp.error_code, bytes_sent=req.sent, object_size=_object_size(req, op),
        total_time=_ms(finished - started), turn_around_time=_ms(replied - (req.body_done_at or started)),
        referer=req.headers.get("referer"), user_agent=req.headers.get("user-agent"),
        version_id=resp.headers.get("x-amz-version-id") or req.query.get("versionId"), host_id=req.request_id,
        signature_version=signature, cipher_suite=None, authentication_type=auth_type,
        host_header=req.headers.get("host"), tls_version=None,
        acl_required=req.access is not None and req.access.acl_required)


def _source_record(req: S3Request, resp: S3Response, source: BucketInfo, started: float, wall: float,
                   finished: float) -> LogRecord:
    """The record of a copy's read of its source, in the source bucket's log."""
    op = PART_COPY_SOURCE if req.operation.name == "UploadPartCopy" else COPY_SOURCE
    md = req.access.source
    return replace(build_record(req, resp, source, started, wall, finished), operation=op, key=req.access.source_key,
                   version_id=_source_version(req), object_size=md.size if md is not None else None)


def _source_version(req: S3Request) -> str | None:
    """The versionId a copy source named (x-amz-copy-source: bucket/key?versionId=...)."""
    header = req.headers.get("x-amz-copy-source", "")
    return header.split("versionId=", 1)[1].split("&", 1)[0] if "versionId=" in header else None


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _requester(req: S3Request) -> str | None:
    """The requester as AWS writes it: an IAM identity's ARN, an account's canonical id, `-` if anonymous."""
    if req.account is None:
        return None
    who = req.principal
    return who.arn if who is not None and who.arn else req.account.canonical_id


def _auth_fields(req: S3Request) -> tuple[str | None, str | None]:
    """(SigV2 | SigV4, AuthHeader | QueryString) of a signed request; `-` for an anonymous one."""
    if req.account is None:
        return None, None
    query, header = req.query, req.headers.get("authorization", "")
    if "X-Amz-Signature" in query:
        return "SigV4", "QueryString"
    if "Signature" in query:
        return "SigV2", "QueryString"
    if header.startswith("AWS "):
        return "SigV2", "AuthHeader"
    return "SigV4", "AuthHeader" if header else None


def _object_size(req: S3Request, op: str | None) -> int | None:
    md = req.access.object if req.access is not None else None
    if md is not None and not md.is_delete_marker:
        return md.size
    if op in _SIZED:
        value = req.headers.get("x-amz-decoded-content-length") or req.headers.get("content-length")
        return int(value) if value and value.isdigit() else None
    return None
