"""The RPC surface of the metadata daemon (design.md §2.4): the contract's tables, one dispatcher.

Both tables come from the contract Protocols (shared/contract/): `MetadataAPI`, what front-ends
and maintenance tools call, and `RawAPI`, the raw sub-level calls of tests and tools. Each call
runs an implementation named as the contract names it, with the call's Python parameter names;
the table checks argument names and shapes first. Features may add calls of their own
(`add_methods`), checked against their handler's signature.
"""
from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dmd.metadata import access_logs, buckets, leases, maintenance, multipart, objects, pages, raw, streams
from dmd.metadata.notify import notifier
from dmd.metadata.context import MetadataContext
from dmd.metadata.locks import call_deadline
from shared import constants as C
from shared.contract.metadata import MetadataAPI
from shared.contract.raw import RawAPI
from shared.contract.rpc import BadCall, ServerTable, calls_of
from shared.errors import InternalError

log = logging.getLogger("coffer.metadata")

Handler = Callable[..., Awaitable[Any]]
METADATA_CALLS = calls_of(MetadataAPI)
RAW_CALLS = calls_of(RawAPI)

# The daemon's implementation of every MetadataAPI call but the two the service answers itself.
IMPLEMENTATIONS: dict[str, Handler] = {
    "create_bucket": buckets.create_bucket, "get_bucket": buckets.get_bucket,
    "update_bucket": buckets.update_bucket, "delete_bucket": buckets.delete_bucket,
    "list_buckets": buckets.list_buckets, "get_bucket_config": buckets.get_bucket_config,
    "put_bucket_config": buckets.put_bucket_config,
    "get_object": objects.get_object, "get_bucket_and_object": objects.get_bucket_and_object,
    "put_object": objects.put_object, "update_object": objects.update_object,
    "delete_object": objects.delete_object, "gc_done": objects.gc_done,
    "list_objects": pages.list_objects, "list_object_versions": pages.list_object_versions,
    "list_multipart_uploads": pages.list_multipart_uploads, "list_parts": pages.list_parts,
    "initiate_multipart_upload": multipart.initiate_multipart_upload, "put_part": multipart.put_part,
    "complete_multipart_upload": multipart.complete_multipart_upload,
    "abort_multipart_upload": multipart.abort_multipart_upload,
    "take_lease": leases.take_lease, "release_lease": leases.release_lease,
    "buckets_with_config": leases.buckets_with_config,
    "due_garbage": maintenance.due_garbage, "referenced_pieces": maintenance.referenced_pieces,
    "queue_event": notifier.queue_event, "notify_status": notifier.notify_status,
    "notify_config": notifier.notify_config,
    "append_access_logs": access_logs.append_access_logs, "due_access_logs": access_logs.due_access_logs,
    "access_logs_done": access_logs.access_logs_done,
}
RAW_IMPLEMENTATIONS: dict[str, Handler] = {
    "get": raw.get, "put": raw.put, "delete": raw.delete, "batch": raw.batch,
    "create_read_stream": streams.create_read_stream,
}
STREAM_ID = "streamId"      # the argument every contract stream call carries besides its own


@functools.cache
def _parameters(handler: Handler) -> tuple[frozenset[str], frozenset[str], bool]:
    """(all argument names, required ones, takes **kwargs) after the context argument."""
    params = list(inspect.signature(handler).parameters.values())[1:]
    names = frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    required = frozenset(p.name for p in params if p.default is p.empty
                         and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names, required, any(p.kind is p.VAR_KEYWORD for p in params)


def _check_arguments(handler: Handler, args: dict[str, Any]) -> None:
    """The check of a call added with `add_methods`: its handler's signature is its contract."""
    names, required, open_ended = _parameters(handler)
    missing = required - args.keys()
    unknown = set() if open_ended else args.keys() - names
    if missing or unknown:
        raise TypeError(f"missing {sorted(missing)}, unexpected {sorted(unknown)}")


class MetadataService:
    """Maps call messages onto the operations, with deadlines and error framing."""

    def __init__(self, ctx: MetadataContext) -> None:
        self.ctx = ctx
        self.streams: streams.StreamRegistry | None = None   # set by the server, which can emit
        impls = {**IMPLEMENTATIONS, "get_manifest": self.get_manifest, "get_stats": self.get_stats}
        self.tables = (ServerTable(METADATA_CALLS, impls), ServerTable(RAW_CALLS, RAW_IMPLEMENTATIONS))
        self.extra: dict[str, Handler] = {}

    def add_methods(self, methods: dict[str, Handler]) -> None:
        """Calls a feature serves beyond the contract (by wire name); `handler(ctx, **args)`."""
        taken = sorted(name for name in methods if any(name in table.calls for table in self.tables))
        if taken:
            raise ValueError(f"{taken} are contract calls")
        self.extra.update(methods)

    @property
    def methods(self) -> list[str]:
        """Every wire name the daemon answers."""
        return sorted({*self.tables[0].calls, *self.tables[1].calls, *self.extra})

    async def get_manifest(self, ctx: MetadataContext) -> dict:
        return {"apiVersion": C.RPC_API_VERSION, "proto": C.RPC_PROTO, "boot_id": ctx.boot_id,
                "db_uuid": ctx.engine.db_uuid, "methods": self.methods,
                "degraded": ctx.gatherer.degraded,
                "limits": {"maxKeys": C.LISTING_MAX_KEYS, "streamMaxPendingAck": C.STREAM_MAX_PENDING_ACK,
                           "streamAckTimeoutMs": int(C.STREAM_ACK_TIMEOUT_S * 1000)}}

    async def get_stats(self, ctx: MetadataContext) -> dict:
        return {"gatherer": ctx.gatherer.stats.as_dict(), "locks": {
            "buckets": len(ctx.buckets), "keys": len(ctx.keys), "uploads": len(ctx.uploads)},
                "streams": self.streams.stats() if self.streams else {}}

    def _bind(self, method: str, args: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        """The call, checked and ready to run; InternalError(InvalidArgument) when it does not fit."""
        for table in self.tables:
            call = table.calls.get(method)
            if call is None:
                continue
            stream_id = args.pop(STREAM_ID, None) if call.stream else None
            if call.stream and type(stream_id) is not str:
                raise BadCall(f"{method}: missing {[STREAM_ID]}")
            kwargs = table.arguments(method, args)
            impl = table.impls[method]
            if call.stream:
                async def run_stream() -> Any:
                    return streams.open_stream(stream_id, await impl(self.ctx, **kwargs))
                return run_stream

            async def run() -> Any:
                return table.encode(method, await impl(self.ctx, **kwargs))
            return run
        handler = self.extra.get(method)
        if handler is None:
            raise BadCall(f"unknown method {method!r}")
        try:
            _check_arguments(handler, args)
        except TypeError as exc:
            raise BadCall(f"bad arguments for {method}: {exc}") from exc
        return lambda: handler(self.ctx, **args)

    async def dispatch(self, method: str, args: dict[str, Any], timeout_ms: int, received: float) -> Any:
        """Run one call; raises S3Error or InternalError for the reply."""
        try:
            run = self._bind(method, dict(args) if isinstance(args, dict) else {})
        except BadCall as exc:
            raise InternalError(str(exc), "InvalidArgument") from exc
        deadline = received + timeout_ms / 1000
        if time.monotonic() >= deadline:
            raise InternalError("the call expired before it started", "RequestTimeout")
        token = call_deadline.set(deadline)
        try:
            return await run()
        finally:
            call_deadline.reset(token)
