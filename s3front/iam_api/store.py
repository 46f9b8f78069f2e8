"""A front-end's view of the identity store: typed calls, planned commits, and short-lived caches.

Access keys and the policies of a principal are read once and kept (so a request costs no extra
RPC) until the metadata daemon says identities changed: it tells every front-end of every IAM
commit before acknowledging it, as it does for bucket attributes, so a disabled user or a deleted
key is refused everywhere at once. A lost connection forgets everything too; IAM_CACHE_TTL_S is
only a safety net for a notice lost between daemons sharing one database.
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from s3front.auth import Identity
from s3front.iam import Policy, PolicyError, Principal, PrincipalKind, iam_user, parse_identity_policy, \
    service_account
from s3front.iam_api import aws_managed
from s3front.iam_api.sealing import SECRETS_LABEL, TOKENS_LABEL, Unsealable, derive, seal, unseal
from shared import constants as C
from shared.config import Account, Config
from shared.contract.iam import ACCESS_KEY, GROUP, POLICY, ROLE, USER, IAMChange, IAMRecord, IdentityAPI
from shared.contract.rpc import bind_client, calls_of
from shared.errors import InternalError, S3Error

T = TypeVar("T")
Plan = Callable[[], Awaitable[tuple[list[IAMChange], T]]]


class IdentityClient:
    """The IdentityAPI calls over the front-end's metadata connection."""

    def __init__(self, metadata: Any) -> None:
        self._metadata = metadata

    async def rpc_call(self, wire: str, writes: bool, args: dict[str, Any], timeout: float | None = None) -> Any:
        return await self._metadata.rpc_call(wire, writes, args, timeout)


bind_client(IdentityClient, calls_of(IdentityAPI))


def create(kind: str, name: str, doc: dict[str, Any]) -> IAMChange:
    """A change that makes a new record (ConcurrentModification if it appeared meanwhile)."""
    return IAMChange(kind, name, doc, 0)


def update(record: IAMRecord, doc: dict[str, Any]) -> IAMChange:
    """A change that replaces `record`, if nobody changed it since it was read."""
    return IAMChange(record.kind, record.name, doc, record.rev)


def remove(record: IAMRecord) -> IAMChange:
    return IAMChange(record.kind, record.name, None, record.rev)


