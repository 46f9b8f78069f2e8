"""Every acknowledged PUT survives kill -9 of both daemons and their restart."""
from __future__ import annotations

import hashlib
import random

import pytest

from tests.expect import s3_error

pytestmark = pytest.mark.needs_disk     # kills and restarts both daemons

def test_acknowledged_objects_survive_kill_9_of_both_daemons(fresh_cluster):
    c = fresh_cluster()
    s3 = c.client()
    s3.create_bucket(Bucket="durable")
    rng = random.Random(1234)
    acked: dict[str, str] = {}
    for i in range(200):
        data = rng.randbytes(rng.randint(0, 64 * 1024))
        s3.put_object(Bucket="durable", Key=f"obj/{i:03d}", Body=data)
        acked[f"obj/{i:03d}"] = hashlib.sha256(data).hexdigest()   # recorded only once the PUT answered 200
    s3.delete_object(Bucket="durable", Key="obj/000")
    deleted = acked.pop("obj/000")
    assert deleted

    c.kill("metadata")
    c.kill("data")
    c.start_metadata()
    c.start_data()
    c.wait_healthy()

    for key, digest in acked.items():
        body = s3.get_object(Bucket="durable", Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == digest, key
    assert s3_error(s3.get_object, Bucket="durable", Key="obj/000") == (404, "NoSuchKey")
    assert "durable" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="durable")
              for o in page.get("Contents", [])]
    assert listed == sorted(acked)
