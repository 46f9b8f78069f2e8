"""The maintenance streams of the metadata contract: due deferred deletions, and every referenced piece.

Each is a generator of wire documents, read in a worker thread by the stream pump
(streams.ItemSource); closing it closes the engine cursor it holds. The key layout stays in keys.py.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dmd.metadata import keys
from dmd.metadata.context import MetadataContext, loads
from dmd.metadata.engine import View, prefix_cursor
from dmd.metadata.streams import ItemSource
from shared.contract.records import is_inline

Document = dict[str, Any]


def _garbage(view: View, before_ms: int) -> Iterator[Document]:
    with view.cursor(None, keys.gc_due_before(before_ms)) as cursor:
        for raw_key, raw in cursor:
            yield {"gcKey": raw_key.decode(), "location": [loads(raw)["location"]]}


async def due_garbage(ctx: MetadataContext, before_ms: int) -> ItemSource:
    """`__gc` entries recorded before `before_ms`, oldest first, as Garbage documents."""
    return ItemSource(_garbage(ctx.engine.view(keys.GC), before_ms))


def _bucket_names(ctx: MetadataContext) -> list[str]:
    with prefix_cursor(ctx.engine, keys.METASTORE) as cursor:
        return [keys.metastore_bucket(raw_key) for raw_key, _ in cursor]


def _pieces_under(view: View, bucket: str) -> Iterator[Document]:
    with view.cursor() as cursor:
        for raw_key, raw in cursor:
            value = loads(raw)
            for piece in (value.get("location") or []) if isinstance(value, dict) else []:
                if not is_inline(piece):        # held in the record itself: no location to check or sweep
                    yield {"bucket": bucket, "where": raw_key.decode(errors="replace"), "piece": piece}


def _references(ctx: MetadataContext) -> Iterator[Document]:
    for bucket in _bucket_names(ctx):
        yield from _pieces_under(ctx.engine.view(keys.bucket_prefix(bucket)), bucket)
        yield from _pieces_under(ctx.engine.view(keys.mpu_prefix(bucket)), bucket)
    with ctx.engine.view(keys.GC).cursor() as cursor:
        for raw_key, raw in cursor:
            entry = loads(raw)
            yield {"bucket": entry.get("bucket") or "", "where": raw_key.decode(), "piece": entry["location"],
                   "pendingDelete": True}


async def referenced_pieces(ctx: MetadataContext) -> ItemSource:
    """Every piece metadata points at: objects and versions, upload parts, then pending deletions."""
    return ItemSource(_references(ctx))
