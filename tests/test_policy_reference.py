"""The compiled evaluator against a brute-force reference written here, naively, from AWS's text.

Random policies from a small grammar of actions, resources, principals and conditions, random
requests; both must reach the same decision. The reference reads the JSON documents directly and
shares no code with s3front.iam but the principal constructors' ARNs.
"""
from __future__ import annotations

import ipaddress
import json
from datetime import datetime

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from s3front.iam import (Decision, PolicyError, Request, account_root, anonymous, assumed_role, decide,
                         iam_user, parse_bucket_policy, parse_identity_policy, service_account)

OWNER, OTHER, CANON_OWNER = "111111111111", "222222222222", "c" * 64
ALICE = iam_user(OWNER, "alice", "AIDAALICE", CANON_OWNER)
CAROL = iam_user(OWNER, "carol", "AIDACAROL", CANON_OWNER)
BOB = iam_user(OTHER, "bob", "AIDABOB")
SESSION = assumed_role(OWNER, "reader", "s1", "AROAREADER", CANON_OWNER)
WHO = [ALICE, CAROL, BOB, SESSION, anonymous(), account_root(OWNER, CANON_OWNER), account_root(OTHER),
       service_account(ALICE, f"arn:aws:iam::{OWNER}:user/alice/key1")]
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"]
RESOURCES = ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/a1", "arn:aws:s3:::bkt/abc", "arn:aws:s3:::bkt/alice/x",
             "arn:aws:s3:::bkt/a*c"]

action_patterns = st.sampled_from(["s3:*", "s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:Get*", "*",
                                   "s3:?utObject", "S3:getobject", "s3:*Object", "s3:DeleteObject"])
resource_patterns = st.sampled_from(["*", "arn:aws:s3:::bkt/*", "arn:aws:s3:::bkt/a*", "arn:aws:s3:::bkt/a?c",
                                     "arn:aws:s3:::bkt", "arn:aws:s3:::bkt/${aws:username}/*",
                                     "arn:aws:s3:::b*", "arn:aws:s3:::bkt/a${*}c", "arn:aws:s3:::bkt/abc"])
principals = st.sampled_from(["*", {"AWS": "*"}, {"AWS": OWNER}, {"AWS": ALICE.arn}, {"AWS": SESSION.parent_arn},
                              {"AWS": SESSION.arn}, {"AWS": OTHER}, {"AWS": BOB.arn}, {"CanonicalUser": CANON_OWNER},
                              {"AWS": [ALICE.arn, OWNER]}, {"AWS": [SESSION.arn, SESSION.parent_arn, OWNER]}])
conditions = st.sampled_from([
    {"StringEquals": {"aws:username": ["alice", "bob"]}}, {"StringNotEquals": {"aws:username": "alice"}},
    {"StringLike": {"s3:prefix": "a*"}}, {"StringNotLike": {"s3:prefix": "a?"}},
    {"StringEqualsIgnoreCase": {"aws:username": "ALICE"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "::1/128"]}},
    {"Bool": {"aws:SecureTransport": "true"}}, {"NumericLessThan": {"s3:max-keys": "10"}},
    {"NumericGreaterThanEquals": {"s3:max-keys": 10}},
    {"Null": {"aws:username": "true"}}, {"Null": {"s3:prefix": "false"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["x"]}}, {"ForAllValues:StringEquals": {"aws:TagKeys": ["x", "y"]}},
    {"ForAllValues:StringNotEquals": {"aws:TagKeys": "z"}}, {"ForAnyValue:StringLike": {"aws:TagKeys": "*y"}},
    {"StringEqualsIfExists": {"s3:prefix": "abc"}}, {"NotIpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}},
    {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}},
    {"StringLike": {"s3:prefix": "${aws:username}*"}},
    {"StringEquals": {"aws:username": "alice"}, "Bool": {"aws:SecureTransport": "false"}},
])


def one_or_many(strategy):
    return st.one_of(strategy, st.lists(strategy, min_size=1, max_size=3))


