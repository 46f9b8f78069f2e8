"""Lifecycle: the configuration as AWS parses, validates and renders it (bodies as botocore writes them)."""
from __future__ import annotations

import botocore.session
import pytest
from botocore import parsers, serialize

from s3front.xml import document, parse
from shared.errors import S3Error
from shared.lifecycle import DEFAULT_CLASSES, Filter, lifecycle_nodes, parse_lifecycle, rules_from_json, rules_to_json

_MODEL = botocore.session.get_session().get_service_model("s3")


def body_of(rules: list[dict]) -> bytes:
    """The PutBucketLifecycleConfiguration body botocore sends for these rules."""
    op = _MODEL.operation_model("PutBucketLifecycleConfiguration")
    request = serialize.create_serializer("rest-xml").serialize_to_request(
        {"Bucket": "b", "LifecycleConfiguration": {"Rules": rules}}, op)
    return request["body"]


def as_boto3(body: bytes) -> list[dict]:
    """What boto3's get_bucket_lifecycle_configuration makes of a GET body."""
    op = _MODEL.operation_model("GetBucketLifecycleConfiguration")
    parsed = parsers.create_parser("rest-xml").parse({"body": body, "headers": {}, "status_code": 200}, op.output_shape)
    return parsed["Rules"]


def put(rules: list[dict], classes=DEFAULT_CLASSES):
    return parse_lifecycle(parse(body_of(rules)), classes)


def get(rules) -> list[dict]:
    return as_boto3(document("LifecycleConfiguration", lifecycle_nodes(rules)))


def refused(rules: list[dict] | bytes, classes=DEFAULT_CLASSES) -> S3Error:
    body = rules if isinstance(rules, bytes) else body_of(rules)
    with pytest.raises(S3Error) as info:
        parse_lifecycle(parse(body), classes)
    return info.value


def rule(**fields) -> dict:
    base = {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}, **fields}
    return {k: v for k, v in base.items() if v is not None}


def legacy(**fields) -> dict:
    base = {"ID": "r", "Status": "Enabled", "Prefix": "p/", "Expiration": {"Days": 1}, **fields}
    return {k: v for k, v in base.items() if v is not None}


