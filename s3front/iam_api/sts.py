"""STS: GetCallerIdentity, GetSessionToken and AssumeRole (trust policy, duration, session policy)."""
from __future__ import annotations

import re

from s3front.iam import (Decision, PolicyError, PrincipalKind, Request, context, decide, parse_identity_policy,
                         policy_size, session_arn)
from s3front.iam_api import sessions
from s3front.iam_api.protocol import QueryRequest, iso
from s3front.iam_api.roles import parse_trust_policy
from s3front.xml import Node
from shared import constants as C
from shared.contract.iam import POLICY, ROLE
from shared.errors import S3Error

_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role(/|/[\x21-\x7e]*/)([\w+=,.@-]{1,64})", re.ASCII)
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


def _user_id(q: QueryRequest) -> str:
    who = q.principal
    return q.account_id if who.kind is PrincipalKind.ROOT else who.user_id


async def get_caller_identity(q: QueryRequest) -> list[Node]:
    return [("UserId", _user_id(q)), ("Account", q.account_id), ("Arn", q.principal.arn)]


def _credentials(creds: dict) -> Node:
    return ("Credentials", [("AccessKeyId", creds["AccessKeyId"]), ("SecretAccessKey", creds["SecretAccessKey"]),
                            ("SessionToken", creds["SessionToken"]), ("Expiration", iso(creds["Expiration"]))])


def _duration(q: QueryRequest, default: int, maximum: int) -> int:
    duration = q.integer("DurationSeconds", C.STS_MIN_DURATION_S, max(maximum, C.STS_MIN_DURATION_S), default)
    return min(duration, maximum)


async def get_session_token(q: QueryRequest) -> list[Node]:
    """Temporary credentials standing for the caller: a user (its policies apply) or an account root."""
    who, store = q.principal, q.frontend.identities
    if who.kind is PrincipalKind.ROOT:
        duration = _duration(q, C.STS_ROOT_SESSION_TOKEN_MAX_S, C.STS_ROOT_SESSION_TOKEN_MAX_S)
        creds = sessions.issue(store, q.account_id, sessions.ROOT, duration)
    elif who.kind is PrincipalKind.USER:
        duration = _duration(q, C.STS_SESSION_TOKEN_DEFAULT_S, C.STS_SESSION_TOKEN_MAX_S)
        path = who.arn.split(":user", 1)[1].rsplit("/", 1)[0] + "/"
        creds = sessions.issue(store, q.account_id, sessions.USER, duration, who.user_name, path, who.user_id)
    else:
        raise S3Error("AccessDenied", "Cannot call GetSessionToken with session credentials")
    return [_credentials(creds)]


def _session_policy(q: QueryRequest) -> str | None:
    text = q.get("Policy")
    if text is None:
        return None
    try:
        parse_identity_policy(text)
        size = policy_size("managed", text)
    except PolicyError as exc:
        raise S3Error("MalformedPolicyDocument", exc.message) from None
    if size > C.STS_SESSION_POLICY_MAX_CHARS:
        raise S3Error("PackedPolicyTooLarge", "Packed policy consumes more than 100% of the allotted space.")
    return text


async def _managed_session_policies(q: QueryRequest, account: str) -> tuple[str, ...]:
    """The documents of the managed policies PolicyArns names (the role's account's), as session policies."""
    arns = [m.get("arn", "") for m in q.member_maps("PolicyArns")]
    if len(arns) > 10:
        raise S3Error("ValidationError", "1 validation error detected: Value at 'policyArns' failed to satisfy "
                      "constraint: Member must have length less than or equal to 10")
    texts = []
    for arn in arns:
        name = arn.rsplit("/", 1)[-1] if arn.startswith(f"arn:aws:iam::{account}:policy/") else None
        record = await q.frontend.identities.get(account, POLICY, name) if name else None
        if record is None or record.doc["arn"] != arn:
            raise S3Error("InvalidParameterValue", f"The policy {arn} does not exist or is not attachable.")
        texts.append(record.doc["versions"][record.doc["defaultVersion"]]["document"])
    return tuple(texts)


def _trusted(q: QueryRequest, role_account: str, role_arn: str, trust_text: str, policies: list) -> bool:
    """Whether the role's trust policy lets the caller in, with the caller's own policies where AWS wants them:
    a trust policy naming the caller itself suffices in its account; one naming an account needs the
    caller's identity policies to allow sts:AssumeRole as well, as across accounts."""
    who = q.principal
    keys = context(who, {"aws:sourceip": q.source_ip, "sts:rolesessionname": q.get("RoleSessionName", ""),
                         **({"sts:externalid": q.params["ExternalId"]} if "ExternalId" in q.params else {})})
    trust = parse_trust_policy(trust_text, f"trust/{role_arn}")
    both = decide(Request(who, "sts:AssumeRole", role_arn, "", keys), policies, trust, q.session_policies)
    if both.decision is not Decision.IMPLICIT_DENY or who.kind is PrincipalKind.ROOT:
        return both.allowed
    if who.account != role_account:
        return False
    direct = decide(Request(who, "sts:AssumeRole", role_arn, role_account, keys), (), trust, q.session_policies)
    return direct.allowed and direct.source == trust.name


async def assume_role(q: QueryRequest) -> list[Node]:
    role_arn, session = q.require("RoleArn"), q.require("RoleSessionName")
    match = _ROLE_ARN.fullmatch(role_arn)
    if match is None:
        raise S3Error("ValidationError", f"{role_arn} is invalid")
    if not _SESSION_NAME.fullmatch(session):
        raise S3Error("ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
                      "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    policy = _session_policy(q)
    account, path, name = match.groups()
    store = q.frontend.identities
    role = await store.get(account, ROLE, name) if store.account(account) else None
    denied = S3Error("AccessDenied", f"User: {q.principal.arn} is not authorized to perform: sts:AssumeRole on "
                     f"resource: {role_arn}")
    if role is None or role.doc["arn"] != role_arn:
        raise denied
    if not _trusted(q, account, role_arn, role.doc["trust"], await store.policies(q.principal)):
        raise denied
    maximum = role.doc.get("maxSession", C.STS_DEFAULT_ROLE_MAX_SESSION_S)
    if q.principal.kind is PrincipalKind.ASSUMED_ROLE:
        maximum = min(maximum, C.STS_CHAINED_SESSION_MAX_S)
    requested = q.integer("DurationSeconds", C.STS_MIN_DURATION_S, C.STS_MAX_ROLE_SESSION_S, 3600)
    if requested > maximum:
        raise S3Error("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this "
                      "role.")
    narrowing = ((policy,) if policy else ()) + await _managed_session_policies(q, account)
    creds = sessions.issue(store, account, sessions.ROLE, requested, name, path, role.doc["roleId"], session,
                           narrowing)
    packed = round(100 * policy_size("managed", policy) / C.STS_SESSION_POLICY_MAX_CHARS) if policy else None
    return [_credentials(creds),
            ("AssumedRoleUser", [("AssumedRoleId", f"{role.doc['roleId']}:{session}"),
                                 ("Arn", session_arn(account, name, session))]),
            ("PackedPolicySize", packed)]


ACTIONS = {
    "GetCallerIdentity": (get_caller_identity, None), "GetSessionToken": (get_session_token, None),
    "AssumeRole": (assume_role, None),
}
