"""Server access logging on a real cluster through boto3: Put/GetBucketLogging and its refusals, the
records of a scripted sequence of requests delivered into the target bucket, and delivery on stop."""
from __future__ import annotations

import itertools
import json
import os
import re
import signal
import time

import httpx
import pytest

from s3front import access_log_format as L
from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error, s3_error_message

MAIN_ID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
MAIN_ACCOUNT = "123456789012"
_names = itertools.count()


def new_bucket(s3) -> str:
    name = f"logs-{os.getpid()}-{next(_names)}"
    s3.create_bucket(Bucket=name)
    return name


def allow_delivery(s3, target: str, sources: list[str], prefix: str = "log/", account: str = MAIN_ACCOUNT) -> None:
    """The target's policy lets the logging service write under `prefix` for each source (AWS's documented form)."""
    statements = [{"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                   "Resource": f"arn:aws:s3:::{target}/{prefix}*",
                   "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source}"},
                                 "StringEquals": {"aws:SourceAccount": account}}} for source in sources]
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))


def enable(s3, source: str, target: str, prefix: str = "log/", **extra) -> dict:
    return s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": prefix, **extra}})


def logged_pair(s3) -> tuple[str, str]:
    """A new source bucket logged into a new target bucket that lets the delivery write."""
    source, target = new_bucket(s3), new_bucket(s3)
    allow_delivery(s3, target, [source])
    enable(s3, source, target)
    return source, target


# -- the configuration ---------------------------------------------------------------------------

def test_logging_configuration_round_trip(s3):
    source, target = new_bucket(s3), new_bucket(s3)
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)
    allow_delivery(s3, target, [source])
    assert enable(s3, source, target)["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = s3.get_bucket_logging(Bucket=source)
    # The simple key format is answered when none was given, as AWS does.
    assert got["LoggingEnabled"] == {"TargetBucket": target, "TargetPrefix": "log/",
                                     "TargetObjectKeyFormat": {"SimplePrefix": {}}}
    modified = got["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    time.sleep(1.1)
    enable(s3, source, target)                 # the same configuration: its time does not move
    assert s3.get_bucket_logging(Bucket=source)["ResponseMetadata"]["HTTPHeaders"]["last-modified"] == modified

    partitioned = {"PartitionedPrefix": {"PartitionDateSource": "DeliveryTime"}}
    enable(s3, source, target, TargetObjectKeyFormat=partitioned)
    assert s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetObjectKeyFormat"] == partitioned

    grants = [{"Grantee": {"ID": MAIN_ID, "Type": "CanonicalUser", "DisplayName": "Bart"}, "Permission": "READ"}]
    enable(s3, source, target, TargetGrants=grants)
    assert s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetGrants"] == grants

    assert s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)


def test_logging_configuration_refusals(s3):
    source, target = new_bucket(s3), new_bucket(s3)
    assert s3_error(enable, s3, source + "-none", target) == (404, "NoSuchBucket")
    assert s3_error(enable, s3, source, target + "-none") == (400, "InvalidTargetBucketForLogging")
    # No policy (nor LogDelivery ACL) on the target: the delivery could not write.
    assert s3_error(enable, s3, source, target) == (403, "AccessDenied")
    assert "logging.s3.amazonaws.com" in s3_error_message(enable, s3, source, target)
    allow_delivery(s3, target, [source], prefix="other/")           # another prefix: still no
    assert s3_error(enable, s3, source, target) == (403, "AccessDenied")
    allow_delivery(s3, target, [source + "-x"])                     # another source bucket: no
    assert s3_error(enable, s3, source, target) == (403, "AccessDenied")
    allow_delivery(s3, target, [source], account="999999999999")    # another source account: no
    assert s3_error(enable, s3, source, target) == (403, "AccessDenied")
    # The older way: the LogDelivery group may write into the target.
    s3.delete_bucket_policy(Bucket=target)
    s3.put_bucket_acl(Bucket=target, ACL="log-delivery-write")
    enable(s3, source, target)

    # Loops: a bucket into itself, a target that is logged itself.
    allow_delivery(s3, source, [source])
    assert s3_error(enable, s3, source, source) == (400, "InvalidArgument")
    third = new_bucket(s3)
    allow_delivery(s3, source, [third])
    assert s3_error(enable, s3, third, source) == (400, "InvalidArgument")

    bad_source = {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "log/",
                                     "TargetObjectKeyFormat": {"PartitionedPrefix": {"PartitionDateSource": "Soon"}}}}
    assert s3_error(s3.put_bucket_logging, Bucket=source, BucketLoggingStatus=bad_source) == (400, "MalformedXML")


