"""Object Ownership: the three modes on create and by PutBucketOwnershipControls, who owns what
another account writes, and ACLs switched off under BucketOwnerEnforced."""
from __future__ import annotations

import json
import time

import pytest

from shared.config import DEFAULT_ACCOUNTS
from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error

BART, LISA = DEFAULT_ACCOUNTS


@pytest.fixture(scope="module")
def lisa(cluster):
    return cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)


def open_to_all(s3, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))


def owner_of(s3, bucket: str, key: str) -> str:
    return s3.get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"]


@pytest.fixture
def new_bucket(s3):
    made = []

    def make(**kw) -> str:
        name = f"own-{time.monotonic_ns()}"
        s3.create_bucket(Bucket=name, **kw)
        made.append(name)
        return name
    return make


def test_no_controls_until_set_and_after_delete(s3, new_bucket):
    bucket = new_bucket()
    assert s3_error(s3.get_bucket_ownership_controls, Bucket=bucket) == (404, "OwnershipControlsNotFoundError")
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "ObjectWriter"}]
    s3.delete_bucket_ownership_controls(Bucket=bucket)
    assert s3_error(s3.get_bucket_ownership_controls, Bucket=bucket) == (404, "OwnershipControlsNotFoundError")


def test_bucket_owner_enforced_owns_everything_and_refuses_acls(s3, lisa, new_bucket):
    bucket = new_bucket(ObjectOwnership="BucketOwnerEnforced")
    open_to_all(s3, bucket)
    lisa.put_object(Bucket=bucket, Key="a", Body=b"x")
    lisa.put_object(Bucket=bucket, Key="b", Body=b"x", ACL="bucket-owner-full-control")
    assert owner_of(lisa, bucket, "a") == owner_of(lisa, bucket, "b") == BART.canonical_id
    assert s3_error(lisa.put_object, Bucket=bucket, Key="c", Body=b"x", ACL="private") == \
        (400, "AccessControlListNotSupported")
    assert s3_error(s3.put_bucket_acl, Bucket=bucket, ACL="public-read") == (400, "AccessControlListNotSupported")
    assert s3_error(s3.put_object_acl, Bucket=bucket, Key="a", ACL="public-read") == \
        (400, "AccessControlListNotSupported")
    upload = lisa.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    assert lisa.list_parts(Bucket=bucket, Key="m", UploadId=upload)["Owner"]["ID"] == BART.canonical_id


def test_enforced_needs_a_private_bucket_acl(s3, new_bucket):
    bucket = new_bucket(ACL="public-read")
    controls = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert s3_error(s3.put_bucket_ownership_controls, Bucket=bucket, OwnershipControls=controls) == \
        (400, "InvalidBucketAclWithObjectOwnership")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=controls)


def test_bucket_owner_preferred_takes_what_is_handed_over(s3, lisa, new_bucket):
    bucket = new_bucket(ObjectOwnership="BucketOwnerPreferred")
    open_to_all(s3, bucket)
    lisa.put_object(Bucket=bucket, Key="kept", Body=b"x")
    lisa.put_object(Bucket=bucket, Key="given", Body=b"x", ACL="bucket-owner-full-control")
    assert owner_of(lisa, bucket, "kept") == LISA.canonical_id
    assert owner_of(lisa, bucket, "given") == BART.canonical_id


def test_object_writer_keeps_the_writer(s3, lisa, new_bucket):
    bucket = new_bucket(ObjectOwnership="ObjectWriter")
    open_to_all(s3, bucket)
    lisa.put_object(Bucket=bucket, Key="w", Body=b"x", ACL="bucket-owner-full-control")
    assert owner_of(lisa, bucket, "w") == LISA.canonical_id