@st.composite
def statements(draw, resource_policy: bool):
    s = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Allow", "Deny"]))}
    s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = draw(one_or_many(action_patterns))
    s["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = draw(one_or_many(resource_patterns))
    if resource_policy:
        s["NotPrincipal" if draw(st.integers(0, 5)) == 0 else "Principal"] = draw(principals)
    if draw(st.integers(0, 2)) == 0:
        s["Condition"] = draw(conditions)
    return s


def documents(resource_policy: bool):
    return st.lists(statements(resource_policy), min_size=1, max_size=4).map(
        lambda sts: {"Version": "2012-10-17", "Statement": sts})


contexts = st.fixed_dictionaries({}, optional={
    "aws:sourceip": st.sampled_from(["10.1.2.3", "192.0.2.1", "::1", "2001:db8::1"]),
    "aws:securetransport": st.sampled_from(["true", "false"]),
    "s3:max-keys": st.sampled_from(["5", "10", "1000", "x"]),
    "s3:prefix": st.sampled_from(["", "a", "ab", "abc", "alice/"]),
    "aws:tagkeys": st.sampled_from([[], ["x"], ["x", "y"], ["z"], ["y"]]),
    "aws:currenttime": st.sampled_from(["2024-06-01T00:00:00Z", "2026-06-01T00:00:00Z"]),
})


# ---- the reference, from AWS's descriptions, deliberately naive --------------------------------

def glob(pattern: list, text: str) -> bool:
    """`pattern` is a list of ("lit", ch) / ("*",) / ("?",); plain recursion over both."""
    if not pattern:
        return text == ""
    head = pattern[0]
    if head[0] == "*":
        return any(glob(pattern[1:], text[i:]) for i in range(len(text) + 1))
    if not text:
        return False
    if head[0] == "?":
        return glob(pattern[1:], text[1:])
    return head[1] == text[0] and glob(pattern[1:], text[1:])


def to_pattern(text: str, keys: dict, wildcards: bool = True) -> list | None:
    """Characters of `text` with policy variables put in as literal characters; None if unresolved."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("${", i) and "}" in text[i:]:
            end = text.index("}", i)
            name = text[i + 2:end]
            if name in ("*", "?", "$"):
                out.append(("lit", name))
            else:
                value = keys.get(name.lower())
                if not isinstance(value, str):
                    return None
                out.extend(("lit", ch) for ch in value)
            i = end + 1
            continue
        ch = text[i]
        out.append((ch,) if wildcards and ch in "*?" else ("lit", ch))
        i += 1
    return out


def as_list(v):
    return v if isinstance(v, list) else [v]


def ref_value_matches(op: str, policy_value, ctx_value: str, keys: dict) -> bool | None:
    pv = "true" if policy_value is True else "false" if policy_value is False else str(policy_value)
    if op in ("StringEquals", "StringNotEquals"):
        pat = to_pattern(pv, keys, wildcards=False)
        return None if pat is None else "".join(c[1] for c in pat) == ctx_value
    if op == "StringEqualsIgnoreCase":
        return pv.lower() == ctx_value.lower()
    if op in ("StringLike", "StringNotLike"):
        pat = to_pattern(pv, keys)
        return None if pat is None else glob(pat, ctx_value)
    if op in ("IpAddress", "NotIpAddress"):
        net, ip = ipaddress.ip_network(pv), ipaddress.ip_address(ctx_value)
        return net.version == ip.version and ip in net
    if op == "Bool":
        return pv.lower() == ctx_value.lower()
    if op.startswith("Numeric"):
        try:
            got = float(ctx_value)
        except ValueError:
            return False
        return got < float(pv) if op == "NumericLessThan" else got >= float(pv)
    if op == "DateLessThan":
        return datetime.fromisoformat(ctx_value) < datetime.fromisoformat(pv)
    raise AssertionError(op)


def ref_condition(full_op: str, key: str, values, keys: dict) -> bool:
    qualifier, _, op = full_op.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    ctx = keys.get(key.lower())
    if op == "Null":
        absent = ctx is None or ctx == []
        return any((str(v).lower() == "true") == absent for v in as_list(values))
    negated = "Not" in op
    if ctx is None or ctx == []:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return negated
    results = [ref_value_matches(op, v, c, keys) for v in as_list(values) for c in as_list(ctx)]
    if all(r is None for r in results):
        return False
    per_ctx = []
    for c in as_list(ctx):
        hits = [ref_value_matches(op, v, c, keys) for v in as_list(values)]
        per_ctx.append(any(h for h in hits if h is not None))
    if qualifier == "ForAnyValue":
        return any(h != negated for h in per_ctx)
    if qualifier == "ForAllValues":
        return all(h != negated for h in per_ctx)
    return any(per_ctx) != negated


def ref_covers(s: dict, action: str, resource: str, keys: dict) -> bool:
    acts = s.get("Action", s.get("NotAction"))
    act_hit = any(glob(to_pattern(a.lower(), {}), action.lower()) for a in as_list(acts))
    if act_hit == ("NotAction" in s):
        return False
    pats = [to_pattern(r, keys) for r in as_list(s.get("Resource", s.get("NotResource")))]
    if "NotResource" in s:
        if any(p is None for p in pats) or any(glob(p, resource) for p in pats):
            return False
    elif not any(p is not None and glob(p, resource) for p in pats):
        return False
    return all(ref_condition(op, k, v, keys) for op, block in s.get("Condition", {}).items()
               for k, v in block.items())


def identities(p) -> list[str]:
    """Every ARN a principal answers to: its account, its role or parent user, itself."""
    if not p.account:
        return []
    return list(dict.fromkeys([f"arn:aws:iam::{p.account}:root", p.parent_arn or p.arn, p.arn]))


def ref_names(spec, p) -> str:
    """How a Principal names `p`: "", "account", "direct" or "session"."""
    if spec == "*" or spec.get("AWS") == "*":
        return "direct"
    if not p.account:
        return ""
    named = set()
    for v in as_list(spec.get("AWS", [])):
        named.add(f"arn:aws:iam::{v}:root" if v.isdigit() else v)
    if p.arn in named and p.parent_arn and p.arn != p.parent_arn:
        return "session"
    if p.arn in named or (p.parent_arn and p.parent_arn in named):
        return "direct"
    root = f"arn:aws:iam::{p.account}:root"
    if root in named or (p.canonical_id and p.canonical_id in as_list(spec.get("CanonicalUser", []))):
        return "direct" if p.arn == root else "account"
    return ""


def ref_not_principal_applies(spec, p) -> bool:
    if spec == "*" or spec.get("AWS") == "*":
        return False
    named = {f"arn:aws:iam::{v}:root" if v.isdigit() else v for v in as_list(spec.get("AWS", []))}
    if p.canonical_id and p.canonical_id in as_list(spec.get("CanonicalUser", [])):
        named.add(f"arn:aws:iam::{p.account}:root")
    ids = identities(p) or ["anonymous"]
    return not all(i in named for i in ids)


def ref_decide(p, action, resource, owner, keys, identity_docs, resource_doc, session_docs, acl) -> Decision:
    id_stmts = [s for d in identity_docs for s in d["Statement"]] if p.account else []
    se_stmts = [s for d in session_docs for s in d["Statement"]] if p.account else []
    res = []
    for s in (resource_doc or {}).get("Statement", []):
        how = ("direct" if ref_not_principal_applies(s["NotPrincipal"], p) else "") if "NotPrincipal" in s \
            else ref_names(s["Principal"], p)
        if how and ref_covers(s, action, resource, keys):
            res.append((s["Effect"], how))
    for s in id_stmts + se_stmts:
        if s["Effect"] == "Deny" and ref_covers(s, action, resource, keys):
            return Decision.EXPLICIT_DENY
    if any(effect == "Deny" for effect, _ in res):
        return Decision.EXPLICIT_DENY
    id_ok = any(s["Effect"] == "Allow" and ref_covers(s, action, resource, keys) for s in id_stmts)
    se_ok = not session_docs or any(s["Effect"] == "Allow" and ref_covers(s, action, resource, keys)
                                    for s in se_stmts)
    granted = {how for effect, how in res if effect == "Allow"}
    is_root = p.account and p.arn == f"arn:aws:iam::{p.account}:root"
    if p.account and p.account == owner:
        if is_root or "session" in granted:
            return Decision.ALLOW
        ok = se_ok and (id_ok or "direct" in granted or bool(acl and acl()))
        return Decision.ALLOW if ok else Decision.IMPLICIT_DENY
    own_side = not p.account or is_root or (id_ok and se_ok)
    other_side = bool(granted) or bool(acl and acl())
    return Decision.ALLOW if own_side and other_side else Decision.IMPLICIT_DENY


def valid_only(doc: dict | None) -> dict | None:
    """The bucket policy with only the statements S3 would take (an action must apply to a resource)."""
    if doc is None:
        return None
    def takes(s):
        try:
            parse_bucket_policy(json.dumps({"Version": "2012-10-17", "Statement": [s]}), "bkt")
            return True
        except PolicyError:
            return False
    kept = [s for s in doc["Statement"] if takes(s)]
    return {**doc, "Statement": kept} if kept else None


# ---- the property ----------------------------------------------------------------------------

@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(who=st.sampled_from(WHO), action=st.sampled_from(ACTIONS), resource=st.sampled_from(RESOURCES),
       owner=st.sampled_from([OWNER, OWNER, OTHER]), keys=contexts,
       identity_docs=st.lists(documents(False), max_size=2), resource_doc=documents(True) | st.none(),
       session_docs=st.lists(documents(False), max_size=1), acl=st.sampled_from([None, True, False]))
def test_compiled_evaluator_agrees_with_the_reference(who, action, resource, owner, keys, identity_docs,
                                                      resource_doc, session_docs, acl):
    resource_doc = valid_only(resource_doc)
    try:
        compiled_ids = [parse_identity_policy(json.dumps(d), "identity") for d in identity_docs]
        compiled_sessions = [parse_identity_policy(json.dumps(d), "session") for d in session_docs]
        compiled_res = parse_bucket_policy(json.dumps(resource_doc), "bkt") if resource_doc else None
    except PolicyError:
        assume(False)
    ctx = dict(keys)
    if who.user_name and who.kind.value in ("user", "service-account"):
        ctx["aws:username"] = who.user_name
    acl_fn = None if acl is None else (lambda: acl)
    got = decide(Request(who, action, resource, owner, ctx), compiled_ids, compiled_res, compiled_sessions, acl_fn)
    want = ref_decide(who, action, resource, owner, ctx, identity_docs, resource_doc, session_docs, acl_fn)
    assert got.decision is want


def test_the_reference_is_not_vacuous():
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                   "Resource": "arn:aws:s3:::bkt/a*"}]}
    assert ref_decide(anonymous(), "s3:GetObject", "arn:aws:s3:::bkt/a1", OWNER, {}, [], doc, [], None) \
        is Decision.ALLOW
    assert ref_decide(anonymous(), "s3:GetObject", "arn:aws:s3:::bkt/b", OWNER, {}, [], doc, [], None) \
        is Decision.IMPLICIT_DENY
