"""Whether a bucket policy is "public", as S3 decides it for Block Public Access and
GetBucketPolicyStatus (S3 User Guide, "The meaning of 'public'").

S3 starts from "public" and looks for a reason not to be: every Allow statement must grant only to
fixed values (no wildcard, no policy variable) of a principal, or be limited by a condition that
fixes one of: aws:SourceIp (CIDRs no broader than /8 for IPv4 and /32 for IPv6, RFC 1918 ranges
aside), aws:SourceArn, aws:SourceVpc, aws:SourceVpce, aws:SourceOwner, aws:SourceAccount,
s3:x-amz-server-side-encryption-aws-kms-key-id, aws:userid (a fixed id, or "ROLEID:*"),
s3:DataAccessPointArn (a wildcard allowed in the access point name once the account is fixed),
s3:DataAccessPointAccount, or a principal (aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn).
Actions and resources do not matter: S3 also counts actions that may be added later.
A Federated principal is public (AWS's example), as is NotPrincipal with Allow.
"""
from __future__ import annotations

import ipaddress
import re

from s3front.iam.conditions import Condition
from s3front.iam.policy import Policy, Statement
from s3front.iam.variables import LIT, VAR, text_of

FIXING_KEYS = frozenset(k.lower() for k in (
    "aws:SourceIp", "aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner",
    "aws:SourceAccount", "s3:x-amz-server-side-encryption-aws-kms-key-id", "aws:userid",
    "s3:DataAccessPointArn", "s3:DataAccessPointAccount", "aws:PrincipalOrgID", "aws:PrincipalAccount",
    "aws:PrincipalArn"))
_FIXING_FAMILIES = ("string", "istring", "like", "arn", "ip")
_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_ACCESS_POINT = re.compile(r"arn:[^:*?]+:s3:[^:*?]*:\d{12}:accesspoint/.*", re.ASCII)
_NARROWEST = {4: 8, 6: 32}


def _fixed_text(condition: Condition) -> list[str] | None:
    """The condition's values as text, or None if one holds a variable."""
    out = []
    for tokens in condition.values:
        if any(t[0] != LIT for t in tokens):
            if condition.key != "s3:dataaccesspointarn":
                return None
            if any(t[0] == VAR for t in tokens):
                return None
            out.append("".join(t[1] for t in tokens))
            continue
        out.append(text_of(tokens))
    return out


def _narrow_cidr(text: str) -> bool:
    net = ipaddress.ip_network(text.strip(), strict=False)
    if any(net.version == p.version and net.subnet_of(p) for p in _PRIVATE):
        return True
    return net.prefixlen >= _NARROWEST[net.version]


def _value_fixed(key: str, value: str) -> bool:
    if key == "aws:sourceip":
        return _narrow_cidr(value)
    if key == "s3:dataaccesspointarn":
        return _ACCESS_POINT.fullmatch(value) is not None
    if key == "aws:userid" and value.endswith(":*"):
        value = value[:-2]
    return bool(value) and "*" not in value and "?" not in value


def limits_access(condition: Condition) -> bool:
    """Whether a condition fixes one of the keys that make a statement non-public."""
    if condition.key not in FIXING_KEYS or condition.family not in _FIXING_FAMILIES:
        return False
    if condition.negated or condition.if_exists or condition.qualifier == "all":
        return False                               # each of these lets a request without the key in
    values = _fixed_text(condition)
    return values is not None and all(_value_fixed(condition.key, v) for v in values)


def statement_is_public(st: Statement) -> bool:
    """Whether one statement of a resource policy grants public access."""
    spec = st.principal
    if st.deny or spec is None:
        return False
    public_principal = st.not_principal or spec.wildcard or bool(spec.federated)
    if not public_principal:
        return False
    return not any(limits_access(c) for c in st.conditions)


def public_statements(policy: Policy) -> list[Statement]:
    """The statements that make `policy` public."""
    return [st for st in policy.statements if statement_is_public(st)]


def is_public(policy: Policy | None) -> bool:
    """GetBucketPolicyStatus's IsPublic for a bucket policy (False for none)."""
    return policy is not None and bool(public_statements(policy))
