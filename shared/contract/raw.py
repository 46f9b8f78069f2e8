"""The raw calls of the metadata daemon: named sub-levels read and written as they are.

They bypass the key locks and the versioning rules, so the S3 front-end never makes them; tests
and tools do (`MetadataClient.call("put", db=..., key=..., value=...)`). Declared apart from
`MetadataAPI` so that the front-end's typed surface cannot reach them (docs/design.md, "The
metadata contract").
"""
from __future__ import annotations

from typing import Any, Protocol

from shared.contract.rpc import rpc


class RawAPI(Protocol):
    @rpc()
    async def get(self, db: str, key: str) -> Any:
        """One value of a sub-level; NotFound (404) when there is none."""

    @rpc(writes=True)
    async def put(self, db: str, key: str, value: Any) -> dict[str, Any]: ...

    @rpc(writes=True, wire="del")
    async def delete(self, db: str, key: str) -> dict[str, Any]: ...

    @rpc(writes=True)
    async def batch(self, db: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """Ops are `{"type": "put"|"del", "key", "value"}`, applied in one synced batch."""

    @rpc()
    async def create_read_stream(self, db: str, stream_id: str, gt: str | None = None, gte: str | None = None,
                                 lt: str | None = None, lte: str | None = None, limit: int = -1,
                                 keys: bool = True, values: bool = True) -> dict[str, Any]:
        """Open a stream of a sub-level's (key, value) pairs, in key order, to the caller."""