def test_logging_across_owners_needs_the_targets_policy(cluster, s3):
    alt = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    target, source = new_bucket(s3), new_bucket(alt)
    assert s3_error(enable, alt, source, target) == (403, "AccessDenied")
    allow_delivery(s3, target, [source], account="210987654321")
    assert s3_error(enable, alt, source, target) == (403, "AccessDenied")    # alt's account is not that
    policy = json.loads(s3.get_bucket_policy(Bucket=target)["Policy"])
    for st in policy["Statement"]:
        st["Condition"]["StringEquals"]["aws:SourceAccount"] = ALT_CANONICAL
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps(policy))
    enable(alt, source, target)                 # the source's owner named by its canonical id
    # Only the source bucket's owner configures its logging.
    assert s3_error(s3.put_bucket_logging, Bucket=source, BucketLoggingStatus={}) == (403, "AccessDenied")
    assert s3_error(alt.get_bucket_logging, Bucket=target) == (403, "AccessDenied")


ALT_CANONICAL = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"


# -- records and their delivery --------------------------------------------------------------------

def log_records(s3, target: str, prefix: str = "") -> tuple[list[str], list[L.LogRecord]]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=target, Prefix=prefix).get("Contents", [])]
    records = []
    for key in keys:
        body = s3.get_object(Bucket=target, Key=key)["Body"].read().decode()
        records += [L.parse(line) for line in body.splitlines()]
    return keys, records


def wait_records(s3, target: str, count: int, prefix: str = "", timeout: float = 30.0):
    deadline = time.time() + timeout
    while True:
        keys, records = log_records(s3, target, prefix)
        if len(records) >= count or time.time() > deadline:
            return keys, records
        time.sleep(0.3)


@pytest.fixture
def logging_cluster(fresh_cluster):
    return fresh_cluster(env={"COFFER_ACCESS_LOG_FLUSH_SECONDS": "1"})


def test_records_of_a_scripted_sequence(logging_cluster):
    c = logging_cluster
    s3 = c.client()
    source, target = logged_pair(s3)
    ids = []
    put = s3.put_object(Bucket=source, Key="dir/a b.txt", Body=b"hello world")
    ids.append(put["ResponseMetadata"]["RequestId"])
    got = s3.get_object(Bucket=source, Key="dir/a b.txt", Range="bytes=0-4")
    assert got["Body"].read() == b"hello"
    ids.append(got["ResponseMetadata"]["RequestId"])
    assert s3_error(s3.head_object, Bucket=source, Key="missing") == (404, "404")
    listed = s3.list_objects_v2(Bucket=source, Prefix="dir/")
    ids.append(listed["ResponseMetadata"]["RequestId"])
    anonymous = httpx.get(f"{c.endpoint}/{source}/dir/a%20b.txt", headers={"User-Agent": "plain-client/1.0",
                                                                           "Referer": "http://example.com/"})
    assert anonymous.status_code == 403
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": source, "Key": "dir/a b.txt"})
    assert httpx.get(presigned).content == b"hello world"
    s3.delete_object(Bucket=source, Key="dir/a b.txt")

    keys, records = wait_records(s3, target, 7)
    assert len(records) == 7                    # one per request; the log writes themselves make none
    assert all(re.fullmatch(r"log/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}", k) for k in keys), keys
    assert {r.bucket for r in records} == {source}
    by_op = [(r.operation, r.key, r.status, r.error_code) for r in sorted(records, key=lambda r: r.time)]
    assert sorted(by_op, key=str) == sorted([
        ("REST.PUT.OBJECT", "dir/a b.txt", 200, None), ("REST.GET.OBJECT", "dir/a b.txt", 206, None),
        ("REST.HEAD.OBJECT", "missing", 404, "NoSuchKey"), ("REST.GET.BUCKET", None, 200, None),
        ("REST.GET.OBJECT", "dir/a b.txt", 403, "AccessDenied"), ("REST.GET.OBJECT", "dir/a b.txt", 200, None),
        ("REST.DELETE.OBJECT", "dir/a b.txt", 204, None)], key=str)
    first = next(r for r in records if r.operation == "REST.PUT.OBJECT")
    assert (first.bucket_owner, first.requester, first.request_id) == (MAIN_ID, MAIN_ID, ids[0])
    assert (first.object_size, first.signature_version, first.authentication_type) == (11, "SigV4", "AuthHeader")
    assert first.request_uri == f"PUT /{source}/dir/a%20b.txt HTTP/1.1"
    assert first.remote_ip == "127.0.0.1" and first.host_header.startswith("127.0.0.1:")
    ranged = next(r for r in records if r.status == 206)
    assert (ranged.bytes_sent, ranged.object_size, ranged.request_id) == (5, 11, ids[1])
    assert ranged.total_time is not None and ranged.turn_around_time is not None
    denied = next(r for r in records if r.status == 403)
    assert (denied.requester, denied.authentication_type, denied.signature_version) == (None, None, None)
    assert (denied.user_agent, denied.referer) == ("plain-client/1.0", "http://example.com/")
    signed_url = next(r for r in records if r.operation == "REST.GET.OBJECT" and r.status == 200)
    expected = "SigV4" if "X-Amz-Signature=" in presigned else "SigV2"     # boto3's default form varies
    assert (signed_url.authentication_type, signed_url.signature_version) == ("QueryString", expected)
    assert next(r for r in records if r.operation == "REST.GET.BUCKET").request_id == ids[2]
    # Without TargetGrants the log objects are their owner's alone.
    alt = c.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    assert s3_error(alt.get_object, Bucket=target, Key=keys[0]) == (403, "AccessDenied")
    # Reading the log objects was no request on the source: nothing more arrives.
    time.sleep(2.5)
    assert len(log_records(s3, target)[1]) == 7


