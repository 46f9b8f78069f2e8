"""Condition operators, one table row per case: matches, non-matches, missing keys, IfExists,
ForAnyValue/ForAllValues with missing, empty, single and multi-valued keys, policy variables."""
from __future__ import annotations

import pytest

from s3front.iam.conditions import compile_block
from s3front.iam.errors import PolicyError

V4 = "2001:db8::"


def holds(op: str, key: str, values, keys: dict, variables: bool = True) -> bool:
    (cond,) = compile_block({op: {key: values}}, variables, resource_policy=False)
    return cond.holds(keys)


CASES = [
    # string
    ("StringEquals", "aws:username", "alice", {"aws:username": "alice"}, True),
    ("StringEquals", "aws:username", "alice", {"aws:username": "Alice"}, False),
    ("StringEquals", "aws:username", ["bob", "alice"], {"aws:username": "alice"}, True),
    ("StringEquals", "aws:username", "al*", {"aws:username": "alice"}, False),
    ("StringEquals", "aws:username", "al*", {"aws:username": "al*"}, True),
    ("StringEquals", "aws:username", "alice", {}, False),
    ("StringNotEquals", "aws:username", "alice", {"aws:username": "alice"}, False),
    ("StringNotEquals", "aws:username", "alice", {"aws:username": "bob"}, True),
    ("StringNotEquals", "aws:username", ["alice", "bob"], {"aws:username": "bob"}, False),
    ("StringNotEquals", "aws:username", "alice", {}, True),
    ("StringEqualsIgnoreCase", "aws:username", "ALICE", {"aws:username": "alice"}, True),
    ("StringEqualsIgnoreCase", "aws:username", "ALICE", {"aws:username": "bob"}, False),
    ("StringNotEqualsIgnoreCase", "aws:username", "ALICE", {"aws:username": "Alice"}, False),
    ("StringNotEqualsIgnoreCase", "aws:username", "ALICE", {"aws:username": "bob"}, True),
    ("StringNotEqualsIgnoreCase", "aws:username", "ALICE", {}, True),
    ("StringLike", "s3:prefix", "home/*", {"s3:prefix": "home/alice/"}, True),
    ("StringLike", "s3:prefix", "home/*", {"s3:prefix": "Home/alice/"}, False),
    ("StringLike", "s3:prefix", "h?me", {"s3:prefix": "home"}, True),
    ("StringLike", "s3:prefix", "h?me", {"s3:prefix": "hoome"}, False),
    ("StringLike", "s3:prefix", "", {"s3:prefix": ""}, True),
    ("StringLike", "s3:prefix", "*", {}, False),
    ("StringLike", "s3:prefix", "a*b*c", {"s3:prefix": "a\nxbyc"}, True),
    ("StringNotLike", "s3:prefix", "home/*", {"s3:prefix": "home/x"}, False),
    ("StringNotLike", "s3:prefix", "home/*", {"s3:prefix": "etc/x"}, True),
    ("StringNotLike", "s3:prefix", "home/*", {}, True),
    # numeric
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "10.0"}, True),
    ("NumericEquals", "s3:max-keys", 10, {"s3:max-keys": "11"}, False),
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "ten"}, False),
    ("NumericNotEquals", "s3:max-keys", "10", {"s3:max-keys": "11"}, True),
    ("NumericNotEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, False),
    ("NumericNotEquals", "s3:max-keys", "10", {}, True),
    ("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "9"}, True),
    ("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "10"}, False),
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "11"}, False),
    ("NumericGreaterThan", "s3:max-keys", "10", {"s3:max-keys": "11"}, True),
    ("NumericGreaterThan", "s3:max-keys", "10", {"s3:max-keys": "10"}, False),
    ("NumericGreaterThanEquals", "s3:max-keys", "-1.5", {"s3:max-keys": "-1.5"}, True),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", {"s3:max-keys": "9.99"}, False),
    ("NumericLessThan", "s3:max-keys", "10", {}, False),
    # dates: ISO 8601 and epoch seconds on either side
    ("DateEquals", "aws:CurrentTime", "2024-01-01T00:00:00Z", {"aws:currenttime": "2024-01-01T00:00:00Z"}, True),
    ("DateEquals", "aws:CurrentTime", "2024-01-01T00:00:00Z", {"aws:currenttime": "1704067200"}, True),
    ("DateEquals", "aws:EpochTime", "1704067200", {"aws:epochtime": "2024-01-01T01:00:00+01:00"}, True),
    ("DateEquals", "aws:CurrentTime", "2024-01-01", {"aws:currenttime": "2024-01-01T00:00:00Z"}, True),
    ("DateNotEquals", "aws:CurrentTime", "2024-01-01T00:00:00Z", {"aws:currenttime": "2024-01-02T00:00:00Z"}, True),
    ("DateNotEquals", "aws:CurrentTime", "2024-01-01T00:00:00Z", {}, True),
    ("DateLessThan", "aws:CurrentTime", "2024-01-01T00:00:00Z", {"aws:currenttime": "2023-12-31T23:59:59Z"}, True),
    ("DateLessThan", "aws:CurrentTime", "2024-01-01T00:00:00Z", {"aws:currenttime": "2024-01-01T00:00:00Z"}, False),
    ("DateLessThanEquals", "aws:CurrentTime", "2024-01-01T00:00:00Z", {"aws:currenttime": "2024-01-01T00:00:00Z"}, True),
    ("DateGreaterThan", "aws:CurrentTime", "2024-01-01T00:00:00.000Z", {"aws:currenttime": "2024-01-01T00:00:01Z"}, True),
    ("DateGreaterThan", "aws:CurrentTime", "2024-01-01T00:00:00Z", {"aws:currenttime": "not a date"}, False),
    ("DateGreaterThanEquals", "aws:EpochTime", "1704067200", {"aws:epochtime": "1704067199"}, False),
    ("DateGreaterThanEquals", "aws:EpochTime", "1704067200", {"aws:epochtime": "1704067200"}, True),
    # bool, binary
    ("Bool", "aws:SecureTransport", "true", {"aws:securetransport": "true"}, True),
    ("Bool", "aws:SecureTransport", True, {"aws:securetransport": "TRUE"}, True),
    ("Bool", "aws:SecureTransport", "false", {"aws:securetransport": "true"}, False),
    ("Bool", "aws:SecureTransport", "false", {}, False),
    ("BinaryEquals", "s3:x-amz-content-sha256", "QmluYXJ5", {"s3:x-amz-content-sha256": "QmluYXJ5"}, True),
    ("BinaryEquals", "s3:x-amz-content-sha256", "QmluYXJ5", {"s3:x-amz-content-sha256": "QmluYXJ6"}, False),
    ("BinaryEquals", "s3:x-amz-content-sha256", "QmluYXJ5", {"s3:x-amz-content-sha256": "%%"}, False),
    # IP addresses, v4 and v6
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:sourceip": "203.0.113.7"}, True),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:sourceip": "203.0.114.7"}, False),
    ("IpAddress", "aws:SourceIp", "203.0.113.7", {"aws:sourceip": "203.0.113.7"}, True),
    ("IpAddress", "aws:SourceIp", ["10.0.0.0/8", V4 + "/32"], {"aws:sourceip": V4 + "1"}, True),
    ("IpAddress", "aws:SourceIp", V4 + "/32", {"aws:sourceip": "10.0.0.1"}, False),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", {"aws:sourceip": "garbage"}, False),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", {}, False),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {"aws:sourceip": "10.1.2.3"}, False),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {"aws:sourceip": "11.1.2.3"}, True),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {}, True),
    # ARNs: each part matched by itself
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:t", {"aws:sourcearn": "arn:aws:sns:us-east-1:123456789012:t"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:123456789012:*", {"aws:sourcearn": "arn:aws:sns:eu-west-1:123456789012:a:b"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:123456789012:*", {"aws:sourcearn": "arn:aws:sqs:eu-west-1:123456789012:a"}, False),
    ("ArnLike", "aws:SourceArn", "arn:aws:*:123456789012:x", {"aws:sourcearn": "arn:aws:sns:us-east-1:123456789012:x"}, False),
    ("ArnEquals", "aws:SourceArn", "arn:aws:s3:::b*", {"aws:sourcearn": "arn:aws:s3:::bucket"}, True),
    ("ArnLike", "aws:SourceArn", "*", {"aws:sourcearn": "arn:aws:s3:::bucket"}, True),
    ("ArnNotEquals", "aws:SourceArn", "arn:aws:s3:::b", {"aws:sourcearn": "arn:aws:s3:::c"}, True),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:s3:::b*", {"aws:sourcearn": "arn:aws:s3:::bb"}, False),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:s3:::b*", {}, True),
    # Null
    ("Null", "aws:TokenIssueTime", "true", {}, True),
    ("Null", "aws:TokenIssueTime", "true", {"aws:tokenissuetime": "x"}, False),
    ("Null", "aws:TokenIssueTime", "false", {"aws:tokenissuetime": "x"}, True),
    ("Null", "aws:TokenIssueTime", "false", {}, False),
    ("Null", "aws:TagKeys", "true", {"aws:tagkeys": []}, True),
    ("Null", "aws:TagKeys", False, {"aws:tagkeys": ["a"]}, True),
]


