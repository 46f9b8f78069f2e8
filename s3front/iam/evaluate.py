"""The decision: AWS's "Policy evaluation logic", for one request, as one pure function.

1. An explicit Deny in any applicable policy (identity, session, resource) wins.
2. A principal of the resource owner's account is allowed by an Allow in an identity policy OR in
   the resource policy (or the ACL); the account root is allowed everything in its own account.
3. A principal of another account needs BOTH sides: its identity side (its policies, or being that
   account's root) and the resource side (the resource policy, or the ACL). Anonymous requests have
   only the resource side.
4. Session policies (an assumed role's session policy, a service account's own policy) intersect
   with the identity side and with resource-policy grants to the role or user; only a resource
   policy naming the session's own ARN is not limited by them (AWS, "Session policies").
A resource policy naming an account delegates to the account: it lets that account's root in,
and its users and roles only across accounts, where their own policies must allow as well.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from functools import lru_cache

from s3front.iam.arn import role_arn, root_arn, session_arn, user_arn
from s3front.iam.policy import Policy, PrincipalSpec, Statement
from s3front.iam.variables import Keys

NONE, ACCOUNT, DIRECT, SESSION = range(4)     # how a resource-policy statement names the requester


class PrincipalKind(str, Enum):
    ANONYMOUS = "anonymous"
    ROOT = "root"
    USER = "user"
    ASSUMED_ROLE = "assumed-role"
    SERVICE_ACCOUNT = "service-account"


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision and, for logs, what made it: a policy's name and statement, "acl" or "root"."""
    decision: Decision
    source: str = ""
    statement: int | None = None
    sid: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


class Principal:
    """Who makes a request. `parent_arn` is an assumed role's role ARN, or a service account's user."""

    __slots__ = ("kind", "account", "arn", "user_id", "user_name", "canonical_id", "parent_arn",
                 "chain", "session")

    def __init__(self, kind: PrincipalKind, account: str = "", arn: str = "", user_id: str = "",
                 user_name: str = "", canonical_id: str = "", parent_arn: str = "") -> None:
        self.kind = kind
        self.account = account
        self.arn = arn
        self.user_id = user_id
        self.user_name = user_name
        self.canonical_id = canonical_id
        self.parent_arn = parent_arn
        # every identity the principal answers to, widest first (NotPrincipal must list them all)
        ids = [root_arn(account)] if account else ["anonymous"]
        ids += [a for a in (parent_arn, arn) if a and a not in ids]
        self.chain = tuple(ids)
        narrowed = kind in (PrincipalKind.ASSUMED_ROLE, PrincipalKind.SERVICE_ACCOUNT)
        self.session = arn if narrowed and arn != parent_arn else ""   # its own ARN, as a policy may name it

    def __repr__(self) -> str:
        return f"Principal({self.kind.value}, {self.arn or self.account or 'anonymous'})"


def anonymous() -> Principal:
    """An unsigned request."""
    return Principal(PrincipalKind.ANONYMOUS)


@lru_cache(maxsize=1024)
def account_root(account: str, canonical_id: str = "") -> Principal:
    """An account's root user (an account's own access keys); one shared object per account (a
    Principal is never changed once made), so that a request does not build it again."""
    return Principal(PrincipalKind.ROOT, account, root_arn(account), account, "", canonical_id)


def iam_user(account: str, name: str, user_id: str = "", canonical_id: str = "",
             path: str = "/") -> Principal:
    """An IAM user of `account`."""
    return Principal(PrincipalKind.USER, account, user_arn(account, name, path), user_id, name, canonical_id)


def assumed_role(account: str, role: str, session: str, role_id: str = "", canonical_id: str = "",
                 path: str = "/") -> Principal:
    """A session of role `role` (STS AssumeRole)."""
    return Principal(PrincipalKind.ASSUMED_ROLE, account, session_arn(account, role, session),
                     f"{role_id}:{session}" if role_id else "", "", canonical_id,
                     role_arn(account, role, path))