def test_partitioned_keys_and_turning_logging_off(logging_cluster):
    s3 = logging_cluster.client()
    source, target = new_bucket(s3), new_bucket(s3)
    allow_delivery(s3, target, [source], prefix="p/")
    enable(s3, source, target, prefix="p/",
           TargetObjectKeyFormat={"PartitionedPrefix": {"PartitionDateSource": "EventTime"}},
           TargetGrants=[{"Grantee": {"ID": ALT_CANONICAL, "Type": "CanonicalUser"}, "Permission": "READ"}])
    s3.put_object(Bucket=source, Key="k", Body=b"x", ACL="public-read")
    alt = logging_cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    assert alt.get_object(Bucket=source, Key="k")["Body"].read() == b"x"
    keys, records = wait_records(s3, target, 2, "p/")
    day = time.strftime("%Y/%m/%d", time.gmtime())
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    assert len(keys) == 1 and keys[0].startswith(f"p/{MAIN_ACCOUNT}/us-east-1/{source}/{day}/{stamp}-00-00-00-")
    # TargetGrants: the log objects' ACL lets the grantee read them.
    assert alt.get_object(Bucket=target, Key=keys[0])["Body"].read().count(b"\n") == 2
    # ACLRequired: the object's ACL let the other account read it; its owner needed none.
    assert sorted((r.operation, r.requester, r.acl_required) for r in records) == [
        ("REST.GET.OBJECT", ALT_CANONICAL, True), ("REST.PUT.OBJECT", MAIN_ID, False)]
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    s3.put_object(Bucket=source, Key="k2", Body=b"x")
    time.sleep(2.5)
    # The request that turned logging off is the last one logged.
    records = sorted(log_records(s3, target, "p/")[1], key=lambda r: r.time)
    assert [(r.operation, r.key) for r in records] == [("REST.PUT.OBJECT", "k"), ("REST.GET.OBJECT", "k"),
                                                       ("REST.PUT.LOGGING_STATUS", None)]


def test_a_request_refused_for_its_signature_is_logged(logging_cluster):
    # Refused before authorization, the request has no resolved bucket: the log reads the cached one.
    s3 = logging_cluster.client()
    source, target = logged_pair(s3)
    s3.put_object(Bucket=source, Key="k", Body=b"x")
    forged = logging_cluster.client(secret_key="not-the-secret-key-at-all")
    assert s3_error(forged.get_object, Bucket=source, Key="k") == (403, "SignatureDoesNotMatch")
    _, records = wait_records(s3, target, 2)
    assert sorted((r.operation, r.status, r.error_code) for r in records) == [
        ("REST.GET.OBJECT", 403, "SignatureDoesNotMatch"), ("REST.PUT.OBJECT", 200, None)]
    assert "Traceback" not in logging_cluster.logs("s3-0")