@pytest.mark.parametrize("op,key,values,keys,expected", CASES)
def test_operator(op, key, values, keys, expected):
    assert holds(op, key, values, keys) is expected


def test_every_operator_has_a_case():
    from s3front.iam.conditions import OPERATORS
    covered = {c[0] for c in CASES}
    assert set(OPERATORS) <= covered


IF_EXISTS = [
    ("StringEqualsIfExists", "alice", {}, True),
    ("StringEqualsIfExists", "alice", {"aws:username": "alice"}, True),
    ("StringEqualsIfExists", "alice", {"aws:username": "bob"}, False),
    ("StringNotEqualsIfExists", "alice", {"aws:username": "alice"}, False),
    ("StringNotEqualsIfExists", "alice", {}, True),
    ("StringLikeIfExists", "a*", {}, True),
    ("StringLikeIfExists", "a*", {"aws:username": "bob"}, False),
    ("ForAnyValue:StringEqualsIfExists", "alice", {}, True),
    ("ForAllValues:StringEqualsIfExists", "alice", {"aws:username": ["alice", "x"]}, False),
]


@pytest.mark.parametrize("op,values,keys,expected", IF_EXISTS)
def test_if_exists(op, values, keys, expected):
    assert holds(op, "aws:username", values, keys) is expected