# -- accepted configurations, given back as they were written ---------------------------------------
ACCEPTED = [
    # s3-tests test_lifecycle_set / test_lifecycle_get: the legacy rule-level Prefix
    [{"ID": "rule1", "Expiration": {"Days": 1}, "Prefix": "test1/", "Status": "Enabled"},
     {"ID": "rule2", "Expiration": {"Days": 2}, "Prefix": "test2/", "Status": "Disabled"}],
    [{"ID": "test1/", "Expiration": {"Days": 31}, "Prefix": "test1/", "Status": "Enabled"},
     {"ID": "test2/", "Expiration": {"Days": 120}, "Prefix": "test2/", "Status": "Enabled"}],
    [{"ID": "a", "Expiration": {"Days": 1}, "Prefix": "", "Status": "Enabled"},          # overlapping prefixes
     {"ID": "b", "Expiration": {"Days": 2}, "Prefix": "x", "Status": "Enabled"}],
    [{"ID": "r", "Expiration": {"ExpiredObjectDeleteMarker": True}, "Prefix": "test1/", "Status": "Enabled"}],
    [{"ID": "r", "Expiration": {"ExpiredObjectDeleteMarker": True}, "Filter": {"Prefix": "foo"}, "Status": "Enabled"}],
    [{"ID": "r", "Expiration": {"ExpiredObjectDeleteMarker": True}, "Filter": {}, "Status": "Enabled"}],
    [{"ID": "r", "NoncurrentVersionExpiration": {"NoncurrentDays": 2}, "Prefix": "past/", "Status": "Enabled"}],
    [{"ID": "r", "Prefix": "test1/", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}],
    [{"ID": "r", "Filter": {"Tag": {"Key": "key1", "Value": "tag1"}}, "Status": "Enabled", "Expiration": {"Days": 1}}],
    [{"ID": "r", "Filter": {"And": {"Prefix": "p", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                                    "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 20}},
      "Status": "Enabled", "Expiration": {"Days": 1}}],
    [{"ID": "r", "Filter": {"ObjectSizeGreaterThan": 2000}, "Status": "Enabled", "Expiration": {"Days": 1}}],
    [{"ID": "r", "Filter": {"ObjectSizeLessThan": 2000}, "Status": "Enabled", "Expiration": {"Days": 1}}],
    [{"ID": "r", "Filter": {"Prefix": ""}, "Status": "Enabled",
      "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 5}}],
    [{"ID": "r", "Filter": {"Prefix": "a"}, "Status": "Enabled", "Expiration": {"Days": 30},
      "Transitions": [{"Days": 0, "StorageClass": "STANDARD"}],
      "NoncurrentVersionTransitions": [{"NoncurrentDays": 3, "NewerNoncurrentVersions": 2, "StorageClass": "STANDARD"}],
      "NoncurrentVersionExpiration": {"NoncurrentDays": 9}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}],
    [{"ID": "x" * 255, "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 1}}],
]


@pytest.mark.parametrize("rules", ACCEPTED)
def test_accepted_configurations_round_trip(rules):
    """GetBucketLifecycleConfiguration gives back what PutBucketLifecycleConfiguration set."""
    assert get(put(rules)) == rules


def test_date_round_trip():
    """s3-tests test_lifecycle_set_date: a past Date is fine; it comes back at midnight UTC."""
    got = get(put([{"ID": "r", "Expiration": {"Date": "2017-09-27"}, "Prefix": "test1/", "Status": "Enabled"}]))
    assert got[0]["Expiration"]["Date"].isoformat() == "2017-09-27T00:00:00+00:00"


def test_rules_without_id_get_distinct_ids():
    """s3-tests test_lifecycle_get_no_id: every rule comes back with an ID."""
    rules = put([{"Expiration": {"Days": 31}, "Prefix": "test1/", "Status": "Enabled"},
                 {"Expiration": {"Days": 120}, "Prefix": "test2/", "Status": "Enabled"}])
    ids = [r["ID"] for r in get(rules)]
    assert all(ids) and len(set(ids)) == 2


def test_json_round_trip():
    for rules in ACCEPTED:
        parsed = put(rules)
        assert rules_from_json(rules_to_json(parsed)) == parsed


def test_filter_kinds():
    assert put([rule(Filter={})])[0].filter == Filter("empty")
    assert put([legacy(Prefix="a/")])[0].filter == Filter("legacy", "a/")
    assert put([rule(Filter={"And": {"Tags": [{"Key": "k", "Value": "v"}]}})])[0].filter == \
        Filter("and", tags=(("k", "v"),))


def test_accepted_storage_classes_are_a_parameter():
    rules = [rule(Transitions=[{"Days": 30, "StorageClass": "GLACIER"}])]
    assert refused(rules).code == "InvalidStorageClass"
    assert put(rules, frozenset({"STANDARD", "GLACIER"}))[0].transitions[0].storage_class == "GLACIER"


# -- refused configurations -------------------------------------------------------------------------
REFUSED = [
    # (rules, code, message or None)
    ([legacy(ID="a" * 256)], "InvalidArgument", "ID length should not exceed allowed limit of 255"),
    ([legacy(ID="rule1"), legacy(ID="rule1", Prefix="test2/")], "InvalidArgument",
     "Rule ID must be unique. Found same ID for more than one rule"),
    ([legacy(Status="enabled")], "MalformedXML", None),
    ([legacy(Status="disabled")], "MalformedXML", None),
    ([legacy(Status="invalid")], "MalformedXML", None),
    ([legacy(Expiration={"Days": 0})], "InvalidArgument", "'Days' for Expiration action must be a positive integer"),
    ([legacy(Expiration={"Days": -3})], "InvalidArgument", "'Days' for Expiration action must be a positive integer"),
    ([legacy(Expiration={"Date": "20200101"})], "InvalidArgument", "'Date' must be at midnight GMT"),
    ([legacy(Expiration={"Date": "2030-01-01T12:00:00Z"})], "InvalidArgument", "'Date' must be at midnight GMT"),
    ([legacy(Expiration={"Days": 1, "Date": "2030-01-01"})], "MalformedXML", None),
    ([legacy(Expiration={"Days": 1, "ExpiredObjectDeleteMarker": True})], "MalformedXML", None),
    ([legacy(Expiration={})], "MalformedXML", None),
    ([legacy(Expiration=None)], "InvalidRequest", "At least one action needs to be specified in a rule"),
    ([legacy(Prefix=None)], "MalformedXML", None),                                   # neither Prefix nor Filter
    ([rule(), legacy(ID="s")], "InvalidRequest",
     "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter."),
    ([legacy(), rule(ID="s")], "InvalidRequest", "Filter element can only be used in Lifecycle V2."),
    ([legacy(NoncurrentVersionExpiration={"NoncurrentDays": 1, "NewerNoncurrentVersions": 2})],
     "InvalidRequest", "NewerNoncurrentVersions element can only be used in Lifecycle V2."),
    # s3-tests setup_lifecycle_tags2 and the size tests put several predicates in one Filter (fails_on_aws)
    ([rule(Filter={"Prefix": "days1/", "Tag": {"Key": "tom", "Value": "sawyer"}})], "MalformedXML", None),
    ([rule(Filter={"Prefix": "", "ObjectSizeGreaterThan": 2000})], "MalformedXML", None),
    ([rule(Filter={"And": {"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}})],
     "InvalidRequest", "Duplicate Tag Keys are not allowed."),
    ([rule(Filter={"ObjectSizeGreaterThan": -1})], "InvalidRequest",
     "'ObjectSizeGreaterThan' should be between 0 and 1099511627776000."),
    ([rule(Filter={"ObjectSizeLessThan": 0})], "InvalidRequest",
     "'ObjectSizeLessThan' should be between 1 and 1099511627776000."),
    ([rule(Filter={"And": {"ObjectSizeGreaterThan": 20, "ObjectSizeLessThan": 20}})], "InvalidRequest",
     "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'."),
    ([rule(Filter={"Tag": {"Key": "k", "Value": "v"}}, Expiration={"ExpiredObjectDeleteMarker": True})],
     "InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Tags."),
    ([rule(Filter={"ObjectSizeLessThan": 5}, Expiration={"ExpiredObjectDeleteMarker": True})],
     "InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Object Size."),
    ([rule(Filter={"Tag": {"Key": "k", "Value": "v"}}, Expiration=None,
           AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})],
     "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags."),
    ([rule(Filter={"And": {"Prefix": "a", "ObjectSizeGreaterThan": 5}},
           AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})],
     "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Object Size."),
    ([rule(NoncurrentVersionExpiration={"NoncurrentDays": 0})], "InvalidArgument",
     "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"),
    ([rule(NoncurrentVersionExpiration={"NewerNoncurrentVersions": 2})], "MalformedXML", None),
    ([rule(NoncurrentVersionExpiration={"NoncurrentDays": 1, "NewerNoncurrentVersions": 0})], "InvalidArgument",
     "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer"),
    ([rule(AbortIncompleteMultipartUpload={"DaysAfterInitiation": 0})], "InvalidArgument",
     "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"),
    ([rule(AbortIncompleteMultipartUpload={})], "MalformedXML", None),
    # s3-tests test_lifecycle_transition_set_invalid_date
    ([legacy(Expiration={"Date": "2023-09-27"}, Transitions=[{"Date": "20220927", "StorageClass": "STANDARD"}])],
     "InvalidArgument", "'Date' must be at midnight GMT"),
    ([rule(Transitions=[{"Days": -1, "StorageClass": "STANDARD"}])], "InvalidArgument",
     "'Days' in Transition action must be nonnegative"),
    ([rule(Transitions=[{"StorageClass": "STANDARD"}])], "MalformedXML", None),
    ([rule(Transitions=[{"Days": 1}])], "MalformedXML", None),
    ([rule(Transitions=[{"Days": 1, "StorageClass": "GLACIER"}])], "InvalidStorageClass",
     "The storage class you specified is not valid."),
    ([rule(Transitions=[{"Days": 1, "StorageClass": "STANDARD"}, {"Days": 2, "StorageClass": "STANDARD"}])],
     "InvalidRequest", "'StorageClass' must be different for 'Transition' actions in same 'Rule'"),
    ([rule(Transitions=[{"Date": "2030-01-01", "StorageClass": "STANDARD"}])], "InvalidRequest",
     "Found mixed 'Date' and 'Days' based Expiration and Transition actions in lifecycle rule"),
    ([rule(NoncurrentVersionTransitions=[{"NoncurrentDays": -1, "StorageClass": "STANDARD"}])], "InvalidArgument",
     "'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative"),
    ([legacy(ID=str(i), Prefix=str(i)) for i in range(1001)], "InvalidRequest",
     "Number of lifecycle rules should not exceed allowed limit of 1000 rules"),
]


@pytest.mark.parametrize("rules, code, message", REFUSED)
def test_refused_configurations(rules, code, message):
    err = refused(rules)
    assert (err.code, err.status) == (code, 400)
    if message is not None:
        assert err.message == message


def test_thousand_rules_are_accepted():
    assert len(put([legacy(ID=str(i), Prefix=str(i)) for i in range(1000)])) == 1000


def test_id_checks_come_before_rule_checks():
    """AWS answers a duplicate ID even when a later rule is also malformed."""
    assert refused([legacy(ID="a"), legacy(ID="a", Status="bad")]).code == "InvalidArgument"


def test_midnight_date_refusal_names_the_date():
    err = refused([legacy(Expiration={"Date": "2030-01-01T12:00:00Z"})])
    assert err.fields == {"ArgumentName": "Date", "ArgumentValue": "2030-01-01T12:00:00Z"}


@pytest.mark.parametrize("body", [
    b"",
    b"<LifecycleConfiguration/>",
    b"<Lifecycle><Rule/></Lifecycle>",
    b"<LifecycleConfiguration><Other/></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix/><Bogus/>"
    b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix/><Prefix/>"
    b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Prefix/><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix/>"
    b"<Expiration><Days>one</Days></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix/>"
    b"<Expiration><Date>next week</Date></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix/>"
    b"<Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><Tag><Key>k</Key></Tag></Filter>"
    b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><Tag><Key></Key><Value>v</Value></Tag></Filter>"
    b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><And><Bogus/></And></Filter>"
    b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
    b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix><x/></Prefix>"
    b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
])
def test_malformed_bodies(body):
    assert refused(body).code == "MalformedXML"