def test_copies_and_multi_object_deletes_add_aws_records(logging_cluster):
    s3 = logging_cluster.client()
    source, target, other = new_bucket(s3), new_bucket(s3), new_bucket(s3)
    allow_delivery(s3, target, [source])
    enable(s3, source, target)
    s3.put_object(Bucket=source, Key="a", Body=b"abc")
    s3.copy_object(Bucket=other, Key="copied", CopySource={"Bucket": source, "Key": "a"})   # out of the logged bucket
    s3.delete_objects(Bucket=source, Delete={"Objects": [{"Key": "a"}, {"Key": "never-there"}]})
    keys, records = wait_records(s3, target, 5)
    got = sorted((r.operation, r.key, r.status, r.bucket) for r in records)
    assert got == sorted([("REST.PUT.OBJECT", "a", 200, source),
                          ("REST.COPY.OBJECT_GET", "a", 200, source),           # the copy read its source
                          ("REST.POST.MULTI_OBJECT_DELETE", None, 200, source),
                          ("BATCH.DELETE.OBJECT", "a", 204, source), ("BATCH.DELETE.OBJECT", "never-there", 204, source)])
    assert next(r for r in records if r.operation == "REST.COPY.OBJECT_GET").object_size == 3


def test_records_stop_when_the_target_revokes_delivery(logging_cluster):
    s3 = logging_cluster.client()
    source, target = logged_pair(s3)
    s3.put_object(Bucket=source, Key="before", Body=b"x")
    assert [r.key for r in wait_records(s3, target, 1)[1]] == ["before"]
    s3.delete_bucket_policy(Bucket=target)
    s3.put_object(Bucket=source, Key="revoked", Body=b"x")
    time.sleep(2.5)
    allow_delivery(s3, target, [source])
    s3.put_object(Bucket=source, Key="after", Body=b"x")
    keys, records = wait_records(s3, target, 2)
    assert sorted(r.key for r in records) == ["after", "before"]


def test_a_stopping_frontend_hands_over_what_it_holds(fresh_cluster):
    c = fresh_cluster(env={"COFFER_ACCESS_LOG_FLUSH_SECONDS": "3"})
    s3 = c.client()
    source, target = logged_pair(s3)
    for n in range(5):
        s3.put_object(Bucket=source, Key=f"k{n}", Body=b"x" * n)
    c.kill("s3-0", signal.SIGTERM)              # at once: the records are still in its buffer
    assert "access logs handed over on stop" in c.logs("s3-0")
    c.start_frontend(0)                         # the front-end that delivers them is a new process
    keys, records = wait_records(c.client(), target, 6)
    assert len(keys) == 1
    assert sorted(r.key for r in records if r.operation == "REST.PUT.OBJECT") == [f"k{n}" for n in range(5)]


def test_records_outlive_a_killed_frontend(fresh_cluster):
    c = fresh_cluster(env={"COFFER_ACCESS_LOG_FLUSH_SECONDS": "4"})
    s3 = c.client()
    source, target = logged_pair(s3)
    for n in range(3):
        s3.put_object(Bucket=source, Key=f"k{n}", Body=b"x")
    time.sleep(1.5)                             # handed over to the metadata daemon, not yet due
    c.kill("s3-0")
    c.start_frontend(0)
    keys, records = wait_records(c.client(), target, 3)
    assert sorted(r.key for r in records if r.operation == "REST.PUT.OBJECT") == ["k0", "k1", "k2"]


def test_two_frontends_make_one_log_object_per_interval(fresh_cluster):
    c = fresh_cluster(frontends=2, env={"COFFER_ACCESS_LOG_FLUSH_SECONDS": "3"})
    first, second = c.client(i=0), c.client(i=1)
    source, target = logged_pair(first)
    second.head_bucket(Bucket=source)           # the second front-end has the bucket's configuration
    for n in range(6):
        (first if n % 2 else second).put_object(Bucket=source, Key=f"k{n}", Body=b"x")
    keys, records = wait_records(first, target, 6)
    assert len(keys) == 1, keys
    assert sorted(r.key for r in records if r.operation == "REST.PUT.OBJECT") == [f"k{n}" for n in range(6)]
