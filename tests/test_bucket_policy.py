"""Bucket policies: stored, validated as AWS does, and deciding requests with the ACLs
(anonymous access made public on purpose, another account let in, Deny winning, conditions,
DeleteObjects key by key, copies reading their source)."""
from __future__ import annotations

import json

import httpx
import pytest
from botocore import UNSIGNED

from shared.config import DEFAULT_ACCOUNTS
from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error

BART, LISA = DEFAULT_ACCOUNTS


@pytest.fixture(scope="module")
def lisa(cluster):
    return cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)


@pytest.fixture(scope="module")
def anon(cluster):
    return cluster.client(signature_version=UNSIGNED)


def statement(effect: str, principal, actions, resources, condition=None) -> dict:
    st = {"Effect": effect, "Principal": principal, "Action": actions, "Resource": resources}
    if condition:
        st["Condition"] = condition
    return st


def put_policy(s3, bucket: str, *statements: dict) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def test_a_policy_round_trips_and_goes(s3, bucket):
    assert s3_error(s3.get_bucket_policy, Bucket=bucket) == (404, "NoSuchBucketPolicy")
    put_policy(s3, bucket, statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]["Action"] == "s3:GetObject"
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3_error(s3.get_bucket_policy, Bucket=bucket) == (404, "NoSuchBucketPolicy")
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


@pytest.mark.parametrize("document", [
    "not json", "[]", json.dumps({"Version": "2012-10-17", "Statement": []}),
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                        "Resource": "arn:aws:s3:::BUCKET/*"}]}),   # no Principal
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                        "Action": "s3:GetObject",
                                                        "Resource": "arn:aws:s3:::someone-else/*"}]}),
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                        "Action": "s3:NoSuchThing",
                                                        "Resource": "arn:aws:s3:::BUCKET/*"}]}),
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                        "Action": "s3:GetObject", "Sid": "x" * 30000,
                                                        "Resource": "arn:aws:s3:::BUCKET/*"}]}),
], ids=["not-json", "not-object", "no-statement", "no-principal", "other-bucket", "unknown-action", "too-large"])
def test_a_policy_aws_would_refuse_is_refused(s3, bucket, document):
    assert s3_error(s3.put_bucket_policy, Bucket=bucket, Policy=document.replace("BUCKET", bucket)) == \
        (400, "MalformedPolicy")
    assert s3_error(s3.get_bucket_policy, Bucket=bucket) == (404, "NoSuchBucketPolicy")


def test_only_the_owner_manages_the_policy(s3, lisa, anon, bucket):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*")]})
    assert s3_error(lisa.put_bucket_policy, Bucket=bucket, Policy=doc) == (403, "AccessDenied")
    assert s3_error(anon.put_bucket_policy, Bucket=bucket, Policy=doc) == (403, "AccessDenied")
    s3.put_bucket_policy(Bucket=bucket, Policy=doc)
    assert s3_error(lisa.get_bucket_policy, Bucket=bucket) == (403, "AccessDenied")
    assert s3_error(lisa.delete_bucket_policy, Bucket=bucket) == (403, "AccessDenied")


