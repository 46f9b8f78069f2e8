"""The outbox: a mutation's event records, written in the same synced batch as the mutation.

`Outbox.ops` is called by each mutating operation under its key lock, after the decision: for a
bucket without notification rules it is one membership test on the attributes already read (no
read, nothing added to the batch); otherwise it reads the bucket's rules (cached by the bucket's
revision), builds one AWS event record per matching target and returns the ops that put them in
each target's outbox (keys.outbox_key). The delivery workers (worker.py) take them from there.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from dmd.metadata import keys
from dmd.metadata.engine import Op
from dmd.metadata.versioning import MD
from shared import constants as C
from shared.errors import S3Error
from shared.models import external_version_id
from shared.notify.record import EventRequest, ObjectFacts, event_record
from shared.notify.rules import Rule, is_event_name, matching, rules_from_wire
from shared.notify.targets import Target, arn_target

if TYPE_CHECKING:
    from dmd.metadata.context import MetadataContext

def has_rules(attrs: MD) -> bool:
    """The hot-path test: does the bucket have a notification configuration at all?"""
    configs = attrs.get("configs")
    return bool(configs) and C.NOTIFY_CONFIG_KIND in configs


def object_facts(key: str, md: MD | None, versioning: str | None, removal: bool = False) -> ObjectFacts:
    """What a record says of an object version (a delete marker or a removal: its version id only)."""
    if md is None:
        return ObjectFacts(key)
    vid = external_version_id(md.get("versionId"), bool(md.get("isNull"))) if versioning else None
    if removal or md.get("isDeleteMarker"):
        return ObjectFacts(key, version_id=vid)
    return ObjectFacts(key, md.get("content-length"), md.get("content-md5"), vid)


LIFECYCLE = "s3:LifecycleExpiration:"


def removal_event(event: dict | None, marker: bool) -> dict | None:
    """A lifecycle expiration's event names what its delete did: Delete, or DeleteMarkerCreated."""
    if event and str(event.get("name", "")).startswith(LIFECYCLE):
        return {**event, "name": LIFECYCLE + ("DeleteMarkerCreated" if marker else "Delete")}
    return event


