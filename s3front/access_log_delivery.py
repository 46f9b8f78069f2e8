"""Delivery of server access logs: one front-end of the cluster writes every log object.

Each front-end hands its records to the metadata daemon within C.ACCESS_LOG_SHIP_S (access_log.py).
The front-end that holds the cluster-wide `access-log` lease asks the daemon every
C.ACCESS_LOG_TICK_S for the batches that are due (a source's oldest waited
COFFER_ACCESS_LOG_FLUSH_SECONDS), writes each target's records as log objects through PutObject's
own handler, as the target bucket's owner, and then has the daemon forget them. So one interval of
a bucket makes one log object whichever front-ends served it. A holder that dies between a write
and the forgetting makes the next holder write those records again: they are never lost. A
target bucket that is gone drops its records, as AWS does, and records that could not be written
for C.ACCESS_LOG_KEEP_S are dropped with a warning, so an unwritable target never fills the store.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from s3front.access_log_format import Lines, LogTarget, log_objects
from s3front.acl_model import Grant
from s3front.auth import AuthResult
from s3front.authorize import Access
from s3front.lifecycle.worker import holder_id
from s3front.ownership import acls_off
from s3front.request import S3Request
from s3front.routing import OBJECT, WRITE, Operation
from shared import constants as C
from shared.config import Account
from shared.errors import S3Error

if TYPE_CHECKING:
    from s3front.frontend import Frontend

log = logging.getLogger("coffer.accesslog")
_GRANT_HEADERS = {"READ": "x-amz-grant-read", "FULL_CONTROL": "x-amz-grant-full-control"}


def batch_document(target: LogTarget, grants: tuple[Grant, ...], records: Lines) -> dict[str, Any]:
    """One batch as the metadata daemon keeps it (append_access_logs)."""
    return {"target": {name: getattr(target, name) for name in LogTarget.__dataclass_fields__},
            "grants": list(grants), "records": [[when.isoformat(), line] for when, line in records]}


class _Group:
    """The due batches of one target and grants, merged: what one delivery writes."""

    def __init__(self, target: LogTarget, grants: tuple[Grant, ...]) -> None:
        self.target, self.grants = target, grants
        self.records: Lines = []
        self.names: list[str] = []
        self.oldest_ms = 0

    def add(self, entry: dict[str, Any]) -> None:
        self.records.extend((datetime.fromisoformat(when), line) for when, line in entry["records"])
        self.names.append(entry["name"])
        self.oldest_ms = min(self.oldest_ms or entry["storedMs"], entry["storedMs"])


def _groups(entries: list[dict[str, Any]]) -> list[_Group]:
    groups: dict[tuple[LogTarget, bytes], _Group] = {}
    for entry in entries:
        target = LogTarget(**entry["target"])
        grants = tuple(entry.get("grants") or ())
        group = groups.setdefault((target, orjson.dumps(grants)), _Group(target, grants))
        group.add(entry)
    return list(groups.values())


class Delivery:
    """This front-end's part in delivering: take the lease when free, and write what is due."""

    def __init__(self, frontend: "Frontend", interval_s: float) -> None:
        self.frontend, self.interval = frontend, interval_s
        self.holder = holder_id()
        self._held_until = 0.0          # monotonic: the lease is ours until then (renewed at half its ttl)
        self._failing: set[str] = set()  # target buckets whose last write failed (said once, not every tick)

    async def tick(self) -> int:
        """Write the due log objects if this front-end holds the lease; how many it wrote."""
        return await self.deliver_due(self.interval) if await self._hold() else 0

    async def _hold(self) -> bool:
        now = time.monotonic()
        if now < self._held_until - C.ACCESS_LOG_LEASE_TTL_S / 2:
            return True                 # spares the daemon a lease write per tick
        lease = await self.frontend.metadata.take_lease(C.ACCESS_LOG_LEASE, self.holder, C.ACCESS_LOG_LEASE_TTL_S)
        self._held_until = now + C.ACCESS_LOG_LEASE_TTL_S if lease.held else 0.0
        return lease.held

    async def release(self) -> None:
        """Give the lease up (the front-end is stopping), so that another takes over at once."""
        if self._held_until:
            self._held_until = 0.0
            await self.frontend.metadata.release_lease(C.ACCESS_LOG_LEASE, self.holder)

    async def deliver_due(self, interval_s: float) -> int:
        entries = await self.frontend.metadata.due_access_logs(interval_s)
        written, done = 0, []
        delivered = datetime.now(timezone.utc)
        for group in _groups(entries):
            target = group.target.target_bucket
            try:
                for key, body in log_objects(group.target, group.records, delivered):
                    await deliver(self.frontend, target, key, body, group.grants)
                    written += 1
            except Exception as exc:  # noqa: BLE001 - kept for the next tick, unless gone or too old
                if not self._give_up(group, exc):
                    continue
            else:
                if target in self._failing:
                    self._failing.discard(target)
                    log.info("access log delivery works again", extra={"bucket": target})
            done.extend(group.names)
        await self.frontend.metadata.access_logs_done(done)
        return written

    def _give_up(self, group: _Group, exc: Exception) -> bool:
        """Whether a group that could not be written is dropped (said in the log) rather than kept."""
        gone = isinstance(exc, S3Error) and exc.code == "NoSuchBucket"
        stale = time.time() * 1000 - group.oldest_ms > C.ACCESS_LOG_KEEP_S * 1000
        target = group.target.target_bucket
        fields = {"bucket": target, "records": len(group.records), "error": str(exc)}
        if gone or stale:
            log.warning("access log records dropped: " + ("the target bucket is gone" if gone else
                                                           "they could not be written in time"), extra=fields)
        elif target not in self._failing:
            self._failing.add(target)
            log.warning("access log delivery failed: retried every tick until it works", extra=fields)
        return gone or stale


async def deliver(frontend: "Frontend", bucket: str, key: str, body: bytes, grants: tuple[Grant, ...] = ()) -> None:
    """PutObject of a log object, through PutObject's own handler, as the target bucket's owner, with
    the configuration's TargetGrants beside the owner's FULL_CONTROL (where the target has ACLs)."""
    from s3front.api.objects import put_object      # the handlers import the front-end's modules
    info = await frontend.metadata.get_bucket(bucket)
    owner = frontend.config.account_by_canonical_id(info.owner) or \
        Account("", "", info.owner_name, "", info.owner, "")
    headers = {"content-length": str(len(body)), "content-type": "text/plain"}
    if grants and not acls_off(info):
        headers.update(grant_headers(grants, info.owner))
    req = S3Request("PUT", f"/{bucket}/{quote(key)}", "", bucket, key, {}, headers, "", _body(body), frontend)
    req.operation = Operation("PutObject", WRITE, OBJECT)
    req.auth, req.access = AuthResult(owner), Access(bucket=info)
    resp = await put_object(req)
    resp.run_after()


def grant_headers(grants: tuple[Grant, ...], owner: str) -> dict[str, str]:
    """TargetGrants as x-amz-grant-* headers; WRITE, which means nothing on an object, is left out."""
    wanted: dict[str, list[str]] = {"x-amz-grant-full-control": [f'id="{owner}"']}
    for grant in grants:
        header = _GRANT_HEADERS.get(grant["permission"])
        if header is not None:
            who = f'id="{grant["id"]}"' if grant["type"] == "CanonicalUser" else f'uri="{grant["uri"]}"'
            wanted.setdefault(header, []).append(who)
    return {header: ", ".join(who) for header, who in wanted.items()}


def _body(body: bytes):
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return receive
