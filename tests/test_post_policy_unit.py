"""Browser POST uploads: the policy document and the form signatures (the form itself: test_post_form_unit)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import boto3
import pytest
from botocore.config import Config

from s3front.post_policy import authenticate, parse_policy, sign_v2
from shared.errors import S3Error

SECRETS = {"AKID": "SECRET"}
NOW = time.time()
LATER = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + 6000))


def encode(doc: dict) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def policy_of(*conditions, expiration: str = LATER) -> str:
    return encode({"expiration": expiration, "conditions": list(conditions)})


def error(fn, *args) -> S3Error:
    with pytest.raises(S3Error) as info:
        fn(*args)
    return info.value


# s3-tests' usual policy and form (test_post_object_authenticated_request), field names as the form parser gives them
BASE = [{"bucket": "bkt"}, ["starts-with", "$key", "foo"], {"acl": "private"},
        ["starts-with", "$Content-Type", "text/plain"], ["content-length-range", 0, 1024]]
FORM = {"key": "foo.txt", "awsaccesskeyid": "AKID", "acl": "private", "signature": "sig", "policy": "p",
        "content-type": "text/plain"}


# -- the policy document ----------------------------------------------------------------------------
@pytest.mark.parametrize("encoded, message", [
    (encode({"conditions": BASE}), "Invalid Policy: Policy missing expiration."),           # ..._missing_expires_condition
    (encode({"expiration": LATER}), "Invalid Policy: Policy missing conditions."),           # ..._missing_conditions_list
    (encode({"expiration": LATER, "CONDITIONS": BASE}), "Invalid Policy: Policy missing conditions."),
    (encode({"EXPIRATION": LATER, "conditions": BASE}), "Invalid Policy: Policy missing expiration."),
    (encode({"expiration": "2030-01-01 12:00:00.123456+00:00", "conditions": BASE}),        # ..._invalid_date_format
     "Invalid Policy: Invalid 'expiration' value: '2030-01-01 12:00:00.123456+00:00'"),
    (encode({"expiration": "2030-01-01T12:00:00", "conditions": BASE}),
     "Invalid Policy: Invalid 'expiration' value: '2030-01-01T12:00:00'"),
    (policy_of({}), "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."),
    (policy_of({"acl": "a", "key": "b"}),
     "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."),
    (policy_of({"acl": 1}), "Invalid Policy: Invalid Simple-Condition: value must be a string."),
    (policy_of(["content-length-range", 0]), "Invalid Policy: Invalid content-length-range: wrong number of arguments."),
    (policy_of(["eq", "$key"]), "Invalid Policy: Invalid eq: wrong number of arguments."),
    (policy_of(["matches", "$key", "x"]), "Invalid Policy: Invalid Condition: unknown operation 'matches'."),
    (policy_of([]), "Invalid Policy: Invalid Condition: missing operation identifier."),
    (policy_of("acl"), "Invalid Policy: Invalid condition test: must be a List or Object."),
    (policy_of(["content-length-range", "a", 5]), "Invalid Policy: Invalid JSON."),
    (encode({"expiration": LATER, "conditions": {"acl": "x"}}), "Invalid Policy: Invalid 'conditions' value: must be a List."),
    (encode({"expiration": LATER, "conditions": [], "extra": 1}), 'Invalid Policy: Unexpected: "extra"'),
    (base64.b64encode(b"{not json").decode(), "Invalid Policy: Invalid JSON."),
    (base64.b64encode(b"[1, 2]").decode(), "Invalid Policy: Invalid JSON."),
    ("!!!not base64!!!", "Invalid Policy: invalid Base64 encoding."),
    ("", "Invalid Policy: Expecting '{' but found End-of-Input"),
])
def test_refused_policies(encoded, message):
    err = error(parse_policy, encoded)
    assert (err.code, err.status, err.message) == ("InvalidPolicyDocument", 400, message)


def test_policy_accepts_unpadded_base64_and_quoted_integers():
    policy = parse_policy(policy_of(["content-length-range", "1", "10"]).rstrip("="))
    assert policy.max_size == 10


def check(conditions, fields=None, bucket="bkt", now=NOW):
    parse_policy(policy_of(*conditions)).check(bucket, {**FORM, **(fields or {})}, now)


@pytest.mark.parametrize("conditions, fields", [
    (BASE, {}),                                                                        # ..._authenticated_request
    ([c for c in BASE if "$Content-Type" not in c], {"content-type": None}),          # ..._no_content_type
    ([{"bUcKeT": "bkt"}, ["StArTs-WiTh", "$KeY", "foo"], {"AcL": "private"},          # ..._case_insensitive_condition_fields
      ["StArTs-WiTh", "$CoNtEnT-TyPe", "text/plain"], ["content-length-range", 0, 1024]], {}),
    ([{"bucket": "bkt"}, ["starts-with", "$key", r"\$foo"], {"acl": "private"},        # ..._escaped_field_values
      ["starts-with", "$Content-Type", "text/plain"]], {"key": r"\$foo.txt"}),
    (BASE + [["eq", "$success_action_redirect", "http://x/bkt"]], {"success_action_redirect": "http://x/bkt"}),
    (BASE + [["starts-with", "$x-amz-meta-foo", "bar"]], {"x-amz-meta-foo": "barclamp"}),   # ..._user_specified_header
    (BASE, {"x-ignore-foo": "bar"}),                                                   # ..._ignored_header
    (BASE + [["starts-with", "$tagging", ""]], {"tagging": "<Tagging/>"}),            # an empty prefix allows anything
    (BASE[:3] + [["starts-with", "$Content-Type", "text/"]], {"content-type": "text/plain, text/html"}),
    (BASE + [["starts-with", "$bucket", "bk"]], {}),
    (BASE + [["starts-with", "$x-amz-server-side-encryption", ""]], {}),            # "" allows no field too
])
def test_policy_holds(conditions, fields):
    fields = {k: v for k, v in {**FORM, **fields}.items() if v is not None}
    parse_policy(policy_of(*conditions)).check("bkt", fields, NOW)


@pytest.mark.parametrize("conditions, fields, bucket, message", [
    (BASE, {}, "other", 'Policy Condition failed: ["eq", "$bucket", "bkt"]'),            # ..._wrong_bucket
    (BASE, {"bucket": "bkt"}, "other", 'Policy Condition failed: ["eq", "$bucket", "bkt"]'),
    (BASE, {"key": "bar.txt"}, "bkt", 'Policy Condition failed: ["starts-with", "$key", "foo"]'),
    (BASE + [["eq", "$x-amz-meta-foo", ""]], {"x-amz-meta-foo": "barclamp"}, "bkt",      # ..._invalid_request_field_value
     'Policy Condition failed: ["eq", "$x-amz-meta-foo", ""]'),
    (BASE + [["starts-with", "$x-amz-meta-foo", "bar"]], {}, "bkt",                      # ..._missing_policy_specified_field
     'Policy Condition failed: ["starts-with", "$x-amz-meta-foo", "bar"]'),
    (BASE[1:], {}, "bkt", "Extra input fields: bucket"),                                  # ..._missing_policy_condition
    (BASE, {"x-amz-meta-foo": "x", "cache-control": "y"}, "bkt", "Extra input fields: x-amz-meta-foo, cache-control"),
    (BASE[:3] + [["starts-with", "$Content-Type", "text/"]], {"content-type": "text/plain, image/png"}, "bkt",
     'Policy Condition failed: ["starts-with", "$Content-Type", "text/"]'),
    ([["starts-with", "key", "foo"]] + BASE, {}, "bkt", 'Policy Condition failed: ["starts-with", "key", "foo"]'),
])
def test_policy_refuses(conditions, fields, bucket, message):
    err = error(check, conditions, fields, bucket)
    assert (err.code, err.status, err.message) == ("AccessDenied", 403, f"Invalid according to Policy: {message}")


def test_expired_policy():
    """s3-tests test_post_object_expired_policy."""
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - 6000))
    err = error(parse_policy(policy_of(*BASE, expiration=past)).check, "bkt", FORM, NOW)
    assert (err.code, err.message) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


@pytest.mark.parametrize("low, high, size, code, fields", [
    (0, 0, 3, "EntityTooLarge", {"ProposedSize": 3, "MaxSizeAllowed": 0}),        # ..._upload_size_limit_exceeded
    (-1, 0, 3, "EntityTooLarge", {"ProposedSize": 3, "MaxSizeAllowed": 0}),       # ..._invalid_content_length_argument
    (512, 1000, 3, "EntityTooSmall", {"ProposedSize": 3, "MinSizeAllowed": 512}),  # ..._upload_size_below_minimum
    (4 << 20, 12 << 20, (4 << 20) + 200, None, None),                               # ..._rgw_chunk_size_bug
    (0, 1024, 1024, None, None),
])
def test_content_length_range(low, high, size, code, fields):
    policy = parse_policy(policy_of(*BASE[:4], ["content-length-range", low, high]))
    if code is None:
        policy.check_size(size)
    else:
        err = error(policy.check_size, size)
        assert (err.code, err.status, err.fields) == (code, 400, fields)


# -- signatures -------------------------------------------------------------------------------------
def presigned(version: str, **extra) -> dict:
    client = boto3.client("s3", aws_access_key_id="AKID", aws_secret_access_key="SECRET", region_name="us-east-1",
                          endpoint_url="http://127.0.0.1:1", config=Config(signature_version=version))
    post = client.generate_presigned_post("bkt", "user/${filename}", Fields={"acl": "private"},
                                          Conditions=[{"acl": "private"}, ["starts-with", "$key", "user/"],
                                                      ["content-length-range", 1, 100]], ExpiresIn=600)
    return {k.lower(): v for k, v in {**post["fields"], **extra}.items()}


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_boto3_presigned_posts_authenticate(version):
    fields = presigned(version)
    assert authenticate(fields, SECRETS.get) == "AKID"
    parse_policy(fields["policy"]).check("bkt", {**fields, "key": "user/a.txt"}, time.time())


def test_s3_tests_v2_signature():
    """s3-tests sign the policy with base64(HMAC-SHA1(secret, policy))."""
    policy = policy_of(*BASE)
    by_hand = base64.b64encode(hmac.new(b"SECRET", policy.encode(), hashlib.sha1).digest()).decode()
    assert sign_v2("SECRET", policy) == by_hand
    assert authenticate({**FORM, "policy": policy, "signature": by_hand}, SECRETS.get) == "AKID"


@pytest.mark.parametrize("version, change, code, status", [
    ("s3", {"signature": "AAAA"}, "SignatureDoesNotMatch", 403),                  # ..._invalid_signature
    ("s3", {"awsaccesskeyid": "DIKA"}, "InvalidAccessKeyId", 403),                # ..._invalid_access_key
    ("s3", {"signature": None}, "InvalidArgument", 400),                          # ..._missing_signature
    ("s3", {"policy": None}, "InvalidArgument", 400),
    ("s3v4", {"x-amz-signature": "0" * 64}, "SignatureDoesNotMatch", 403),
    ("s3v4", {"x-amz-credential": "DIKA/20260101/us-east-1/s3/aws4_request"}, "InvalidAccessKeyId", 403),
    ("s3v4", {"x-amz-signature": None}, "InvalidArgument", 400),
    ("s3v4", {"x-amz-date": None}, "InvalidArgument", 400),
    ("s3v4", {"x-amz-algorithm": "AWS4-HMAC-SHA1"}, "InvalidArgument", 400),
    ("s3v4", {"x-amz-date": "2026-01-01"}, "InvalidArgument", 400),
    ("s3v4", {"x-amz-credential": "AKID/2026/us-east-1/s3/aws4_request"}, "InvalidArgument", 400),
    ("s3v4", {"x-amz-credential": "AKID/20260101/us-east-1/ec2/aws4_request"}, "InvalidArgument", 400),
    ("s3v4", {"x-amz-credential": "AKID/20260101/us-east-1/s3/aws5_request"}, "InvalidArgument", 400),
])
def test_bad_signatures(version, change, code, status):
    fields = {k: v for k, v in {**presigned(version), **change}.items() if v is not None}
    err = error(authenticate, fields, SECRETS.get)
    assert (err.code, err.status) == (code, status)


def test_missing_field_message():
    err = error(authenticate, {"awsaccesskeyid": "AKID", "signature": "x"}, SECRETS.get)
    assert err.message == "Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields."
    err = error(authenticate, {"policy": "x"}, SECRETS.get)
    assert err.fields["ArgumentName"] == "AWSAccessKeyId"


def test_region_is_checked_when_given():
    fields = presigned("s3v4")
    assert authenticate(fields, SECRETS.get, "us-east-1") == "AKID"
    assert error(authenticate, fields, SECRETS.get, "eu-west-1").code == "InvalidArgument"


def test_anonymous_form():
    assert authenticate({"key": "foo.txt", "acl": "public-read", "content-type": "text/plain"}, SECRETS.get) is None


def test_checksum_fields_need_no_condition_and_ranges_bound_both_ways():
    policy = parse_policy(policy_of(*BASE, ["content-length-range", 10, 2048]))
    policy.check("bkt", {**FORM, "x-amz-checksum-sha256": "v", "x-ignore-me": "1"}, NOW)
    assert (policy.min_size, policy.max_size) == (10, 1024)
    assert error(policy.check, "bkt", {**FORM, "x-amz-meta-a": "1"}, NOW).message.endswith("Extra input fields: x-amz-meta-a")
    assert parse_policy(policy_of({"bucket": "bkt"})).min_size == 0
