"""The raw get/put/del/batch primitives (dmd-reference §2.4), for tools and tests only.

The S3 front-end never calls these: they bypass the key locks and the versioning rules.
"""
from __future__ import annotations

from typing import Any

from dmd.metadata.context import MetadataContext
from dmd.metadata.store import dumps, loads, sublevel_prefix
from shared.errors import S3Error


async def get(ctx: MetadataContext, db: str, key: str) -> Any:
    value = ctx.store.get(sublevel_prefix(db) + key.encode())
    if value is None:
        raise S3Error("NotFound", "not found", status=404)
    return loads(value)


async def put(ctx: MetadataContext, db: str, key: str, value: Any) -> dict:
    await ctx.commit([(sublevel_prefix(db) + key.encode(), dumps(value))])
    return {}


async def delete(ctx: MetadataContext, db: str, key: str) -> dict:
    await ctx.commit([(sublevel_prefix(db) + key.encode(), None)])
    return {}


async def batch(ctx: MetadataContext, db: str, ops: list[dict]) -> dict:
    """Ops are `{"type": "put"|"del", "key", "value"}`, applied in one synced batch."""
    prefix = sublevel_prefix(db)
    await ctx.commit([(prefix + op["key"].encode(), dumps(op["value"]) if op["type"] == "put" else None)
                      for op in ops])
    return {}
