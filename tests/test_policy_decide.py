"""decide(): AWS's policy evaluation logic across identity, resource and session policies and ACLs."""
from __future__ import annotations

import json

import pytest

from s3front.iam import (Decision, Request, account_root, anonymous, assumed_role, context, decide,
                         iam_user, object_arn, parse_bucket_policy, parse_identity_policy, principal_keys,
                         service_account, time_keys)

OWNER, OTHER = "111111111111", "222222222222"
BKT = "bkt"
OBJ = object_arn(BKT, "doc.txt")
ALICE = iam_user(OWNER, "alice", "AIDAALICE")
BOB = iam_user(OTHER, "bob", "AIDABOB")
ROLE_SESSION = assumed_role(OWNER, "reader", "s1", "AROAREADER")


def bucket_policy(*statements, name="bucket-policy"):
    return parse_bucket_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), BKT, name)


def identity(*statements, name="identity"):
    return parse_identity_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), name)


def allow(principal=None, action="s3:GetObject", resource=OBJ, **extra):
    st = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if principal is not None:
        st["Principal"] = principal
    return st


def deny(principal=None, **kw):
    return {**allow(principal, **kw), "Effect": "Deny"}


def ask(who, action="s3:GetObject", resource=OBJ, owner=OWNER, keys=None, **policies):
    req = Request(who, action, resource, owner, context(who, keys))
    return decide(req, **policies)


ALLOW, EXPLICIT, IMPLICIT = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


def test_no_policy_is_an_implicit_deny():
    assert ask(ALICE).decision is IMPLICIT
    assert ask(anonymous()).decision is IMPLICIT


def test_same_account_identity_policy_alone_allows():
    v = ask(ALICE, identity_policies=[identity(allow(), name="alice-inline")])
    assert v.decision is ALLOW and v.source == "alice-inline" and v.statement == 0


def test_same_account_resource_policy_alone_allows():
    v = ask(ALICE, resource_policy=bucket_policy(allow({"AWS": ALICE.arn}, Sid="ToAlice")))
    assert v.decision is ALLOW and v.source == "bucket-policy" and v.sid == "ToAlice"


def test_deny_beats_allow_in_every_place():
    allow_all = identity(allow(action="s3:*", resource="*"))
    for policies in ({"identity_policies": [allow_all, identity(deny(), name="d")]},
                     {"identity_policies": [allow_all], "resource_policy": bucket_policy(deny("*"))},
                     {"identity_policies": [allow_all], "session_policies": [identity(deny(), name="d")]},
                     {"resource_policy": bucket_policy(allow("*"), deny({"AWS": ALICE.arn}))}):
        assert ask(ALICE, **policies).decision is EXPLICIT
    v = ask(ALICE, identity_policies=[allow_all], resource_policy=bucket_policy(allow("*"), deny("*", Sid="No")))
    assert (v.decision, v.sid, v.statement) == (EXPLICIT, "No", 1)


def test_a_deny_naming_the_account_covers_its_users_and_roles():
    p = bucket_policy(allow("*"), deny({"AWS": OWNER}))
    for who in (ALICE, ROLE_SESSION, account_root(OWNER)):
        assert ask(who, resource_policy=p).decision is EXPLICIT
    assert ask(BOB, identity_policies=[identity(allow())], resource_policy=p).decision is ALLOW


def test_owner_root_is_allowed_unless_explicitly_denied():
    root = account_root(OWNER)
    v = ask(root)
    assert v.decision is ALLOW and v.source == "root"
    assert ask(root, resource_policy=bucket_policy(deny("*"))).decision is EXPLICIT
    assert ask(account_root(OTHER)).decision is IMPLICIT


def test_cross_account_needs_both_sides():
    mine = identity(allow())
    grant = bucket_policy(allow({"AWS": BOB.arn}))
    assert ask(BOB, identity_policies=[mine]).decision is IMPLICIT
    assert ask(BOB, resource_policy=grant).decision is IMPLICIT
    assert ask(BOB, identity_policies=[mine], resource_policy=grant).decision is ALLOW


def test_cross_account_root_counts_as_its_own_identity_side():
    grant = bucket_policy(allow({"AWS": OTHER}))
    assert ask(account_root(OTHER), resource_policy=grant).decision is ALLOW


def test_account_grant_delegates_to_the_account():
    grant = bucket_policy(allow({"AWS": OTHER}))
    assert ask(BOB, resource_policy=grant).decision is IMPLICIT                 # bob's own side is missing
    assert ask(BOB, identity_policies=[identity(allow())], resource_policy=grant).decision is ALLOW
    own = bucket_policy(allow({"AWS": OWNER}))
    assert ask(ALICE, resource_policy=own).decision is IMPLICIT                 # same account: a policy of her own
    assert ask(ALICE, identity_policies=[identity(allow())], resource_policy=own).decision is ALLOW