def service_account(parent: Principal, key_arn: str = "", user_id: str = "") -> Principal:
    """A service account key of `parent` (MinIO's): the parent's identity, narrowed by its own policy."""
    return Principal(PrincipalKind.SERVICE_ACCOUNT, parent.account, key_arn or parent.arn,
                     user_id or parent.user_id, parent.user_name, parent.canonical_id, parent.arn)


_TYPES = {PrincipalKind.ROOT: "Account", PrincipalKind.USER: "User",
          PrincipalKind.ASSUMED_ROLE: "AssumedRole", PrincipalKind.SERVICE_ACCOUNT: "User",
          PrincipalKind.ANONYMOUS: "Anonymous"}


def principal_keys(p: Principal) -> dict[str, str]:
    """The aws: keys a principal puts in the request context (AWS's "Principal key values")."""
    keys = {"aws:principaltype": _TYPES[p.kind]}
    if p.kind is PrincipalKind.ANONYMOUS:
        return keys
    keys["aws:principalaccount"] = p.account
    keys["aws:principalarn"] = p.parent_arn if p.kind is PrincipalKind.ASSUMED_ROLE else p.arn
    if p.user_id:
        keys["aws:userid"] = p.user_id
    if p.user_name and p.kind in (PrincipalKind.USER, PrincipalKind.SERVICE_ACCOUNT):
        keys["aws:username"] = p.user_name
    return keys


def time_keys(now: float | None = None) -> dict[str, str]:
    """aws:CurrentTime (ISO 8601, UTC) and aws:EpochTime."""
    return _time_keys(int(time.time() if now is None else now))


@lru_cache(maxsize=4)
def _time_keys(second: int) -> dict[str, str]:
    # formatted once per second, not per request (callers copy it into their own context)
    stamp = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"aws:currenttime": stamp, "aws:epochtime": str(second)}


def context(p: Principal, extra: Mapping[str, str | list[str]] | None = None,
            now: float | None = None) -> dict[str, str | list[str]]:
    """A request context: the principal's keys, the time, and `extra` (any case of key names)."""
    keys: dict[str, str | list[str]] = {**principal_keys(p), **time_keys(now)}
    for name, value in (extra or {}).items():
        keys[name.lower()] = value
    return keys


class Request:
    """What is asked: principal, action ("s3:GetObject"), resource ARN, the resource owner's account,
    and the condition keys (lower-cased names; see `context`)."""

    __slots__ = ("principal", "action", "resource", "resource_account", "keys")

    def __init__(self, principal: Principal, action: str, resource: str, resource_account: str,
                 keys: Keys) -> None:
        self.principal = principal
        self.action = action.lower()
        self.resource = resource
        self.resource_account = resource_account
        self.keys = keys


def principal_strength(spec: PrincipalSpec, p: Principal) -> int:
    """How a Principal element names `p`: NONE, ACCOUNT (through its account), DIRECT, or SESSION."""
    if spec.wildcard:
        return DIRECT
    if p.kind is PrincipalKind.ANONYMOUS:
        return NONE
    aws = spec.aws
    if p.session and p.session in aws:
        return SESSION
    if (p.parent_arn and p.parent_arn in aws) or p.arn in aws:
        return DIRECT
    if p.chain[0] in aws or (p.canonical_id and p.canonical_id in spec.canonical):
        return DIRECT if p.kind is PrincipalKind.ROOT else ACCOUNT
    return NONE


def not_principal_applies(spec: PrincipalSpec, p: Principal) -> bool:
    """Whether a NotPrincipal statement applies to `p`: unless every identity of `p` is listed."""
    if spec.wildcard:
        return False
    listed = spec.aws
    for ident in p.chain:
        if ident not in listed and not (ident == p.chain[0] and p.canonical_id in spec.canonical):
            return True
    return False


def _strength(st: Statement, p: Principal) -> int:
    spec = st.principal
    if spec is None:
        return NONE
    if st.not_principal:
        return DIRECT if not_principal_applies(spec, p) else NONE
    return principal_strength(spec, p)


def _scan(policy: Policy, req: Request) -> tuple[Statement | None, Statement | None]:
    """(the first applicable Deny, the first applicable Allow) of an identity or session policy."""
    for st in policy.candidates(req.action):
        if st.applies(req.resource, req.keys):
            return (st, None) if st.deny else (None, st)
    return None, None


