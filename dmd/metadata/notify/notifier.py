"""The daemon's notification targets: where they are declared, their workers, and the calls about them.

Targets come from the config file and the environment (`declared`, read at start) and from
run-time declarations stored under `__notify` (`coffer admin config set notify_TYPE:ID ...`),
which win over both and take effect at once: the target's worker is restarted with them (on a
shared PostgreSQL engine, in every daemon: they are told through LISTEN/NOTIFY).
The calls `queueEvent`, `notifyStatus` and `notifyConfig` of the contract are implemented here.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import orjson

from dmd.metadata import keys
from dmd.metadata.engine import prefix_cursor
from dmd.metadata.notify.outbox import has_rules
from dmd.metadata.notify.worker import TargetWorker
from dmd.metadata.versioning import MD
from shared import constants as C
from shared.errors import S3Error, ServiceUnavailable
from shared.notify.targets import Target, TargetError, make_target, merge

if TYPE_CHECKING:
    from dmd.metadata.context import MetadataContext

log = logging.getLogger("coffer.notify")


class Notifier:
    def __init__(self, ctx: MetadataContext) -> None:
        self.ctx = ctx
        self.declared: dict[str, Target] = {}       # by ARN: the config file's and the environment's
        self.runtime: dict[str, Target] = {}        # by ARN: stored in the daemon
        self.workers: dict[str, TargetWorker] = {}  # by ARN
        self.started = False
        self._applying = asyncio.Lock()

    @property
    def targets(self) -> dict[str, Target]:
        return {**self.declared, **self.runtime}

    async def start(self) -> None:
        """Read the run-time declarations and start one worker per enabled target."""
        self.runtime = merge(await self.ctx.run(self._stored))
        self.started = True
        await self._apply()
        if self.ctx.shared:
            loop = asyncio.get_running_loop()

            def changed(payload: str) -> None:
                if orjson.loads(payload).get("from") != self.ctx.boot_id:
                    asyncio.run_coroutine_threadsafe(self.reload(), loop)
            self.ctx.engine.listen(C.NOTIFY_TARGETS_CHANNEL, changed)

    async def reload(self) -> None:
        """Read the run-time declarations again (another daemon changed them)."""
        self.runtime = merge(await self.ctx.run(self._stored))
        await self._apply()

    async def _tell_others(self) -> None:
        if self.ctx.shared:
            payload = orjson.dumps({"from": self.ctx.boot_id}).decode()
            try:
                await self.ctx.run(self.ctx.engine.notify, C.NOTIFY_TARGETS_CHANNEL, payload)
            except ServiceUnavailable as exc:   # stored already: the others see it at their next start
                log.warning("could not tell the other daemons of a target change", extra={"error": str(exc)})

    async def stop(self) -> None:
        for worker in list(self.workers.values()):
            await worker.stop()
        self.workers.clear()

    async def _apply(self) -> None:
        async with self._applying:
            await self._apply_now()

    async def _apply_now(self) -> None:
        """Make the workers match the targets: start new ones, restart changed ones, stop removed ones."""
        targets = {arn: t for arn, t in self.targets.items() if t.enabled}
        self.ctx.outbox.set_targets(targets)
        for arn, worker in list(self.workers.items()):
            if targets.get(arn) != worker.target:
                await worker.stop()
                del self.workers[arn]
        for arn, target in targets.items():
            if arn not in self.workers:
                worker = self.workers[arn] = TargetWorker(self.ctx, target)
                worker.start()
        self.ctx.outbox.wakers = [w.wake for w in self.workers.values()]

    def _stored(self) -> list[Target]:
        found = []
        with prefix_cursor(self.ctx.engine, keys.NOTIFY) as cursor:
            for raw_key, raw in cursor:
                doc = orjson.loads(raw)
                try:
                    found.append(make_target(doc["type"], doc["id"], doc["settings"]))
                except TargetError as exc:     # stored by an older version with other rules: say so, go on
                    log.error("a stored notification target is not valid", extra={"error": str(exc)})
        return found

    # -- coffer admin config ------------------------------------------------------------------------
    async def configure(self, op: str, name: str, settings: dict[str, str] | None) -> Any:
        if op == "list":
            return [self._describe(t) for t in sorted(self.targets.values(), key=lambda t: t.name)]
        type_, id_ = _parse_name(name)
        arn = f"arn:minio:sqs::{id_}:{type_}"
        if op == "get":
            target = self.targets.get(arn)
            if target is None:
                raise S3Error("InvalidArgument", f"no notification target {name}", ArgumentName="target",
                              ArgumentValue=name)
            return self._describe(target)
        if op == "set":
            base = dict((self.runtime.get(arn) or self.declared.get(arn) or Target(type_, id_)).settings)
            try:
                target = make_target(type_, id_, {**base, **(settings or {})})
            except TargetError as exc:
                raise S3Error("InvalidArgument", str(exc), ArgumentName="target", ArgumentValue=name) from None
            doc = {"type": type_, "id": id_, "settings": target.settings}
            await self.ctx.commit([(keys.notify_target_key(target.queue_key), orjson.dumps(doc))])
            self.runtime[arn] = target
        elif op == "reset":
            await self.ctx.commit([(keys.notify_target_key(f"{type_}:{id_}"), None)])
            self.runtime.pop(arn, None)
        else:
            raise S3Error("InvalidArgument", f"unknown notify_config operation {op!r}", ArgumentName="op",
                          ArgumentValue=op)
        await self._apply()
        await self._tell_others()
        target = self.targets.get(arn)
        return self._describe(target) if target else None

    def _describe(self, target: Target) -> dict[str, Any]:
        source = "runtime" if target.arn in self.runtime else "config"
        return {"target": target.name, "arn": target.arn, "source": source, "settings": target.public_settings()}

    def status(self) -> list[dict[str, Any]]:
        out = []
        for arn, target in sorted(self.targets.items(), key=lambda kv: kv[1].name):
            worker = self.workers.get(arn)
            if worker is not None:
                out.append(worker.status())
            else:
                out.append({"target": target.name, "arn": arn, "type": target.type, "state": "disabled",
                            "queued": self.ctx.outbox.depth.get(target.queue_key, 0)})
        return out


def _parse_name(name: str) -> tuple[str, str]:
    """`notify_TYPE:ID` -> (type, id)."""
    head, _, id_ = name.partition(":")
    if not head.startswith("notify_") or not id_:
        raise S3Error("InvalidArgument", f"a target is named notify_TYPE:ID, not {name!r}", ArgumentName="target",
                      ArgumentValue=name)
    return head[len("notify_"):], id_


# -- the contract's calls ---------------------------------------------------------------------------
async def queue_event(ctx: MetadataContext, bucket: str, key: str, event: MD, version_id: str | None = None) -> None:
    """An event with no metadata write of its own (ObjectAccessed), into the outboxes."""
    attrs = await ctx.bucket_attrs(bucket)
    if not has_rules(attrs):
        return
    master = await ctx.read_object(bucket, key)
    md = master
    if version_id and (master or {}).get("versionId") != version_id:
        md = await ctx.read_object(bucket, keys.version_key(key, version_id)) or master
    ops = await ctx.outbox.ops(bucket, attrs, event, "", key, md)
    if ops:
        await ctx.commit(ops)


async def notify_status(ctx: MetadataContext) -> list[dict[str, Any]]:
    return ctx.notifier.status()


async def notify_config(ctx: MetadataContext, op: str, name: str = "", settings: dict[str, str] | None = None) -> Any:
    return await ctx.notifier.configure(op, name, settings)
