"""Bucket operations with boto3: create, list, head, delete, and their S3 errors."""
from __future__ import annotations

import hashlib
import itertools
import os

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.cluster import ACCESS_KEY, ALT_ACCESS_KEY, ALT_SECRET_KEY, SECRET_KEY
from tests.expect import s3_error, xml_error

_names = itertools.count()
CANONICAL_ID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"


def new_name() -> str:
    return f"bkt-{os.getpid()}-{next(_names)}"


@pytest.fixture
def alt(cluster):
    return cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)


def test_create_list_head_delete(s3):
    name = new_name()
    resp = s3.create_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["Location"] == f"/{name}"
    listing = s3.list_buckets()
    assert name in [b["Name"] for b in listing["Buckets"]]
    assert listing["Owner"] == {"ID": CANONICAL_ID, "DisplayName": "Bart"}
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3_error(s3.head_bucket, Bucket=name) == (404, "404")      # HEAD answers carry no body


def test_list_buckets_shows_only_the_callers_buckets(s3, alt):
    mine, theirs = new_name(), new_name()
    s3.create_bucket(Bucket=mine)
    alt.create_bucket(Bucket=theirs)
    try:
        assert mine in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert theirs not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        listing = alt.list_buckets()
        assert [b["Name"] for b in listing["Buckets"]] == sorted(b["Name"] for b in listing["Buckets"])
        assert theirs in [b["Name"] for b in listing["Buckets"]]
        assert mine not in [b["Name"] for b in listing["Buckets"]]
        assert listing["Owner"]["DisplayName"] == "Lisa"
    finally:
        s3.delete_bucket(Bucket=mine)
        alt.delete_bucket(Bucket=theirs)


def test_recreating_own_bucket_in_us_east_1_answers_200(s3):
    # AWS keeps this legacy behaviour in North Virginia only.
    name = new_name()
    s3.create_bucket(Bucket=name)
    try:
        again = s3.create_bucket(Bucket=name)
        assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]].count(name) == 1
    finally:
        s3.delete_bucket(Bucket=name)


def test_recreating_own_bucket_elsewhere_is_bucket_already_owned_by_you(s3):
    name = new_name()
    config = {"LocationConstraint": "eu-west-1"}
    s3.create_bucket(Bucket=name, CreateBucketConfiguration=config)
    try:
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
        assert s3_error(s3.create_bucket, Bucket=name, CreateBucketConfiguration=config) == \
            (409, "BucketAlreadyOwnedByYou")
    finally:
        s3.delete_bucket(Bucket=name)


def test_another_accounts_name_is_bucket_already_exists(s3, alt):
    name = new_name()
    s3.create_bucket(Bucket=name)
    try:
        assert s3_error(alt.create_bucket, Bucket=name) == (409, "BucketAlreadyExists")
        config = {"LocationConstraint": "eu-west-1"}
        assert s3_error(alt.create_bucket, Bucket=name, CreateBucketConfiguration=config) == \
            (409, "BucketAlreadyExists")
        assert name not in [b["Name"] for b in alt.list_buckets()["Buckets"]]
    finally:
        s3.delete_bucket(Bucket=name)


def test_deleting_a_bucket_with_objects_is_bucket_not_empty(s3):
    name = new_name()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    assert s3_error(s3.delete_bucket, Bucket=name) == (409, "BucketNotEmpty")
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.delete_object(Bucket=name, Key="k")
    assert s3.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204


@pytest.mark.parametrize("name", [
    "ab",                       # shorter than 3
    "a" * 64,                   # longer than 63
    "UpperCase",                # upper-case letters
    "under_score",              # underscores
    "-leading-hyphen",
    "trailing-hyphen-",
    ".leading-dot",
    "two..dots",
    "dot-.hyphen",
    "192.168.5.4",              # formatted as an IP address
    "xn--punycode-prefix",
    "access-point-s3alias",
    "object-lambda--ol-s3",
])
def test_invalid_bucket_names(s3, name):
    assert s3_error(s3.create_bucket, Bucket=name) == (400, "InvalidBucketName")
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.dotted.bucket", "0-starts-with-digit"])
def test_valid_edge_names(s3, name):
    s3.create_bucket(Bucket=name)
    try:
        assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        s3.delete_bucket(Bucket=name)


