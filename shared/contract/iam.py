"""The identity store's RPC (IAM users, keys, groups, policies, roles), declared as the metadata one is.

The daemon stores records and applies changes atomically; what a change means (AWS's rules:
EntityAlreadyExists, DeleteConflict, limits) is decided by the front-end (s3front/iam_api), which
reads records, plans the new ones and commits them with the revisions it read. A commit whose
records changed since is refused as ConcurrentModification, and the front-end plans again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shared.contract.records import Document
from shared.contract.rpc import rpc

# Record kinds. Access keys are looked up by key alone, so they are not filed under their account;
# the built-in key service's KMS keys (sealed by the master key, s3front/sse/store.py) belong to the cluster.
# An account's ROOT record (name "root") lists the extra access keys of the account's root user;
# OIDC records are its OpenID Connect providers, by host and path.
USER, GROUP, ROLE, POLICY, ACCESS_KEY, KMS_KEY = "user", "group", "role", "policy", "key", "kmskey"
ROOT, OIDC = "account", "oidc"
KINDS = (USER, GROUP, ROLE, POLICY, ACCESS_KEY, KMS_KEY, ROOT, OIDC)
GLOBAL_KINDS = (ACCESS_KEY, KMS_KEY)
# Kinds whose names are case-insensitive, as on AWS ("U1" and "u1" are one user).
FOLDED_KINDS = (USER, GROUP, ROLE, POLICY)
# The name in an invalidation notice that says "identities changed" (no bucket can be called so).
IAM_CHANGED = "__iam"


def folded(kind: str, name: str) -> str:
    """The name a record is filed under: lower-cased for the case-insensitive kinds."""
    return name.lower() if kind in FOLDED_KINDS else name


def filed_under(account: str, kind: str) -> str:
    """The account a record of `kind` is filed under ("" for the global kinds)."""
    return "" if kind in GLOBAL_KINDS else account


@dataclass(frozen=True, slots=True)
class IAMRecord:
    """One stored record; `rev` counts its writes (1 for a new record)."""

    kind: str
    name: str
    doc: dict[str, Any]
    rev: int = 1

    def to_wire(self) -> Document:
        return {"kind": self.kind, "name": self.name, "doc": self.doc, "rev": self.rev}

    @staticmethod
    def from_wire(doc: Document) -> IAMRecord:
        return IAMRecord(doc["kind"], doc["name"], doc["doc"], doc.get("rev", 1))


@dataclass(frozen=True, slots=True)
class IAMChange:
    """Write `doc` (None: delete) if the record is still at revision `rev` (0: absent; None: any)."""

    kind: str
    name: str
    doc: dict[str, Any] | None
    rev: int | None = None

    def to_wire(self) -> Document:
        return {"kind": self.kind, "name": self.name, "doc": self.doc, "rev": self.rev}

    @staticmethod
    def from_wire(doc: Document) -> IAMChange:
        return IAMChange(doc["kind"], doc["name"], doc.get("doc"), doc.get("rev"))


class IdentityAPI(Protocol):
    """The identity store of the metadata daemon (dmd/metadata/iam.py)."""

    @rpc(wire="iamGet")
    async def iam_get(self, account: str, kind: str, name: str) -> IAMRecord | None: ...

    @rpc(wire="iamList")
    async def iam_list(self, account: str, kind: str, prefix: str = "") -> list[IAMRecord]: ...

    @rpc(writes=True, wire="iamCommit")
    async def iam_commit(self, account: str, changes: list[IAMChange]) -> None: ...
