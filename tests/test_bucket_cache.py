"""Front-ends cache bucket attributes; a change made through another front-end is seen at once.

architecture.md allows such a cache only if it is invalidated before the write that changes it is
acknowledged: the metadata daemon asks every connected front-end to forget the bucket, and answers
the writer only once they all have (or have been disconnected).
"""
from __future__ import annotations

import signal
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    from tests.cluster import Cluster
    c = Cluster(tmp_path_factory.mktemp("cache"), frontends=2).start()
    yield c
    c.stop()


def _error(call) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


def test_acl_change_is_seen_by_the_other_frontend_at_once(two):
    a, b = two.client(i=0), two.client(i=1)
    alt_b = two.client(ALT_ACCESS_KEY, ALT_SECRET_KEY, i=1)
    bucket = f"cache-{uuid.uuid4().hex[:8]}"
    a.create_bucket(Bucket=bucket)
    for round_ in range(10):
        b.put_object(Bucket=bucket, Key="warm", Body=b"x")          # front-end 1 caches the attributes
        assert _error(lambda: alt_b.put_object(Bucket=bucket, Key=f"k{round_}", Body=b"x")) == "AccessDenied"
        a.put_bucket_acl(Bucket=bucket, ACL="public-read-write")    # changed through front-end 0
        alt_b.put_object(Bucket=bucket, Key=f"k{round_}", Body=b"x")  # front-end 1 allows it right away
        a.put_bucket_acl(Bucket=bucket, ACL="private")
        assert _error(lambda: alt_b.put_object(Bucket=bucket, Key=f"z{round_}", Body=b"x")) == "AccessDenied"


def test_versioning_change_is_seen_by_the_other_frontend_at_once(two):
    a, b = two.client(i=0), two.client(i=1)
    bucket = f"cache-{uuid.uuid4().hex[:8]}"
    a.create_bucket(Bucket=bucket)
    b.put_object(Bucket=bucket, Key="k", Body=b"1")
    assert "VersionId" not in b.put_object(Bucket=bucket, Key="k", Body=b"2")
    a.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert b.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert b.put_object(Bucket=bucket, Key="k", Body=b"3")["VersionId"] not in ("", "null")


def test_deleted_and_recreated_bucket_is_seen_by_the_other_frontend(two):
    a, b = two.client(i=0), two.client(i=1)
    alt_a = two.client(ALT_ACCESS_KEY, ALT_SECRET_KEY, i=0)
    bucket = f"cache-{uuid.uuid4().hex[:8]}"
    a.create_bucket(Bucket=bucket)
    b.list_objects_v2(Bucket=bucket)                                 # cached by front-end 1
    a.delete_bucket(Bucket=bucket)
    assert _error(lambda: b.put_object(Bucket=bucket, Key="k", Body=b"x")) == "NoSuchBucket"
    alt_a.create_bucket(Bucket=bucket)                               # another owner takes the name
    assert _error(lambda: b.put_object(Bucket=bucket, Key="k", Body=b"x")) == "AccessDenied"
    alt_a.delete_bucket(Bucket=bucket)


def test_a_frontend_that_cannot_confirm_is_cut_off_and_forgets(two):
    a, b = two.client(i=0), two.client(i=1)
    alt_b = two.client(ALT_ACCESS_KEY, ALT_SECRET_KEY, i=1)
    bucket = f"cache-{uuid.uuid4().hex[:8]}"
    a.create_bucket(Bucket=bucket)
    b.put_object(Bucket=bucket, Key="warm", Body=b"x")
    proc = two.procs["s3-1"]
    proc.send_signal(signal.SIGSTOP)                                 # front-end 1 cannot answer anything
    try:
        a.put_bucket_acl(Bucket=bucket, ACL="public-read-write")     # acknowledged after the ack timeout
    finally:
        proc.send_signal(signal.SIGCONT)
    two.wait_healthy(1)
    alt_b.put_object(Bucket=bucket, Key="after", Body=b"x")         # it reconnected without the stale entry
    assert "disconnect" in two.logs("metadata") or "did not confirm" in two.logs("metadata")
