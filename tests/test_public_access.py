"""Block Public Access: the configuration calls and each of the four switches at work."""
from __future__ import annotations

import json

import pytest
from botocore import UNSIGNED

from tests.expect import s3_error

ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
          "RestrictPublicBuckets": True}


@pytest.fixture(scope="module")
def anon(cluster):
    return cluster.client(signature_version=UNSIGNED)


def block(s3, bucket: str, **switches: bool) -> None:
    config = {name: switches.get(name, False) for name in ALL_ON}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)


def public_read_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def test_the_configuration_round_trips(s3, bucket):
    assert s3_error(s3.get_public_access_block, Bucket=bucket) == (404, "NoSuchPublicAccessBlockConfiguration")
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_ON)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == ALL_ON
    s3.delete_public_access_block(Bucket=bucket)
    assert s3_error(s3.get_public_access_block, Bucket=bucket) == (404, "NoSuchPublicAccessBlockConfiguration")


def test_block_public_acls(s3, bucket):
    block(s3, bucket, BlockPublicAcls=True)
    assert s3_error(s3.put_bucket_acl, Bucket=bucket, ACL="public-read") == (403, "AccessDenied")
    assert s3_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ACL="public-read") == (403, "AccessDenied")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="private")
    assert s3_error(s3.put_object_acl, Bucket=bucket, Key="k", ACL="authenticated-read") == (403, "AccessDenied")


def test_ignore_public_acls(s3, anon, bucket):
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    block(s3, bucket, IgnorePublicAcls=True)
    assert s3_error(anon.get_object, Bucket=bucket, Key="k") == (403, "AccessDenied")
    assert s3_error(anon.list_objects_v2, Bucket=bucket) == (403, "AccessDenied")


def test_block_public_policy(s3, bucket):
    block(s3, bucket, BlockPublicPolicy=True)
    assert s3_error(s3.put_bucket_policy, Bucket=bucket, Policy=public_read_policy(bucket)) == (403, "AccessDenied")
    assert s3_error(s3.get_bucket_policy, Bucket=bucket) == (404, "NoSuchBucketPolicy")


def test_restrict_public_buckets(s3, anon, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    block(s3, bucket, RestrictPublicBuckets=True)
    assert s3_error(anon.get_object, Bucket=bucket, Key="k") == (403, "AccessDenied")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