def _scan_resource(policy: Policy, req: Request) -> tuple[Statement | None, Statement | None, int]:
    """(applicable Deny, the strongest applicable Allow, its strength) of a resource policy."""
    best, strength = None, NONE
    for st in policy.candidates(req.action):
        found = _strength(st, req.principal)
        if found == NONE or not st.applies(req.resource, req.keys):
            continue
        if st.deny:
            return st, None, NONE
        if found > strength:
            best, strength = st, found
    return None, best, strength


def _verdict(decision: Decision, policy: Policy, st: Statement) -> Verdict:
    return Verdict(decision, policy.name, st.index, st.sid)


_IMPLICIT = Verdict(Decision.IMPLICIT_DENY)


def decide(request: Request, identity_policies: Sequence[Policy] = (), resource_policy: Policy | None = None,
           session_policies: Sequence[Policy] = (), acl_allows: Callable[[], bool] | None = None) -> Verdict:
    """Whether `request` is allowed, as AWS decides it.

    `identity_policies` are the principal's (user, its groups, the role); `session_policies` narrow
    them (empty: no narrowing). `acl_allows`, asked only when no policy decided, says whether the
    ACL grants the permission to this principal the way S3 counts grants: a grant to an account's
    canonical id counts for that account's root, and for its users and roles only across accounts
    (within its own account a user needs a policy); AllUsers and AuthenticatedUsers count for all."""
    p = request.principal
    anonymous_ = p.kind is PrincipalKind.ANONYMOUS
    identity_allow = session_allow = None
    id_policy = session_policy = None
    if not anonymous_:
        for policy in identity_policies:
            deny, allow = _scan(policy, request)
            if deny is not None:
                return _verdict(Decision.EXPLICIT_DENY, policy, deny)
            if allow is not None and identity_allow is None:
                identity_allow, id_policy = allow, policy
        for policy in session_policies:
            deny, allow = _scan(policy, request)
            if deny is not None:
                return _verdict(Decision.EXPLICIT_DENY, policy, deny)
            if allow is not None and session_allow is None:
                session_allow, session_policy = allow, policy
    resource_allow, strength = None, NONE
    if resource_policy is not None:
        deny, resource_allow, strength = _scan_resource(resource_policy, request)
        if deny is not None:
            return _verdict(Decision.EXPLICIT_DENY, resource_policy, deny)
    session_ok = not session_policies or session_allow is not None
    if not anonymous_ and p.account == request.resource_account:
        return _same_account(p, request, identity_allow, id_policy, resource_policy, resource_allow,
                             strength, session_ok, acl_allows)
    identity_ok = anonymous_ or p.kind is PrincipalKind.ROOT or (identity_allow is not None and session_ok)
    if not identity_ok:
        return _IMPLICIT
    if resource_allow is not None and resource_policy is not None:
        return _verdict(Decision.ALLOW, resource_policy, resource_allow)
    if acl_allows is not None and acl_allows():
        return Verdict(Decision.ALLOW, "acl")
    return _IMPLICIT


def _same_account(p: Principal, request: Request, identity_allow: Statement | None, id_policy: Policy | None,
                  resource_policy: Policy | None, resource_allow: Statement | None, strength: int,
                  session_ok: bool, acl_allows: Callable[[], bool] | None) -> Verdict:
    if p.kind is PrincipalKind.ROOT:
        return Verdict(Decision.ALLOW, "root")
    if strength == SESSION and resource_policy is not None and resource_allow is not None:
        return _verdict(Decision.ALLOW, resource_policy, resource_allow)
    if not session_ok:
        return _IMPLICIT
    if identity_allow is not None and id_policy is not None:
        return _verdict(Decision.ALLOW, id_policy, identity_allow)
    if strength >= DIRECT and resource_policy is not None and resource_allow is not None:
        return _verdict(Decision.ALLOW, resource_policy, resource_allow)
    if acl_allows is not None and acl_allows():
        return Verdict(Decision.ALLOW, "acl")
    return _IMPLICIT