class Outbox:
    """Event records into per-target outboxes; the targets and their workers' counters."""

    def __init__(self, ctx: MetadataContext) -> None:
        self.ctx = ctx
        self.targets: dict[str, Target] = {}           # by ARN
        self.depth: dict[str, int] = {}                # records queued, by target queue
        self.armed = False                             # an event was queued since start: wake workers
        self.wakers: list[Any] = []                    # the workers' wake-up callbacks
        self._seq = time.time_ns() // 1000
        # Sequence numbers handed out whose batch has not settled (committed or failed), with when:
        # a worker may skip what it has read only below the smallest of them (worker.py, `floor`).
        self.pending: dict[int, float] = {}
        self._rules: dict[str, tuple[tuple, list[Rule]]] = {}
        self.service_targets: list[Target] = []        # subscribed to every bucket's creation and removal

    # -- configuration --------------------------------------------------------------------------
    def set_targets(self, targets: dict[str, Target]) -> None:
        self.targets = {arn: t for arn, t in targets.items() if t.enabled}
        self.service_targets = [t for t in self.targets.values() if t.bucket_events]

    def target_for(self, arn: str) -> Target | None:
        """The configured target an ARN names (any region in the ARN)."""
        found = arn_target(arn)
        return None if found is None else self.targets.get(f"arn:minio:sqs::{found[0]}:{found[1]}")

    def check_config(self, config: Any) -> None:
        """A bucket's rules may only name configured targets: InvalidArgument naming the first that is not."""
        for rule in rules_from_wire(config):
            if self.target_for(rule.arn) is None:
                raise S3Error("InvalidArgument", f"A specified destination ARN does not exist or is not well-formed: "
                                                 f"{rule.arn}. Verify the destination ARN.",
                              ArgumentName="ARN", ArgumentValue=rule.arn)

    def seen_sequence(self, seq: int) -> None:
        """Keep sequence numbers above what the outboxes already hold (a clock that went back)."""
        self._seq = max(self._seq, seq)

    def wake(self) -> None:
        for callback in self.wakers:
            callback()

    def floor(self) -> int:
        """The smallest sequence number that may still commit: every record below it has settled."""
        return min(self.pending) if self.pending else self._seq + 1

    def settled(self, ops: list[Op]) -> None:
        """A batch holding outbox records committed or failed: its sequence numbers are no longer in flight."""
        for key, _ in ops:
            if key.startswith(keys.OUTBOX):
                self.pending.pop(keys.outbox_key_seq(key), None)

    def forget_stale(self, older_than: float) -> None:
        """Drop sequence numbers of writes that never reached a commit (refused after their records were made)."""
        for seq in [seq for seq, since in self.pending.items() if since < older_than]:
            del self.pending[seq]

    # -- the write path -------------------------------------------------------------------------
    async def ops(self, bucket: str, attrs: MD, event: dict | None, default: str, key: str, md: MD | None) -> list[Op]:
        """The outbox records of one mutation (none for a bucket without rules: the common case)."""
        if not has_rules(attrs):
            return []
        return await self._records(bucket, attrs, event, default, key, md)

    async def _records(self, bucket: str, attrs: MD, event: dict | None, default: str, key: str,
                       md: MD | None) -> list[Op]:
        request = EventRequest.from_wire(event)
        name = request.name if is_event_name(request.name) and not request.name.endswith("*") else default
        if not name:                # a metadata change with no event of its own (an ACL through update_object)
            return []
        rules = matching(await self._bucket_rules(bucket, attrs), name, key)
        if not rules:
            return []
        # A rule whose target was declared once and removed since stays; its events go nowhere.
        sends = [(rule, target) for rule in rules if (target := self.target_for(rule.arn)) is not None]
        for _, target in sends:     # all checked before any is counted: a refused write queues nothing
            if target.refuses_when_full and self.depth.get(target.queue_key, 0) >= target.queue_limit:
                raise S3Error("SlowDown", f"The event queue of {target.arn} is full; retry later.")
        facts = object_facts(key, md, attrs.get("versioning"), name.startswith("s3:ObjectRemoved:"))
        seq = self._next_seq()
        ops: list[Op] = []
        for rule, target in sends:
            record = event_record(name, request, bucket, attrs.get("owner", ""), attrs.get("locationConstraint") or "",
                                  facts, f"{seq:016X}", rule.id)
            entry = {"event": name, "key": f"{bucket}/{key}", "record": record}
            ops.append((keys.outbox_key(target.queue_key, seq, self.ctx.boot_id[:8]), orjson.dumps(entry)))
            self.depth[target.queue_key] = self.depth.get(target.queue_key, 0) + 1
        if ops:
            self.armed = True
        return ops

    def bucket_ops(self, bucket: str, attrs: MD, event: dict | None, name: str) -> list[Op]:
        """s3:BucketCreated / s3:BucketRemoved records for the targets subscribed at the service level."""
        if not self.service_targets:
            return []
        request = EventRequest.from_wire(event)
        seq = self._next_seq()
        record = event_record(name, request, bucket, attrs.get("owner", ""), attrs.get("locationConstraint") or "",
                              None, f"{seq:016X}", "")
        entry = orjson.dumps({"event": name, "key": bucket, "record": record})
        self.armed = True
        for target in self.service_targets:
            self.depth[target.queue_key] = self.depth.get(target.queue_key, 0) + 1
        return [(keys.outbox_key(t.queue_key, seq, self.ctx.boot_id[:8]), entry) for t in self.service_targets]

    def _next_seq(self) -> int:
        self._seq = max(self._seq + 1, time.time_ns() // 1000)
        self.pending[self._seq] = time.monotonic()
        return self._seq

    async def _bucket_rules(self, bucket: str, attrs: MD) -> list[Rule]:
        # By revision, and by creation: a bucket deleted and made again starts its revisions anew.
        rev = (attrs.get("creationDate"), attrs.get("_rev", 0))
        cached = self._rules.get(bucket)
        if cached is not None and cached[0] == rev:
            return cached[1]
        rules = rules_from_wire(await self.ctx.read_json(keys.config_key(bucket, C.NOTIFY_CONFIG_KIND)))
        self._rules[bucket] = (rev, rules)
        return rules
