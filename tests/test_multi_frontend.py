"""Several front-ends, one store: started from docker-compose.yml by the local compose helper, behind HAProxy."""
from __future__ import annotations

import hashlib
import os
import threading
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY, s3_client
from tests.compose import LocalCompose

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/sbin/haproxy"), reason="haproxy (Debian) is not installed")


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    c = LocalCompose(tmp_path_factory.mktemp("compose"), scale=3).up()
    yield c
    c.down()


def test_read_after_write_across_frontends(compose):
    a, b = s3_client(compose.s3_endpoint(0)), s3_client(compose.s3_endpoint(1))
    bucket = f"raw-{uuid.uuid4().hex[:8]}"
    a.create_bucket(Bucket=bucket)
    for i in range(1000):
        body = os.urandom(64)
        key = f"k{i % 50}"
        a.put_object(Bucket=bucket, Key=key, Body=body)
        assert b.get_object(Bucket=bucket, Key=key)["Body"].read() == body
        listed = b.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)["Contents"][0]
        assert listed["Key"] == key and listed["ETag"].strip('"') == hashlib.md5(body).hexdigest()
        a, b = b, a


def test_bucket_creation_race_has_one_winner(compose):
    for _ in range(20):
        name = f"race-{uuid.uuid4().hex[:8]}"
        clients = [s3_client(compose.s3_endpoint(0)),
                   s3_client(compose.s3_endpoint(1), ALT_ACCESS_KEY, ALT_SECRET_KEY)]
        outcomes: list[str] = []

        def create(client) -> None:
            try:
                client.create_bucket(Bucket=name)
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])

        threads = [threading.Thread(target=create, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["BucketAlreadyExists", "ok"]


def test_racing_puts_leave_one_whole_body(compose):
    clients = [s3_client(compose.s3_endpoint(i)) for i in range(3)]
    bucket = f"puts-{uuid.uuid4().hex[:8]}"
    clients[0].create_bucket(Bucket=bucket)
    bodies = [bytes([i]) * (256 * 1024 + i) for i in range(6)]
    threads = [threading.Thread(target=clients[i % 3].put_object,
                                kwargs={"Bucket": bucket, "Key": "contested", "Body": body})
               for i, body in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = clients[1].get_object(Bucket=bucket, Key="contested")["Body"].read()
    assert got in bodies


def test_load_balancer_serves_every_operation(compose):
    lb = s3_client(compose.lb_endpoint)
    bucket = f"lb-{uuid.uuid4().hex[:8]}"
    lb.create_bucket(Bucket=bucket)
    for i in range(30):      # round-robin: every front-end takes some of these
        lb.put_object(Bucket=bucket, Key=f"o{i}", Body=str(i).encode())
    assert [o["Key"] for o in lb.list_objects_v2(Bucket=bucket)["Contents"]] == sorted(f"o{i}" for i in range(30))
    assert lb.get_object(Bucket=bucket, Key="o7")["Body"].read() == b"7"
    for i in range(30):
        lb.delete_object(Bucket=bucket, Key=f"o{i}")
    lb.delete_bucket(Bucket=bucket)


def test_an_early_error_to_expect_100_continue_leaves_the_next_request_whole(compose):
    """boto3 sends PUT bodies after `Expect: 100-continue`: an error before the body means it never
    sends one. HAProxy must not then read the client's next request as the missing body."""
    lb = s3_client(compose.lb_endpoint)
    bucket = f"cont-{uuid.uuid4().hex[:8]}"
    lb.create_bucket(Bucket=bucket)
    for i in range(3):
        with pytest.raises(ClientError) as err:
            lb.put_object(Bucket=f"{bucket}-missing", Key="k", Body=b"body")
        assert err.value.response["Error"]["Code"] == "NoSuchBucket"
        assert lb.put_object(Bucket=bucket, Key=f"k{i}", Body=b"body")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert lb.get_object(Bucket=bucket, Key="k2")["Body"].read() == b"body"