def test_missing_bucket_is_no_such_bucket(s3):
    name = new_name()
    assert s3_error(s3.delete_bucket, Bucket=name) == (404, "NoSuchBucket")
    assert s3_error(s3.list_objects_v2, Bucket=name) == (404, "NoSuchBucket")
    assert s3_error(s3.put_object, Bucket=name, Key="k", Body=b"x") == (404, "NoSuchBucket")
    assert s3_error(s3.get_object, Bucket=name, Key="k") == (404, "NoSuchBucket")
    assert s3_error(s3.head_bucket, Bucket=name) == (404, "404")


# -- AWS's general purpose bucket naming rules, one row each ("General purpose bucket naming rules") --
BAD_NAMES = [
    ("ab", "shorter than 3 characters"),
    ("a" * 64, "longer than 63 characters"),
    ("Bucket", "an upper-case letter"),
    ("under_score", "an underscore"),
    ("-bucket", "starts with a hyphen"),
    (".bucket", "starts with a period"),
    ("bucket-", "ends with a hyphen"),
    ("bucket.", "ends with a period"),
    ("buck..et", "two adjacent periods"),
    ("10.1.2.3", "formatted as an IP address"),
    ("xn--bucket", "reserved prefix xn--"),
    ("sthree-bucket", "reserved prefix sthree-"),
    ("sthree-configurator", "reserved prefix sthree-configurator"),
    ("amzn-s3-demo-bucket", "reserved prefix amzn-s3-demo-"),
    ("bucket-s3alias", "reserved suffix -s3alias"),
    ("bucket--ol-s3", "reserved suffix --ol-s3"),
    ("bucket.mrap", "reserved suffix .mrap"),
    ("bucket--table-s3", "reserved suffix --table-s3"),
]
# Names boto3 will not send as given (it refuses them, or takes --x-s3 for a directory bucket):
# raw signed HTTP, the path as it goes on the wire.
RAW_BAD_PATHS = [
    ("bucket--x-s3", "bucket--x-s3", "reserved suffix --x-s3"),
    ("buck%20et", "buck et", "a space"),
    ("bucket%0A", "bucket\n", "a newline after valid characters"),
    ("b%C3%A9cket", "b\u00e9cket", "a non-ASCII letter"),
]
GOOD_NAMES = ["sthree", "xn-bucket", "amzn-s3-demo", "s3alias-bucket", "bucket-ol-s3", "mrap.bucket",
              "bucket-x-s3", "table-s3-bucket", "10.1.2.3.4x", "a-b.c-d"]


def _signed_put(endpoint: str, path: str) -> httpx.Response:
    """PUT path, signed as S3 signs (the path as sent, not encoded again)."""
    url = f"{endpoint}/{path}"
    req = AWSRequest(method="PUT", url=url, headers={"X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()})
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(req)
    return httpx.put(url, headers=dict(req.headers.items()))


@pytest.mark.parametrize("name, rule", BAD_NAMES)
def test_bucket_names_breaking_a_naming_rule(s3, name, rule):
    assert s3_error(s3.create_bucket, Bucket=name) == (400, "InvalidBucketName"), rule
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("path, name, rule", RAW_BAD_PATHS)
def test_bucket_names_breaking_a_naming_rule_over_raw_http(cluster, s3, path, name, rule):
    assert xml_error(_signed_put(cluster.endpoint, path)) == (400, "InvalidBucketName"), rule
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_names_next_to_the_reserved_ones_are_fine(s3, name):
    s3.create_bucket(Bucket=name)
    try:
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        s3.delete_bucket(Bucket=name)