def test_anonymous_needs_the_resource_policy_or_the_acl():
    anon = anonymous()
    assert ask(anon, identity_policies=[identity(allow())]).decision is IMPLICIT
    assert ask(anon, resource_policy=bucket_policy(allow({"AWS": OWNER}))).decision is IMPLICIT
    assert ask(anon, resource_policy=bucket_policy(allow("*"))).decision is ALLOW
    assert ask(anon, resource_policy=bucket_policy(allow({"AWS": "*"}))).decision is ALLOW
    v = ask(anon, acl_allows=lambda: True)
    assert v.decision is ALLOW and v.source == "acl"


def test_acl_decides_only_where_no_policy_did():
    calls = []

    def acl():
        calls.append(1)
        return True
    assert ask(ALICE, resource_policy=bucket_policy(deny("*")), acl_allows=acl).decision is EXPLICIT
    assert ask(ALICE, identity_policies=[identity(allow())], acl_allows=acl).decision is ALLOW
    assert calls == []                                       # asked lazily, and not at all here
    assert ask(ALICE, acl_allows=acl).decision is ALLOW and calls == [1]
    assert ask(ALICE, acl_allows=lambda: False).decision is IMPLICIT
    assert ask(BOB, acl_allows=lambda: True).decision is IMPLICIT          # bob's account must allow too
    assert ask(BOB, identity_policies=[identity(allow())], acl_allows=lambda: True).decision is ALLOW


def test_session_policy_narrows_the_identity_side():
    broad = identity(allow(action="s3:*", resource="*"))
    narrow = identity(allow(action="s3:GetObject"), name="session")
    assert ask(ROLE_SESSION, identity_policies=[broad], session_policies=[narrow]).decision is ALLOW
    assert ask(ROLE_SESSION, "s3:PutObject", identity_policies=[broad], session_policies=[narrow]).decision is IMPLICIT
    assert ask(ROLE_SESSION, identity_policies=[identity(allow(action="s3:PutObject"))],
               session_policies=[narrow]).decision is IMPLICIT
    either = [narrow, identity(allow(action="s3:PutObject"))]
    assert ask(ROLE_SESSION, "s3:PutObject", identity_policies=[broad], session_policies=either).decision is ALLOW


def test_session_policy_limits_grants_to_the_role_but_not_to_the_session():
    narrow = identity(allow(action="s3:ListBucket", resource="*"))
    to_role = bucket_policy(allow({"AWS": ROLE_SESSION.parent_arn}))
    to_session = bucket_policy(allow({"AWS": ROLE_SESSION.arn}))
    assert ask(ROLE_SESSION, resource_policy=to_role).decision is ALLOW
    assert ask(ROLE_SESSION, resource_policy=to_role, session_policies=[narrow]).decision is IMPLICIT
    assert ask(ROLE_SESSION, resource_policy=to_session, session_policies=[narrow]).decision is ALLOW


def test_service_account_is_its_parent_narrowed_by_its_own_policy():
    key = service_account(ALICE)
    parents = [identity(allow(action="s3:*", resource="*"))]
    own = identity(allow(action="s3:GetObject"))
    assert ask(key, identity_policies=parents, session_policies=[own]).decision is ALLOW
    assert ask(key, "s3:DeleteObject", identity_policies=parents, session_policies=[own]).decision is IMPLICIT
    assert ask(key, resource_policy=bucket_policy(allow({"AWS": ALICE.arn}))).decision is ALLOW


def test_not_principal_deny_spares_only_principals_whose_identities_are_all_listed():
    everyone_but_alice = bucket_policy(allow("*"), deny(NotPrincipal={"AWS": [ALICE.arn, OWNER]}))
    assert ask(ALICE, resource_policy=everyone_but_alice).decision is ALLOW
    assert ask(anonymous(), resource_policy=everyone_but_alice).decision is EXPLICIT
    assert ask(iam_user(OWNER, "carol"), resource_policy=everyone_but_alice).decision is EXPLICIT
    user_only = bucket_policy(allow("*"), deny(NotPrincipal={"AWS": ALICE.arn}))
    assert ask(ALICE, resource_policy=user_only).decision is EXPLICIT       # her account was not listed
    role_only = bucket_policy(allow("*"), deny(NotPrincipal={"AWS": [ROLE_SESSION.parent_arn, OWNER]}))
    assert ask(ROLE_SESSION, resource_policy=role_only).decision is EXPLICIT   # nor was the session
    full = [ROLE_SESSION.parent_arn, ROLE_SESSION.arn, OWNER]
    assert ask(ROLE_SESSION, resource_policy=bucket_policy(allow("*"), deny(NotPrincipal={"AWS": full}))
               ).decision is ALLOW


