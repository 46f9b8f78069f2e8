"""Parsing and validation of policy documents: every refusal AWS makes, principal forms, actions,
resources, wildcards, and the size limits."""
from __future__ import annotations

import json

import pytest

from s3front.iam import (LIMITS, Kind, PolicyError, PolicySizeError, check_size, parse_bucket_policy,
                         parse_identity_policy, parse_policy, policy_size)
from s3front.iam.actions import CANONICAL, S3_ACTIONS, resource_type
from shared import constants as C

B = "arn:aws:s3:::bkt"
ACCT = "123456789012"


def doc(*statements, version="2012-10-17", **top) -> str:
    return json.dumps({"Version": version, "Statement": list(statements), **top})


def stmt(**fields) -> dict:
    base = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": B + "/*"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def bucket(text: str | bytes):
    return parse_bucket_policy(text, "bkt")


def refused(text, message, kind="bucket"):
    parse = bucket if kind == "bucket" else parse_identity_policy
    with pytest.raises(PolicyError) as err:
        parse(text)
    assert message in err.value.message, err.value.message


def test_a_good_bucket_policy_compiles():
    p = bucket(doc(stmt(Sid="A"), stmt(Sid="B", Effect="Deny", Action=["s3:ListBucket"], Resource=B), Id="x"))
    assert p.kind is Kind.RESOURCE and p.version == "2012-10-17" and p.id == "x"
    assert [s.sid for s in p.statements] == ["A", "B"]
    assert [s.sid for s in p.candidates("s3:listbucket")] == ["B"]


def test_statement_may_be_one_object_and_version_defaults_to_2008():
    p = bucket(json.dumps({"Statement": stmt()}))
    assert p.version == "2008-10-17" and len(p.statements) == 1


def test_bucket_policy_keeps_statements_that_share_a_sid():
    # S3 stores a bucket policy whose statements repeat a Sid; IAM refuses such a document.
    p = bucket(doc(stmt(Sid="A"), stmt(Sid="A", Effect="Deny", Action="s3:ListBucket", Resource=B)))
    assert [s.deny for s in p.statements] == [False, True]
    identity = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    refused(doc({**identity, "Sid": "A"}, {**identity, "Sid": "A"}), "Statement IDs (SID) must be unique", kind="iam")


TOP_LEVEL = [
    (b"\xff\xfe", "Policies must be valid JSON and the first byte must be '{'"),
    ("not json", "Policies must be valid JSON"),
    ("[]", "Policies must be valid JSON"),
    ('{"Statement": [], "Statement": []}', "Duplicate field Statement"),
    ('{"Statement": {"Effect": "Allow", "Effect": "Deny"}}', "Duplicate field Effect"),
    ('{"Statement": NaN}', "Policies must be valid JSON"),
    (json.dumps({"Version": "2012-10-18", "Statement": stmt()}), "Invalid Version"),
    (json.dumps({"Version": 2012, "Statement": stmt()}), "Invalid Version"),
    (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
    (json.dumps({"Version": "2012-10-17", "Statement": []}), "Statement must be an object or a non-empty list"),
    (json.dumps({"Version": "2012-10-17", "Statement": ["x"]}), "Statement must be an object"),
    (json.dumps({"Version": "2012-10-17", "Id": 5, "Statement": stmt()}), "Id must be a string"),
    (doc(stmt(), Foo=1), "Unknown field Foo"),
    (doc(stmt(Foo=1)), "Unknown field Foo"),
    (doc(stmt(effect="Allow")), "Unknown field effect"),
]


@pytest.mark.parametrize("text,message", TOP_LEVEL)
def test_malformed_documents(text, message):
    refused(text, message)


STATEMENTS = [
    ([stmt(Sid=5)], "Sid must be a string"),
    ([stmt(Effect=None)], "Missing required field Effect"),
    ([stmt(Effect="allow")], "Invalid effect: allow"),
    ([stmt(Principal=None)], "Missing required field Principal"),
    ([stmt(NotPrincipal="*")], "Statement cannot have both Principal and NotPrincipal"),
    ([stmt(Action=None)], "Missing required field Action"),
    ([stmt(NotAction="s3:PutObject")], "Statement cannot have both Action and NotAction"),
    ([stmt(Resource=None)], "Missing required field Resource"),
    ([stmt(NotResource=B)], "Statement cannot have both Resource and NotResource"),
    ([stmt(Action=[])], "Action must not be empty"),
    ([stmt(Action=5)], "Action must be a string or a list of strings"),
    ([stmt(Resource=[B, 7])], "Resource must be a string or a list of strings"),
]


@pytest.mark.parametrize("statements,message", STATEMENTS)
def test_malformed_statements(statements, message):
    refused(doc(*statements), message)


def test_empty_sids_may_repeat_as_mc_writes_them():
    assert len(bucket(doc(stmt(Sid=""), stmt(Sid=""))).statements) == 2


ACTIONS_BAD = ["s3:NoSuchAction", "s3:Get*Nothing", "GetObject", "s3:", ":GetObject", "ec2:RunInstances",
               "s3:Get Object", "iam:CreateUser", "s*:GetObject", "sts:AssumeRole"]


@pytest.mark.parametrize("action", ACTIONS_BAD)
def test_bucket_policy_invalid_actions(action):
    refused(doc(stmt(Action=action)), "Policy has invalid action")


def test_identity_policy_knows_iam_and_sts_but_nothing_else():
    for action in ("iam:CreateUser", "sts:AssumeRole", "iam:*", "sts:Get*", "s3:*", "*"):
        parse_identity_policy(doc({"Effect": "Allow", "Action": action, "Resource": "*"}))
    refused(doc({"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}), "Policy has invalid action", "iam")
    refused(doc({"Effect": "Allow", "Action": "iam:Nope", "Resource": "*"}), "Policy has invalid action", "iam")


def test_action_wildcards_and_case():
    p = bucket(doc(stmt(Action=["S3:get*", "s3:?utObject"], Resource=[B + "/*"])))
    st = p.statements[0]
    assert st.matches_action("s3:getobject") and st.matches_action("s3:getobjectacl")
    assert st.matches_action("s3:putobject") and not st.matches_action("s3:putobjectacl")
    assert not st.matches_action("s3:deleteobject")
    assert [s.index for s in p.candidates("s3:getobjecttagging")] == [0]


def test_not_action_covers_everything_else():
    st = bucket(doc(stmt(Action=None, NotAction="s3:DeleteObject"))).statements[0]
    assert st.matches_action("s3:getobject") and not st.matches_action("s3:deleteobject")


def test_action_list_is_complete_for_s3_basics():
    for name in ("GetObject", "PutObject", "ListBucket", "ListBucketVersions", "GetBucketPolicyStatus",
                 "PutBucketPublicAccessBlock", "ListAllMyBuckets", "GetObjectAttributes", "BypassGovernanceRetention"):
        assert name in S3_ACTIONS
    assert len(S3_ACTIONS) > 150 and CANONICAL["s3:getobject"] == "s3:GetObject"
    assert resource_type("s3:GetObject") == "object" and resource_type("s3:ListBucket") == "bucket"
    assert resource_type("s3:ListAllMyBuckets") is None


RESOURCE_BAD = ["arn:aws:s3:::other/*", "arn:aws:s3:::other", "arn:aws:s3:::bkt2/*", "arn:aws:s3:::bk",
                "arn:aws:iam::123456789012:user/x", "bkt/*", "arn:aws:s3:::/bkt"]


@pytest.mark.parametrize("resource", RESOURCE_BAD)
def test_bucket_policy_resources_must_be_its_bucket(resource):
    refused(doc(stmt(Resource=resource)), "Policy has invalid resource")


@pytest.mark.parametrize("resource", [B + "/*", B + "/a/b", "*", "arn:aws:s3:::*", "arn:aws:s3:::bk?/x*",
                                      "arn:aws:s3:::b*", B + "/${aws:username}/*", "arn:aws:s3:::${aws:username}"])
def test_bucket_policy_resources_that_name_the_bucket(resource):
    bucket(doc(stmt(Resource=resource)))


APPLY = [
    ("s3:ListBucket", B + "/*", False),
    ("s3:GetObject", B, False),
    ("s3:ListAllMyBuckets", "*", False),
    ("s3:CreateJob", "*", False),
    ("s3:ListBucket", B, True),
    ("s3:GetObject", B + "/*", True),
    (["s3:GetObject", "s3:ListBucket"], [B, B + "/*"], True),
    (["s3:GetObject", "s3:ListBucket"], B + "/*", False),
    ("s3:*", B, True),
    ("s3:Get*", B, True),
    ("s3:GetObject*", B, False),
    ("s3:GetBucket*", B + "/x", False),
    ("*", B + "/x", True),
    ("s3:ListBucket", "arn:aws:s3:::bkt*", True),
]


@pytest.mark.parametrize("action,resource,ok", APPLY)
def test_each_action_applies_to_a_resource_of_its_statement(action, resource, ok):
    text = doc(stmt(Action=action, Resource=resource))
    if ok:
        bucket(text)
    else:
        refused(text, "Action does not apply to any resource(s) in statement")


def test_not_action_and_not_resource_skip_the_applies_check():
    bucket(doc(stmt(Action=None, NotAction="s3:ListBucket", Resource=B)))
    bucket(doc(stmt(Resource=None, NotResource=B + "/public/*", Action="s3:ListBucket")))
    refused(doc(stmt(Resource=None, NotResource="arn:aws:s3:::other/*")), "Policy has invalid resource")


PRINCIPALS_OK = [
    "*",
    {"AWS": "*"},
    {"AWS": ACCT},
    {"AWS": f"arn:aws:iam::{ACCT}:root"},
    {"AWS": f"arn:aws:iam::{ACCT}:user/alice"},
    {"AWS": f"arn:aws:iam::{ACCT}:user/division/team/alice"},
    {"AWS": f"arn:aws:iam::{ACCT}:role/reader"},
    {"AWS": f"arn:aws:sts::{ACCT}:assumed-role/reader/session-1"},
    {"AWS": f"arn:aws:sts::{ACCT}:federated-user/bob"},
    {"AWS": [ACCT, f"arn:aws:iam::{ACCT}:user/alice"]},
    {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
    {"Service": "cloudtrail.amazonaws.com"},
    {"Federated": "cognito-identity.amazonaws.com"},
    {"AWS": ACCT, "Service": ["logging.s3.amazonaws.com"]},
]


@pytest.mark.parametrize("principal", PRINCIPALS_OK)
def test_principal_forms(principal):
    spec = bucket(doc(stmt(Principal=principal))).statements[0].principal
    assert spec is not None
    if principal in ("*", {"AWS": "*"}):
        assert spec.wildcard
    if principal == {"AWS": ACCT}:
        assert spec.aws == {f"arn:aws:iam::{ACCT}:root"}


PRINCIPALS_BAD = [
    "alice", {"AWS": "12345"}, {"AWS": f"arn:aws:iam::{ACCT}:user/*"}, {"AWS": "arn:aws:iam::*:root"},
    {"AWS": f"arn:aws:iam::{ACCT}:group/admins"}, {"AWS": []}, {"AWS": [5]}, {}, {"Bogus": "x"},
    {"CanonicalUser": "not-hex"}, {"Service": "*"}, {"Federated": ""}, ["*"], {"AWS": f"arn:aws:s3:::{ACCT}"},
]


@pytest.mark.parametrize("principal", PRINCIPALS_BAD)
def test_invalid_principals(principal):
    refused(doc(stmt(Principal=principal)), "Invalid principal in policy")


def test_principal_must_exist_when_asked():
    alice = f"arn:aws:iam::{ACCT}:user/alice"
    text = doc(stmt(Principal={"AWS": [alice, ACCT]}))
    parse_bucket_policy(text, "bkt", principal_exists=lambda arn: True)
    with pytest.raises(PolicyError, match="Invalid principal in policy"):
        parse_bucket_policy(text, "bkt", principal_exists=lambda arn: arn != alice)


def test_identity_policies_refuse_principals_and_take_any_arn():
    refused(doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
            "Policy document should not specify a principal.", "iam")
    refused(doc({"Effect": "Allow", "NotPrincipal": "*", "Action": "s3:*", "Resource": "*"}),
            "Policy document should not specify a principal.", "iam")
    refused(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}),
            'Resource bucket must be in ARN format or "*".', "iam")
    refused(doc({"Sid": "has space", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
            "Statement IDs (SID) must be alpha-numeric", "iam")
    p = parse_identity_policy(doc({"Effect": "Allow", "Action": ["s3:GetObject", "iam:GetUser"],
                                   "Resource": ["arn:aws:s3:::any/*", f"arn:aws:iam::{ACCT}:user/*"]}), "mine")
    assert p.kind is Kind.IDENTITY and p.name == "mine" and p.statements[0].principal is None


def test_resource_wildcards_are_case_sensitive():
    st = bucket(doc(stmt(Resource=[B + "/Photos/*", B + "/a?c"]))).statements[0]
    assert st.applies(B + "/Photos/x", {}) and not st.applies(B + "/photos/x", {})
    assert st.applies(B + "/abc", {}) and not st.applies(B + "/abbc", {})
    assert st.applies(B + "/Photos/", {}) and not st.applies(B + "/Photos", {})


def test_resource_variables_present_and_missing():
    st = bucket(doc(stmt(Resource=B + "/home/${aws:username}/*"))).statements[0]
    assert st.applies(B + "/home/al/x", {"aws:username": "al"})
    assert not st.applies(B + "/home/bo/x", {"aws:username": "al"})
    assert not st.applies(B + "/home//x", {})
    assert not st.applies(B + "/home/${aws:username}/x", {})


def test_not_resource_with_a_variable_without_value_does_not_apply():
    st = bucket(doc(stmt(Resource=None, NotResource=B + "/home/${aws:username}/*"))).statements[0]
    assert st.applies(B + "/etc/x", {"aws:username": "al"})
    assert not st.applies(B + "/home/al/x", {"aws:username": "al"})
    assert not st.applies(B + "/etc/x", {})


def test_variables_are_literal_in_version_2008():
    text = doc(stmt(Resource=B + "/${aws:username}"), version="2008-10-17")
    st = bucket(text).statements[0]
    assert st.applies(B + "/${aws:username}", {"aws:username": "al"})
    assert not st.applies(B + "/al", {"aws:username": "al"})


def test_parse_policy_needs_the_bucket_of_a_resource_policy():
    with pytest.raises(ValueError):
        parse_policy(doc(stmt()), Kind.RESOURCE)


def test_size_limit_constants():
    assert LIMITS == {"bucket": 20480, "managed": 6144, "user": 2048, "group": 5120, "role": 10240}
    assert C.BUCKET_POLICY_MAX_BYTES == 20 * 1024


def _sized(chars: int) -> str:
    """A compact document of exactly `chars` characters."""
    base = json.dumps({"Id": "", "Statement": []}, separators=(",", ":"))
    return base.replace('"Id":""', '"Id":"' + "x" * (chars - len(base)) + '"')


@pytest.mark.parametrize("kind", sorted(LIMITS))
def test_size_limits_at_the_edge(kind):
    limit = LIMITS[kind]
    check_size(kind, _sized(limit))
    with pytest.raises(PolicySizeError) as err:
        check_size(kind, _sized(limit + 1), "alice")
    assert err.value.limit == limit and err.value.size == limit + 1
    expected = {"bucket": "Policy exceeds the maximum allowed document size.",
                "managed": "Cannot exceed quota for PolicySize: 6144"}.get(kind, f"Maximum policy size of {limit} bytes exceeded for {kind} alice")
    assert err.value.message == expected


def test_whitespace_between_tokens_is_not_counted_but_inside_strings_is():
    assert policy_size("managed", '{ "Id" :\n\t"a b" }') == len('{"Id":"a b"}')
    assert policy_size("managed", '{"Id":"a\\" b"}') == len('{"Id":"a\\" b"}')
    padded = _sized(LIMITS["user"]).replace(",", " ,\n    ")
    check_size("user", padded)


def test_bucket_size_counts_utf8_bytes_iam_counts_characters():
    text = '{"Id":"' + "é" * 10 + '"}'
    assert policy_size("bucket", text) == len(text) + 10
    assert policy_size("role", text) == len(text)
    with pytest.raises(ValueError):
        policy_size("nope", text)