def test_a_public_read_policy_lets_anyone_read_and_nothing_more(cluster, s3, anon, bucket):
    s3.put_object(Bucket=bucket, Key="pub/a", Body=b"hello")
    assert s3_error(anon.get_object, Bucket=bucket, Key="pub/a") == (403, "AccessDenied")
    put_policy(s3, bucket, statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{bucket}/pub/*"))
    assert anon.get_object(Bucket=bucket, Key="pub/a")["Body"].read() == b"hello"
    assert httpx.get(f"{cluster.endpoint}/{bucket}/pub/a").content == b"hello"
    assert s3_error(anon.put_object, Bucket=bucket, Key="pub/b", Body=b"x") == (403, "AccessDenied")
    assert s3_error(anon.list_objects_v2, Bucket=bucket) == (403, "AccessDenied")
    # A missing key: without s3:ListBucket nobody learns it is missing.
    assert s3_error(anon.get_object, Bucket=bucket, Key="pub/missing") == (403, "AccessDenied")
    put_policy(s3, bucket, statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{bucket}/pub/*"),
               statement("Allow", "*", "s3:ListBucket", f"arn:aws:s3:::{bucket}"))
    assert s3_error(anon.get_object, Bucket=bucket, Key="pub/missing") == (404, "NoSuchKey")
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=bucket)["Contents"]] == ["pub/a"]


def test_anonymous_upload_made_public_on_purpose(s3, anon, bucket):
    put_policy(s3, bucket, statement("Allow", "*", "s3:PutObject", f"arn:aws:s3:::{bucket}/inbox/*"))
    # Objects keep their writer as owner (ObjectWriter ownership): the drop hands them to the bucket owner.
    anon.put_object(Bucket=bucket, Key="inbox/drop", Body=b"dropped", ACL="bucket-owner-full-control")
    assert s3.get_object(Bucket=bucket, Key="inbox/drop")["Body"].read() == b"dropped"
    assert s3_error(anon.put_object, Bucket=bucket, Key="elsewhere", Body=b"x") == (403, "AccessDenied")
    assert s3_error(anon.get_object, Bucket=bucket, Key="inbox/drop") == (403, "AccessDenied")


def test_another_account_let_in_by_the_policy(s3, lisa, bucket):
    s3.put_object(Bucket=bucket, Key="shared", Body=b"for lisa")
    assert s3_error(lisa.get_object, Bucket=bucket, Key="shared") == (403, "AccessDenied")
    put_policy(s3, bucket, statement("Allow", {"AWS": f"arn:aws:iam::{LISA.account_id}:root"},
                                     ["s3:GetObject", "s3:ListBucket"],
                                     [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))
    assert lisa.get_object(Bucket=bucket, Key="shared")["Body"].read() == b"for lisa"
    assert [o["Key"] for o in lisa.list_objects_v2(Bucket=bucket)["Contents"]] == ["shared"]
    assert s3_error(lisa.delete_object, Bucket=bucket, Key="shared") == (403, "AccessDenied")


def test_an_explicit_deny_wins_even_for_the_owner_but_never_locks_the_policy(s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    put_policy(s3, bucket, statement("Deny", "*", "s3:DeleteObject", f"arn:aws:s3:::{bucket}/*"),
               statement("Deny", "*", "s3:*Policy", f"arn:aws:s3:::{bucket}"))
    assert s3_error(s3.delete_object, Bucket=bucket, Key="keep") == (403, "AccessDenied")
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"x"
    s3.get_bucket_policy(Bucket=bucket)
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_object(Bucket=bucket, Key="keep")


def test_conditions_on_the_source_address(s3, anon, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"local")
    put_policy(s3, bucket, statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*",
                                     {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    assert s3_error(anon.get_object, Bucket=bucket, Key="k") == (403, "AccessDenied")
    put_policy(s3, bucket, statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*",
                                     {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"local"


def test_delete_objects_is_decided_key_by_key(s3, lisa, bucket):
    for key in ("tmp/a", "keep/b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    put_policy(s3, bucket, statement("Allow", {"AWS": LISA.account_id}, "s3:DeleteObject",
                                     f"arn:aws:s3:::{bucket}/tmp/*"))
    result = lisa.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/b"}]})
    assert [d["Key"] for d in result.get("Deleted", [])] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("keep/b", "AccessDenied")]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep/b"]


def test_a_copy_reads_its_source_through_the_policy(s3, lisa, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"copied")
    target = f"{bucket}-lisa"
    lisa.create_bucket(Bucket=target)
    try:
        assert s3_error(lisa.copy_object, Bucket=target, Key="dst",
                        CopySource={"Bucket": bucket, "Key": "src"}) == (403, "AccessDenied")
        put_policy(s3, bucket, statement("Allow", {"AWS": LISA.account_id}, "s3:GetObject",
                                         f"arn:aws:s3:::{bucket}/src"))
        lisa.copy_object(Bucket=target, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
        assert lisa.get_object(Bucket=target, Key="dst")["Body"].read() == b"copied"
    finally:
        lisa.delete_object(Bucket=target, Key="dst")
        lisa.delete_bucket(Bucket=target)


def test_conditions_on_existing_and_requested_object_tags(s3, anon, bucket):
    s3.put_object(Bucket=bucket, Key="open", Body=b"o", Tagging="share=yes")
    s3.put_object(Bucket=bucket, Key="closed", Body=b"c", Tagging="share=no")
    put_policy(s3, bucket,
               statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*",
                         {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}}),
               statement("Allow", "*", "s3:PutObject", f"arn:aws:s3:::{bucket}/*",
                         {"StringEquals": {"s3:RequestObjectTag/origin": "web"}}))
    assert anon.get_object(Bucket=bucket, Key="open")["Body"].read() == b"o"
    assert s3_error(anon.get_object, Bucket=bucket, Key="closed") == (403, "AccessDenied")
    anon.put_object(Bucket=bucket, Key="upload", Body=b"u", Tagging="origin=web", ACL="bucket-owner-full-control")
    assert s3_error(anon.put_object, Bucket=bucket, Key="other", Body=b"u", Tagging="origin=cli") == \
        (403, "AccessDenied")


def test_a_missing_key_is_named_only_to_who_may_list_it_by_that_prefix(s3, bucket, lisa):
    """HEAD of a missing key asks s3:ListBucket with the key as s3:prefix: 404 where a listing of
    that prefix is allowed, 403 elsewhere (the answer says no more than that listing would)."""
    put_policy(s3, bucket, statement("Allow", {"AWS": "*"}, "s3:ListBucket", f"arn:aws:s3:::{bucket}",
                                     {"StringLike": {"s3:prefix": "public/*"}}))
    assert s3_error(lisa.head_object, Bucket=bucket, Key="public/none")[0] == 404
    assert s3_error(lisa.head_object, Bucket=bucket, Key="private/none")[0] == 403
    s3.delete_bucket_policy(Bucket=bucket)


def test_confirm_remove_self_lets_a_policy_lock_its_owner_out_of_the_policy_calls(s3):
    """Without x-amz-confirm-remove-self-bucket-access the owner may always read, change and delete
    its bucket's policy; with it (true), a Deny applies to the owner too, as on AWS."""
    locked, kept = "policy-locks-owner", "policy-keeps-owner"
    def deny_policy_calls(name: str) -> dict:
        return {"Version": "2012-10-17", "Statement": [statement(
            "Deny", "*", ["s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"],
            f"arn:aws:s3:::{name}")]}
    for name in (locked, kept):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=kept, Policy=json.dumps(deny_policy_calls(kept)))
    assert json.loads(s3.get_bucket_policy(Bucket=kept)["Policy"]) == deny_policy_calls(kept)
    s3.delete_bucket_policy(Bucket=kept)
    s3.put_bucket_policy(Bucket=locked, Policy=json.dumps(deny_policy_calls(locked)),
                         ConfirmRemoveSelfBucketAccess=True)
    for call in (s3.get_bucket_policy, s3.delete_bucket_policy):
        assert s3_error(call, Bucket=locked) == (403, "AccessDenied")
    assert s3_error(s3.put_bucket_policy, Bucket=locked, Policy=json.dumps(deny_policy_calls(locked))) == \
        (403, "AccessDenied")
    assert s3.list_objects_v2(Bucket=locked)["KeyCount"] == 0          # the rest of the bucket stays its owner's