def test_if_exists_on_other_families():
    assert holds("NumericLessThanIfExists", "s3:max-keys", "5", {})
    assert not holds("NumericLessThanIfExists", "s3:max-keys", "5", {"s3:max-keys": "6"})
    assert holds("IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8", {})
    assert holds("BoolIfExists", "aws:SecureTransport", "true", {})
    assert holds("DateLessThanIfExists", "aws:CurrentTime", "2020-01-01", {})
    assert holds("ArnLikeIfExists", "aws:SourceArn", "arn:aws:s3:::x", {})
    assert holds("BinaryEqualsIfExists", "s3:x-amz-content-sha256", "QQ==", {})


TAGS = "aws:TagKeys"
SETS = [
    # qualifier, operator, policy values, context value, expected
    ("ForAnyValue", "StringEquals", ["a", "b"], None, False),
    ("ForAnyValue", "StringEquals", ["a", "b"], [], False),
    ("ForAnyValue", "StringEquals", ["a", "b"], "a", True),
    ("ForAnyValue", "StringEquals", ["a", "b"], ["x", "b"], True),
    ("ForAnyValue", "StringEquals", ["a", "b"], ["x", "y"], False),
    ("ForAllValues", "StringEquals", ["a", "b"], None, True),
    ("ForAllValues", "StringEquals", ["a", "b"], [], True),
    ("ForAllValues", "StringEquals", ["a", "b"], "a", True),
    ("ForAllValues", "StringEquals", ["a", "b"], ["a", "b"], True),
    ("ForAllValues", "StringEquals", ["a", "b"], ["a", "c"], False),
    ("ForAnyValue", "StringNotEquals", ["a", "b"], ["a", "c"], True),
    ("ForAnyValue", "StringNotEquals", ["a", "b"], ["a", "b"], False),
    ("ForAnyValue", "StringNotEquals", ["a"], None, False),
    ("ForAllValues", "StringNotEquals", ["a", "b"], ["c", "d"], True),
    ("ForAllValues", "StringNotEquals", ["a", "b"], ["c", "a"], False),
    ("ForAllValues", "StringNotEquals", ["a"], None, True),
    ("ForAnyValue", "StringLike", ["dep*"], ["x", "department"], True),
    ("ForAllValues", "StringLike", ["dep*"], ["x", "department"], False),
    ("ForAnyValue", "StringEqualsIgnoreCase", ["A"], ["a"], True),
    # no qualifier on a multi-valued key: any value for a positive operator, none for a negated one
    (None, "StringEquals", ["a"], ["x", "a"], True),
    (None, "StringNotEquals", ["a"], ["x", "a"], False),
    (None, "StringNotEquals", ["a"], ["x", "y"], True),
]