class Identities:
    """The identity store for one front-end process."""

    def __init__(self, config: Config, metadata: Any) -> None:
        self.config = config
        self.client = IdentityClient(metadata)
        self.secrets = derive(config.cluster_secret, SECRETS_LABEL)
        self.tokens = derive(config.cluster_secret, TOKENS_LABEL)
        self._keys: dict[str, tuple[float, Identity | None]] = {}
        self._policies: dict[tuple[str, str, str], tuple[float, list[Policy]]] = {}
        self._compiled: dict[str, Policy] = {}
        self._accounts = {a.account_id: a for a in reversed(config.accounts)}
        self._epoch = 0                 # bumped by forget(): a read that spans a change is not kept
        hooks = getattr(metadata, "on_identities_changed", None)
        if hooks is not None:
            hooks.append(self.forget)

    # -- the store ---------------------------------------------------------------------------------
    async def get(self, account: str, kind: str, name: str) -> IAMRecord | None:
        return await self.client.iam_get(account, kind, name)

    async def need(self, account: str, kind: str, name: str) -> IAMRecord:
        """A record that must exist: NoSuchEntity otherwise."""
        record = await self.get(account, kind, name)
        if record is None:
            from s3front.iam_api.model import no_such
            raise no_such(kind, name)
        return record

    async def list(self, account: str, kind: str, prefix: str = "") -> list[IAMRecord]:
        return await self.client.iam_list(account, kind, prefix)

    async def transact(self, account: str, plan: Plan[T]) -> T:
        """Run `plan` (reads, then the changes to commit and a result) until its commit goes through."""
        for attempt in range(C.IAM_COMMIT_ATTEMPTS):
            changes, result = await plan()
            if not changes:
                return result
            try:
                await self.client.iam_commit(account, changes)
            except S3Error as exc:
                if exc.code != "ConcurrentModification" or attempt == C.IAM_COMMIT_ATTEMPTS - 1:
                    raise
                continue
            finally:
                self.forget()
            return result
        raise InternalError("unreachable")

    def forget(self) -> None:
        """Drop every cached key and policy (after a write through this front-end)."""
        self._epoch += 1
        self._keys.clear()
        self._policies.clear()

    def account(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id)

    def seal_secret(self, access_key: str, secret: str) -> str:
        return seal(self.secrets, secret.encode(), access_key.encode())

    def open_secret(self, access_key: str, sealed: str) -> str:
        try:
            return unseal(self.secrets, sealed, access_key.encode()).decode()
        except Unsealable as exc:
            raise InternalError(f"the stored secret of {access_key} does not open: {exc}") from None

    # -- authentication ----------------------------------------------------------------------------
    async def prefetch(self, access_key: str) -> None:
        """Make find() able to answer for an IAM user's key (one or two reads, then cached)."""
        if self.config.account_by_access_key(access_key) is not None or access_key.startswith("ASIA"):
            return
        hit = self._keys.get(access_key)
        if hit is not None and hit[0] > time.monotonic():
            return
        for _ in range(3):              # a read that spans a change may be stale: read again
            epoch = self._epoch
            identity = await self._read_key(access_key)
            if epoch == self._epoch:
                break
        if len(self._keys) >= C.IAM_CACHE_SIZE:
            self._keys.clear()
        self._keys[access_key] = (time.monotonic() + C.IAM_CACHE_TTL_S, identity)

    async def _read_key(self, access_key: str) -> Identity | None:
        key = await self.get("", ACCESS_KEY, access_key)
        if key is None or key.doc.get("status") != "Active":
            return None
        doc = key.doc
        owner = self.account(doc["account"])
        if owner is not None and doc.get("root"):       # an extra key of the account root
            return Identity(replace(owner, access_key=access_key,
                                    secret_key=self.open_secret(access_key, doc["secret"])), None)
        user = await self.get(doc["account"], USER, doc["user"])
        if owner is None or user is None or not user.doc.get("enabled", True):
            return None
        who = iam_user(owner.account_id, user.name, user.doc["userId"], owner.canonical_id, user.doc["path"])
        narrowing: tuple[Policy, ...] = ()
        if doc.get("service"):
            who = service_account(who)
            if doc.get("policy"):
                narrowing = (self.compiled(doc["policy"], f"service-account/{access_key}"),)
        account = replace(owner, access_key=access_key, secret_key=self.open_secret(access_key, doc["secret"]))
        return Identity(account, who, narrowing)

    def find(self, access_key: str, token: str | None) -> Identity | None:
        """The identity of a key that prefetch() looked up, or of a session token; None if neither."""
        if access_key.startswith("ASIA"):
            from s3front.iam_api.sessions import open_session
            return None if token is None else open_session(self, access_key, token)
        hit = self._keys.get(access_key)
        return hit[1] if hit is not None else None

    # -- policies ----------------------------------------------------------------------------------
    def compiled(self, text: str, name: str) -> Policy:
        """A stored identity policy, compiled once per text."""
        policy = self._compiled.get(text)
        if policy is None:
            try:
                policy = parse_identity_policy(text, name)
            except PolicyError as exc:
                raise InternalError(f"the stored policy {name} does not parse: {exc.message}") from None
            if len(self._compiled) >= C.IAM_CACHE_SIZE:
                self._compiled.clear()
            self._compiled[text] = policy
        return policy

    async def policies(self, principal: Principal) -> list[Policy]:
        """The identity policies of a principal: a user's inline and attached ones and its groups',
        a role's for its sessions; none for an account root or anonymous."""
        if principal.kind in (PrincipalKind.USER, PrincipalKind.SERVICE_ACCOUNT):
            ident = (principal.account, USER, principal.user_name)
        elif principal.kind is PrincipalKind.ASSUMED_ROLE:
            ident = (principal.account, ROLE, principal.parent_arn.rsplit("/", 1)[-1])
        else:
            return []
        hit = self._policies.get(ident)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        epoch = self._epoch
        found = await self._read_policies(*ident)
        if epoch != self._epoch:
            return found
        if len(self._policies) >= C.IAM_CACHE_SIZE:
            self._policies.clear()
        self._policies[ident] = (time.monotonic() + C.IAM_CACHE_TTL_S, found)
        return found

    async def _read_policies(self, account: str, kind: str, name: str) -> list[Policy]:
        record = await self.get(account, kind, name)
        if record is None:
            return []
        holders = [record]
        if kind == USER:
            for group in record.doc.get("groups", []):
                found = await self.get(account, GROUP, group)
                if found is not None:
                    holders.append(found)
        out = []
        for holder in holders:
            label = f"{holder.kind}/{holder.name}"
            out += [self.compiled(text, f"{label}/{pname}") for pname, text in holder.doc.get("inline", {}).items()]
            for arn in holder.doc.get("attached", []):
                managed = aws_managed.find(arn) or await self.get(account, POLICY, arn.rsplit("/", 1)[-1])
                if managed is not None:
                    version = managed.doc["versions"][managed.doc["defaultVersion"]]
                    out.append(self.compiled(version["document"], arn))
        return out


async def identity_policies(frontend: Any, principal: Principal) -> list[Policy]:
    """The identity policies authorize() weighs for `principal` (cached; see Identities.policies)."""
    return await frontend.identities.policies(principal)
