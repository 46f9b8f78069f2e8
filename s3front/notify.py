"""What the front-end adds to bucket event notifications: the event's name and who asked.

A mutation of a bucket with notification rules carries an `EventRequest` to the metadata daemon,
which writes the event record in the mutation's own batch (dmd/metadata/notify/). A bucket
without rules (its cached record's `configs` says so) gets nothing: no extra call, no extra byte.
ObjectAccessed events have no metadata write: they are queued after the answer, best effort, and
only for buckets whose rules ask for some (read once per revision of the bucket record).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from s3front.api.common import requester_party
from s3front.request import S3Request, S3Response
from shared import constants as C
from shared.contract.records import BucketInfo
from shared.notify.record import EventRequest
from shared.notify.rules import rules_from_wire

if TYPE_CHECKING:
    from s3front.frontend import Frontend

log = logging.getLogger("coffer.notify")


def event_request(req: S3Request, name: str) -> EventRequest | None:
    """The event details of a mutation, or None when the bucket has no notification rules."""
    access = req.access
    if access is None or access.bucket is None or C.NOTIFY_CONFIG_KIND not in access.bucket.configs:
        return None
    return EventRequest(name, requester_party(req)[0], req.source_ip, req.request_id)


def bucket_event(req: S3Request) -> EventRequest:
    """Who creates or deletes a bucket, for targets subscribed to bucket events (sent with every one:
    the daemon alone knows the targets; these calls are rare)."""
    return EventRequest("", requester_party(req)[0], req.source_ip, req.request_id)


def accessed(req: S3Request, resp: S3Response, name: str, version_id: str | None) -> S3Response:
    """Queue an ObjectAccessed event once the client has its answer (lost if this process dies first)."""
    event = event_request(req, name)
    if event is None or resp.status >= 300:
        return resp
    frontend = req.frontend
    if frontend.accessed_pending >= C.NOTIFY_ACCESSED_PENDING:
        frontend.accessed_dropped += 1      # a slow daemon must not make reads pile up
        return resp
    bucket, key, info = req.bucket, req.key, req.access.bucket

    async def queue() -> None:
        frontend.accessed_pending += 1
        try:
            if await _wants_accessed(frontend, info, name):
                await frontend.metadata.queue_event(bucket, key, event, version_id)
        except Exception as exc:  # noqa: BLE001 - best effort: logged, never the client's failure
            log.warning("ObjectAccessed event not queued", extra={"bucket": bucket, "error": str(exc)})
        finally:
            frontend.accessed_pending -= 1
    resp.after.append(queue)
    return resp


async def _wants_accessed(frontend: Frontend, info: BucketInfo, name: str) -> bool:
    """Whether some rule of the bucket could send this ObjectAccessed event (cached per bucket revision)."""
    cached = frontend.accessed_rules.get(info.name)
    if cached is None or cached[0] != info.rev:
        rules = rules_from_wire(await frontend.metadata.get_bucket_config(info.name, C.NOTIFY_CONFIG_KIND))
        wanted = frozenset(e for r in rules for e in r.events)
        cached = frontend.accessed_rules[info.name] = (info.rev, wanted)
    family = name.rsplit(":", 1)[0]
    return name in cached[1] or f"{family}:*" in cached[1]