@pytest.mark.parametrize("qualifier,op,values,ctx,expected", SETS)
def test_set_qualifiers(qualifier, op, values, ctx, expected):
    name = f"{qualifier}:{op}" if qualifier else op
    keys = {} if ctx is None else {"aws:tagkeys": ctx}
    assert holds(name, TAGS, values, keys) is expected


def test_key_names_are_case_insensitive_values_are_not():
    assert holds("StringEquals", "AWS:UserName", "alice", {"aws:username": "alice"})
    assert not holds("StringEquals", "AWS:UserName", "Alice", {"aws:username": "alice"})


VARIABLES = [
    ("StringEquals", "aws:username", "${aws:PrincipalTag/owner}", {"aws:username": "al", "aws:principaltag/owner": "al"}, True),
    ("StringEquals", "aws:username", "${aws:PrincipalTag/owner}", {"aws:username": "al", "aws:principaltag/owner": "bo"}, False),
    # a variable without a value makes the condition false, negated or not
    ("StringEquals", "aws:username", "${aws:PrincipalTag/owner}", {"aws:username": "al"}, False),
    ("StringNotEquals", "aws:username", "${aws:PrincipalTag/owner}", {"aws:username": "al"}, False),
    # ... unless another value resolves
    ("StringEquals", "aws:username", ["${aws:PrincipalTag/owner}", "al"], {"aws:username": "al"}, True),
    ("StringEquals", "aws:username", "${aws:PrincipalTag/owner, 'al'}", {"aws:username": "al"}, True),
    ("StringLike", "s3:prefix", "home/${aws:username}/*", {"s3:prefix": "home/al/x", "aws:username": "al"}, True),
    ("StringLike", "s3:prefix", "home/${aws:username}/*", {"s3:prefix": "home/bo/x", "aws:username": "al"}, False),
    # what a variable puts in is literal: a "*" in a user name is no wildcard
    ("StringLike", "s3:prefix", "home/${aws:username}", {"s3:prefix": "home/alice", "aws:username": "a*"}, False),
    ("StringLike", "s3:prefix", "home/${aws:username}", {"s3:prefix": "home/a*", "aws:username": "a*"}, True),
    ("StringLike", "s3:prefix", "star${*}", {"s3:prefix": "star*"}, True),
    ("StringLike", "s3:prefix", "star${*}", {"s3:prefix": "starx"}, False),
    ("StringEquals", "s3:prefix", "${$}{q}${?}", {"s3:prefix": "${q}?"}, True),
    ("StringEqualsIgnoreCase", "aws:username", "${aws:PrincipalTag/n}", {"aws:username": "AL", "aws:principaltag/n": "al"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:s3:::${aws:username}-*", {"aws:sourcearn": "arn:aws:s3:::al-logs", "aws:username": "al"}, True),
    # a multi-valued key gives a variable no value
    ("StringEquals", "aws:username", "${aws:TagKeys}", {"aws:username": "a", "aws:tagkeys": ["a", "b"]}, False),
]


@pytest.mark.parametrize("op,key,values,keys,expected", VARIABLES)
def test_policy_variables(op, key, values, keys, expected):
    assert holds(op, key, values, keys) is expected


def test_variables_are_plain_text_in_2008_policies():
    keys = {"aws:username": "${aws:userid}", "aws:userid": "x"}
    assert holds("StringEquals", "aws:username", "${aws:userid}", keys, variables=False)
    assert not holds("StringEquals", "aws:username", "${aws:userid}", keys, variables=True)


BAD = [
    ({"Foo": {"aws:username": "a"}}, "Invalid Condition type : Foo"),
    ({"StringEqualz": {"aws:username": "a"}}, "Invalid Condition type : StringEqualz"),
    ({"NullIfExists": {"aws:username": "true"}}, "Invalid Condition type : NullIfExists"),
    ({"ForSomeValues:StringEquals": {"aws:username": "a"}}, "Invalid Condition type : ForSomeValues:StringEquals"),
    ({"StringEquals": "aws:username"}, "Invalid Condition type : StringEquals"),
    ({"StringEquals": {"aws:nonsense": "a"}}, "Policy has an invalid condition key"),
    ({"StringEquals": {"nocolon": "a"}}, "Policy has an invalid condition key"),
    ({"NumericLessThan": {"s3:max-keys": "ten"}}, "Invalid Condition value for NumericLessThan s3:max-keys: ten"),
    ({"NumericLessThan": {"s3:max-keys": "${aws:username}"}}, "Invalid Condition value"),
    ({"DateLessThan": {"aws:CurrentTime": "yesterday"}}, "Invalid Condition value"),
    ({"Bool": {"aws:SecureTransport": "yes"}}, "Invalid Condition value"),
    ({"Null": {"aws:SecureTransport": "maybe"}}, "Invalid Condition value"),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, "Invalid Condition value"),
    ({"BinaryEquals": {"s3:x-amz-content-sha256": "not base64!"}}, "Invalid Condition value"),
    ({"StringEquals": {"aws:username": {"nested": 1}}}, "Invalid Condition value"),
    ({"StringEquals": {"aws:username": None}}, "Invalid Condition value"),
    ({"StringEquals": {"aws:username": []}}, "has no value"),
]


@pytest.mark.parametrize("block,message", BAD)
def test_malformed_conditions(block, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        compile_block(block, True, resource_policy=False)


def test_condition_element_must_be_an_object():
    with pytest.raises(PolicyError, match="Condition must be an object"):
        compile_block(["StringEquals"], True, resource_policy=False)


def test_bucket_policies_know_only_aws_and_s3_keys():
    compile_block({"StringEquals": {"ec2:Region": "x"}}, True, resource_policy=False)
    compile_block({"StringEquals": {"s3:ExistingObjectTag/team": "x"}}, True, resource_policy=True)
    for key in ("ec2:Region", "iam:PassedToService", "s3:ExistingObjectTag/", "s3:nope"):
        with pytest.raises(PolicyError, match="Policy has an invalid condition key"):
            compile_block({"StringEquals": {key: "x"}}, True, resource_policy=True)


def test_keys_and_operators_are_anded_values_ored():
    block = {"StringEquals": {"aws:username": ["a", "b"], "s3:prefix": "p"}, "Bool": {"aws:SecureTransport": "true"}}
    conds = compile_block(block, True, resource_policy=False)
    good = {"aws:username": "b", "s3:prefix": "p", "aws:securetransport": "true"}
    assert all(c.holds(good) for c in conds)
    for spoil in ({"aws:username": "c"}, {"s3:prefix": "q"}, {"aws:securetransport": "false"}):
        assert not all(c.holds({**good, **spoil}) for c in conds)
