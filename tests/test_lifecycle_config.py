"""Bucket lifecycle configuration over S3 (boto3 and raw HTTP): the round trip, AWS's errors, and
the x-amz-expiration header of PUT, GET and HEAD. The expiry worker is tests/test_lifecycle_worker.py."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest

from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error, xml_error
from tests.signing import send_v4


def put(s3, bucket: str, *rules: dict) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


def refused(s3, bucket: str, *rules: dict) -> tuple[int, str]:
    return s3_error(s3.put_bucket_lifecycle_configuration, Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


RULES = [
    {"ID": "prefix", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}},
    {"ID": "tag", "Filter": {"Tag": {"Key": "tmp", "Value": "yes"}}, "Status": "Disabled",
     "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=timezone.utc)}},
    {"ID": "and", "Filter": {"And": {"Prefix": "a/", "Tags": [{"Key": "k", "Value": "v"}],
                                     "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 1000}},
     "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 3, "NewerNoncurrentVersions": 2}},
    {"ID": "markers", "Filter": {}, "Status": "Enabled", "Expiration": {"ExpiredObjectDeleteMarker": True},
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    {"ID": "size", "Filter": {"ObjectSizeGreaterThan": 5}, "Status": "Enabled",
     "Transitions": [{"Days": 0, "StorageClass": "STANDARD"}], "Expiration": {"Days": 9}},
]


def test_round_trip_and_delete(s3, bucket):
    assert s3_error(s3.get_bucket_lifecycle_configuration, Bucket=bucket) == (404, "NoSuchLifecycleConfiguration")
    assert s3.delete_bucket_lifecycle(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    put(s3, bucket, *RULES)
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == RULES
    put(s3, bucket, RULES[0])                 # a PUT replaces the whole configuration
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == RULES[:1]
    assert s3.delete_bucket_lifecycle(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3_error(s3.get_bucket_lifecycle_configuration, Bucket=bucket) == (404, "NoSuchLifecycleConfiguration")


def test_legacy_prefix_and_generated_ids(s3, bucket):
    put(s3, bucket, {"Prefix": "test1/", "Status": "Enabled", "Expiration": {"Days": 31}},
        {"Prefix": "test2/", "Status": "Enabled", "Expiration": {"Days": 120}})
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [(r["Prefix"], r["Expiration"]["Days"]) for r in rules] == [("test1/", 31), ("test2/", 120)]
    assert all(r["ID"] for r in rules) and rules[0]["ID"] != rules[1]["ID"]


EXPIRE = {"Expiration": {"Days": 1}, "Status": "Enabled"}


@pytest.mark.parametrize("rules, expected", [
    ([{"ID": "a" * 256, "Prefix": "x", **EXPIRE}], (400, "InvalidArgument")),
    ([{"ID": "same", "Prefix": "x", **EXPIRE}, {"ID": "same", "Prefix": "y", **EXPIRE}], (400, "InvalidArgument")),
    ([{"ID": "r", "Prefix": "x", "Status": "enabled", "Expiration": {"Days": 1}}], (400, "MalformedXML")),
    ([{"ID": "r", "Prefix": "x", "Status": "Enabled", "Expiration": {"Days": 0}}], (400, "InvalidArgument")),
    ([{"ID": "r", "Prefix": "x", "Status": "Enabled", "Expiration": {"Date": "2030-01-01T12:00:00Z"}}],
     (400, "InvalidArgument")),
    # s3-tests' test_lifecycle_set_invalid_date: botocore sends "20200101" as epoch seconds, not a midnight
    ([{"ID": "r", "Prefix": "x", "Status": "Enabled", "Expiration": {"Date": "20200101"}}], (400, "InvalidArgument")),
    ([{"ID": "r", "Prefix": "x", "Status": "Enabled"}], (400, "InvalidRequest")),
    ([{"ID": "r", "Filter": {"Prefix": "x"}, **EXPIRE}, {"ID": "s", "Prefix": "y", **EXPIRE}], (400, "InvalidRequest")),
    ([{"ID": "r", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
       "Expiration": {"ExpiredObjectDeleteMarker": True}}], (400, "InvalidRequest")),
    ([{"ID": "r", "Filter": {"And": {"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}}, **EXPIRE}],
     (400, "InvalidRequest")),
    ([{"ID": "r", "Filter": {"ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 5}, **EXPIRE}],
     (400, "MalformedXML")),
    ([{"ID": "r", "Prefix": "x", "Status": "Enabled", "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}],
     (400, "InvalidStorageClass")),
    ([{"ID": "r", "Prefix": "x", "Status": "Enabled",
       "NoncurrentVersionTransitions": [{"NoncurrentDays": 1, "StorageClass": "STANDARD_IA"}]}],
     (400, "InvalidStorageClass")),
    ([{"ID": "r", "Prefix": "x", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": -1}}],
     (400, "InvalidArgument")),
    ([{"ID": f"r{i}", "Prefix": f"p{i}", **EXPIRE} for i in range(1001)], (400, "InvalidRequest")),
])
def test_validation_errors(s3, bucket, rules, expected):
    assert refused(s3, bucket, *rules) == expected
    assert s3_error(s3.get_bucket_lifecycle_configuration, Bucket=bucket) == (404, "NoSuchLifecycleConfiguration")


def test_overlapping_prefixes_and_a_thousand_rules_are_allowed(s3, bucket):
    put(s3, bucket, *[{"ID": f"r{i}", "Prefix": "p" * (i % 5), **EXPIRE} for i in range(1000)])
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 1000


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


BODY = (b'<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>x</Prefix></Filter><Status>Enabled</Status>'
        b'<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>')


@pytest.mark.parametrize("body, md5, expected", [
    (BODY, False, (400, "InvalidRequest")),                      # AWS requires Content-MD5 or a checksum
    (BODY, True, None),
    (b"", True, (400, "MissingRequestBodyError")),
    (b"<LifecycleConfiguration><Rule>", True, (400, "MalformedXML")),
    (b"<Lifecycle/>", True, (400, "MalformedXML")),
    (BODY.replace(b"<Days>1</Days>", b"<Days>one</Days>"), True, (400, "MalformedXML")),
    (BODY.replace(b"</Rule>", b"<Color>red</Color></Rule>"), True, (400, "MalformedXML")),
    (BODY.replace(b"<Days>1</Days>", b"<Date>20200101</Date>"), True, (400, "MalformedXML")),
    (BODY.replace(b"<Days>1</Days>", b"<Days>1</Days><Date>2030-01-01T00:00:00Z</Date>"), True, (400, "MalformedXML")),
])
def test_raw_bodies(cluster, bucket, body, md5, expected):
    headers = {"Content-MD5": _md5(body)} if md5 else {}
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}?lifecycle", body, headers)
    if expected is None:
        assert resp.status_code == 200, resp.text
    else:
        assert xml_error(resp) == expected


def test_only_the_owner_configures(cluster, s3, bucket):
    alt = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    assert s3_error(alt.put_bucket_lifecycle_configuration, Bucket=bucket,
                    LifecycleConfiguration={"Rules": [{"ID": "r", "Prefix": "", **EXPIRE}]}) == (403, "AccessDenied")
    put(s3, bucket, {"ID": "r", "Prefix": "", **EXPIRE})
    assert s3_error(alt.get_bucket_lifecycle_configuration, Bucket=bucket) == (403, "AccessDenied")
    assert s3_error(alt.delete_bucket_lifecycle, Bucket=bucket) == (403, "AccessDenied")


def test_a_policy_grants_the_lifecycle_actions(cluster, s3, bucket):
    alt = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    put(s3, bucket, {"ID": "r", "Prefix": "", **EXPIRE})
    alt_root = "arn:aws:iam::123456789013:root"
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": alt_root}, "Action": "s3:GetLifecycleConfiguration",
         "Resource": f"arn:aws:s3:::{bucket}"}]}))
    assert alt.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["ID"] == "r"
    assert s3_error(alt.delete_bucket_lifecycle, Bucket=bucket) == (403, "AccessDenied")    # PutLifecycleConfiguration


# -- x-amz-expiration ---------------------------------------------------------------------------------
def expiration(resp: dict) -> tuple[datetime, str] | None:
    value = resp["ResponseMetadata"]["HTTPHeaders"].get("x-amz-expiration")
    if value is None:
        return None
    m = re.fullmatch(r'expiry-date="(.+)", rule-id="(.+)"', value)
    return parsedate_to_datetime(m.group(1)), m.group(2)


def test_expiration_header_on_put_get_head(s3, bucket):
    assert expiration(s3.put_object(Bucket=bucket, Key="days1/before", Body=b"x")) is None
    put(s3, bucket, {"ID": "rule1", "Prefix": "days1/", **EXPIRE},
        {"ID": "later", "Prefix": "days1/", "Status": "Enabled", "Expiration": {"Days": 9}})
    now = datetime.now(timezone.utc)
    for resp in (s3.put_object(Bucket=bucket, Key="days1/foo", Body=b"x"),
                 s3.get_object(Bucket=bucket, Key="days1/foo"), s3.head_object(Bucket=bucket, Key="days1/foo")):
        when, rule = expiration(resp)
        # AWS: the creation time plus the days, rounded up to the next midnight UTC; the shortest rule wins
        assert rule == "rule1" and (when - now).days == 1 and (when.hour, when.minute, when.second) == (0, 0, 0)
    assert expiration(s3.head_object(Bucket=bucket, Key="days1/before"))[1] == "rule1"
    s3.put_object(Bucket=bucket, Key="other", Body=b"x")
    assert expiration(s3.head_object(Bucket=bucket, Key="other")) is None
    put(s3, bucket, {"ID": "renamed", "Prefix": "days1/", **EXPIRE})      # a new configuration is seen at once
    assert expiration(s3.head_object(Bucket=bucket, Key="days1/foo"))[1] == "renamed"
    s3.delete_bucket_lifecycle(Bucket=bucket)
    assert expiration(s3.head_object(Bucket=bucket, Key="days1/foo")) is None


def test_expiration_header_follows_tags_and_dates(s3, bucket):
    put(s3, bucket, {"ID": "tagged", "Filter": {"Tag": {"Key": "key1", "Value": "tag1"}}, **EXPIRE},
        {"ID": "dated", "Filter": {"Prefix": "d/"}, "Status": "Enabled",
         "Expiration": {"Date": datetime(2031, 3, 1, tzinfo=timezone.utc)}})
    s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
    assert expiration(s3.head_object(Bucket=bucket, Key="obj")) is None
    s3.put_object_tagging(Bucket=bucket, Key="obj", Tagging={"TagSet": [{"Key": "key1", "Value": "tag1"}]})
    assert expiration(s3.head_object(Bucket=bucket, Key="obj"))[1] == "tagged"
    resp = s3.put_object(Bucket=bucket, Key="d/x", Body=b"x")
    assert expiration(resp) == (datetime(2031, 3, 1, tzinfo=timezone.utc), "dated")


def test_no_header_for_a_version_asked_by_id(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    put(s3, bucket, {"ID": "r", "Prefix": "", **EXPIRE})
    vid = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    assert expiration(s3.head_object(Bucket=bucket, Key="k")) is not None
    assert expiration(s3.head_object(Bucket=bucket, Key="k", VersionId=vid)) is None


def test_abort_headers_on_create_multipart_upload(s3, bucket):
    assert "AbortDate" not in s3.create_multipart_upload(Bucket=bucket, Key="tmp/a")
    put(s3, bucket, {"ID": "abort", "Prefix": "tmp/", "Status": "Enabled",
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}})
    now = datetime.now(timezone.utc)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="tmp/b")
    assert upload["AbortRuleId"] == "abort" and (upload["AbortDate"] - now).days == 2
    assert "AbortDate" not in s3.create_multipart_upload(Bucket=bucket, Key="other")
