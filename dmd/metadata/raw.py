"""The raw get/put/del/batch primitives (design.md §2.4), for tools and tests only.

The S3 front-end never calls these: they bypass the key locks and the versioning rules.
"""
from __future__ import annotations

from typing import Any

from dmd.metadata.context import MetadataContext, dumps, loads
from dmd.metadata.keys import raw_key
from shared.errors import S3Error


async def get(ctx: MetadataContext, db: str, key: str) -> Any:
    value = await ctx.run(ctx.engine.get, raw_key(db, key))
    if value is None:
        raise S3Error("NotFound", "not found", status=404)
    return loads(value)


async def put(ctx: MetadataContext, db: str, key: str, value: Any) -> dict:
    await ctx.commit([(raw_key(db, key), dumps(value))])
    return {}


async def delete(ctx: MetadataContext, db: str, key: str) -> dict:
    await ctx.commit([(raw_key(db, key), None)])
    return {}


async def batch(ctx: MetadataContext, db: str, ops: list[dict]) -> dict:
    """Ops are `{"type": "put"|"del", "key", "value"}`, applied in one synced batch."""
    await ctx.commit([(raw_key(db, op["key"]), dumps(op["value"]) if op["type"] == "put" else None)
                      for op in ops])
    return {}
