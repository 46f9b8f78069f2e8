"""The identity store: IAM records of each account, changed atomically (shared/contract/iam.py).

Records live in the `__iam` sub-level (keys.iam_key). A commit checks the revision each change
expects under the account's lock and writes every change in one synced batch, so two front-ends
planning from the same records cannot both win: the second gets ConcurrentModification. The
names of users, groups, roles and policies are case-insensitive, as on AWS: such a record is
filed under its folded name and keeps the name as written. Every commit is announced to the
front-ends (as a bucket change is) before it is acknowledged, so that they forget what they cached.
"""
from __future__ import annotations

import asyncio
from typing import Any

from dmd.metadata import keys
from dmd.metadata.context import MetadataContext, dumps, loads
from dmd.metadata.engine import prefix_cursor
from dmd.metadata.locks import LockTable
from shared.contract.iam import IAM_CHANGED, KINDS, filed_under, folded
from shared.errors import InternalError, S3Error

Doc = dict[str, Any]


def _check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise InternalError(f"unknown IAM record kind {kind!r}", "InvalidArgument")
    return kind


def _key(account: str, kind: str, name: str) -> bytes:
    return keys.iam_key(filed_under(account, kind), kind, folded(kind, name))


def _record(kind: str, name: str, stored: Doc) -> Doc:
    return {"kind": kind, "name": stored.get("name", name), "doc": stored["doc"], "rev": stored["rev"]}


class IdentityStore:
    """The `iam*` calls, with the per-account lock they take."""

    def __init__(self) -> None:
        self.locks = LockTable()

    async def iam_get(self, ctx: MetadataContext, account: str, kind: str, name: str) -> Doc | None:
        """One record (by its name in any case, for the case-insensitive kinds), or None."""
        stored = await ctx.read_json(_key(account, _check_kind(kind), name))
        return None if stored is None else _record(kind, name, stored)

    async def iam_list(self, ctx: MetadataContext, account: str, kind: str, prefix: str = "") -> list[Doc]:
        """Every record of a kind whose (folded) name starts with `prefix`, by folded name."""
        start = keys.iam_prefix(filed_under(account, _check_kind(kind)), kind)
        return await asyncio.to_thread(_scan, ctx, start, start + folded(kind, prefix).encode(), kind)

    async def iam_commit(self, ctx: MetadataContext, account: str, changes: list[Doc]) -> dict:
        """Apply every change or none: ConcurrentModification if a record is not at its expected revision.
        Changes apply in order, so one commit may remove a record and create it again (a rename that
        changes only the name's case)."""
        async with self.locks.hold(account, exclusive=True):
            revs: dict[bytes, int] = {}
            ops = []
            for change in changes:
                kind, name = _check_kind(change.get("kind")), change.get("name")
                if not isinstance(name, str) or not name:
                    raise InternalError("an IAM change without a name", "InvalidArgument")
                key = _key(account, kind, name)
                if key not in revs:
                    current = await ctx.read_json(key)
                    revs[key] = 0 if current is None else current["rev"]
                rev = revs[key]
                if change.get("rev") is not None and change["rev"] != rev:
                    raise S3Error("ConcurrentModification", f"the {kind} {name} changed meanwhile; try again")
                doc = change.get("doc")
                revs[key] = 0 if doc is None else rev + 1
                ops.append((key, None if doc is None else dumps({"doc": doc, "rev": rev + 1, "name": name})))
            await ctx.commit(ops)
            await ctx.announce([IAM_CHANGED])
        return {}

    def methods(self) -> dict:
        return {"iamGet": self.iam_get, "iamList": self.iam_list, "iamCommit": self.iam_commit}


def _scan(ctx: MetadataContext, start: bytes, prefix: bytes, kind: str) -> list[Doc]:
    with prefix_cursor(ctx.engine, prefix) as cursor:
        return [_record(kind, key[len(start):].decode(), loads(raw)) for key, raw in cursor]


def register(service: Any) -> None:
    """Add the identity calls to a MetadataService's table."""
    service.add_methods(IdentityStore().methods())