def test_not_action_and_not_resource():
    p = identity({"Effect": "Allow", "NotAction": "s3:DeleteObject", "NotResource": object_arn(BKT, "private/*")})
    assert ask(ALICE, identity_policies=[p]).decision is ALLOW
    assert ask(ALICE, "s3:DeleteObject", identity_policies=[p]).decision is IMPLICIT
    assert ask(ALICE, resource=object_arn(BKT, "private/x"), identity_policies=[p]).decision is IMPLICIT


def test_canonical_user_principal_names_the_account():
    canon = "a" * 64
    root = account_root(OTHER, canon)
    p = bucket_policy(allow({"CanonicalUser": canon}))
    assert ask(root, resource_policy=p).decision is ALLOW
    bob = iam_user(OTHER, "bob", canonical_id=canon)
    assert ask(bob, resource_policy=p).decision is IMPLICIT
    assert ask(bob, identity_policies=[identity(allow())], resource_policy=p).decision is ALLOW


def test_conditions_and_variables_in_a_decision():
    home = identity(allow(action="s3:*", resource=object_arn(BKT, "home/${aws:username}/*")))
    assert ask(ALICE, resource=object_arn(BKT, "home/alice/a"), identity_policies=[home]).decision is ALLOW
    assert ask(ALICE, resource=object_arn(BKT, "home/bob/a"), identity_policies=[home]).decision is IMPLICIT
    assert ask(ROLE_SESSION, resource=object_arn(BKT, "home/alice/a"), identity_policies=[home]).decision is IMPLICIT
    office = bucket_policy(allow("*", Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}))
    assert ask(anonymous(), keys={"aws:SourceIp": "192.0.2.9"}, resource_policy=office).decision is ALLOW
    assert ask(anonymous(), keys={"aws:SourceIp": "198.51.100.1"}, resource_policy=office).decision is IMPLICIT
    assert ask(anonymous(), resource_policy=office).decision is IMPLICIT


def test_an_unrelated_action_or_resource_is_not_covered():
    p = bucket_policy(allow("*"))
    assert ask(anonymous(), "s3:PutObject", resource_policy=p).decision is IMPLICIT
    assert ask(anonymous(), resource=object_arn("other", "x"), resource_policy=p).decision is IMPLICIT


def test_action_case_does_not_matter():
    assert ask(anonymous(), "S3:GETOBJECT", resource_policy=bucket_policy(allow("*"))).decision is ALLOW


def test_principal_keys_as_aws_documents_them():
    assert principal_keys(anonymous()) == {"aws:principaltype": "Anonymous"}
    root = principal_keys(account_root(OWNER))
    assert root["aws:userid"] == OWNER and root["aws:principaltype"] == "Account" and "aws:username" not in root
    user = principal_keys(ALICE)
    assert (user["aws:username"], user["aws:userid"], user["aws:principalarn"]) == ("alice", "AIDAALICE", ALICE.arn)
    role = principal_keys(ROLE_SESSION)
    assert role["aws:userid"] == "AROAREADER:s1" and role["aws:principalarn"] == ROLE_SESSION.parent_arn
    assert "aws:username" not in role and role["aws:principalaccount"] == OWNER


def test_time_keys():
    assert time_keys(1704067200.7) == {"aws:currenttime": "2024-01-01T00:00:00Z", "aws:epochtime": "1704067200"}
    ctx = context(ALICE, {"S3:Prefix": "p"}, now=0)
    assert ctx["s3:prefix"] == "p" and ctx["aws:epochtime"] == "0"


def test_date_conditions_against_the_request_time():
    p = bucket_policy(allow("*", Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}))
    req_before = Request(anonymous(), "s3:GetObject", OBJ, OWNER, context(anonymous(), now=1704067200))
    req_after = Request(anonymous(), "s3:GetObject", OBJ, OWNER, context(anonymous(), now=1999999999))
    assert decide(req_before, resource_policy=p).allowed and not decide(req_after, resource_policy=p).allowed


@pytest.mark.parametrize("who", [ALICE, ROLE_SESSION, BOB, anonymous(), account_root(OTHER)])
def test_everyone_can_be_denied_by_a_wildcard_deny(who):
    everything = identity(allow(action="*", resource="*"))
    assert ask(who, identity_policies=[everything], resource_policy=bucket_policy(allow("*"), deny("*")),
               acl_allows=lambda: True).decision is EXPLICIT
