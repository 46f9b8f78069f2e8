"""Bucket notifications to Redis (redis-server from its Debian package): both formats, and a Redis that
goes away and comes back."""
from __future__ import annotations

import json

import pytest

from tests.notify_script import check_records, configure, run_script
from tests.notify_servers import RedisServer, put_rules, queue_rule, wait_for

pytest.importorskip("redis", reason="the redis Python package (pyproject dependency) is not installed")


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def redis_cluster(fresh_cluster, redis_server):
    env = {}
    for name, fmt in (("NS", "namespace"), ("LOG", "access")):
        env.update({f"COFFER_NOTIFY_REDIS_{name}_ADDRESS": redis_server.address,
                    f"COFFER_NOTIFY_REDIS_{name}_KEY": f"events-{fmt}", f"COFFER_NOTIFY_REDIS_{name}_FORMAT": fmt})
    return fresh_cluster(env=env)


def _access_records(r) -> list[dict]:
    return [rec for raw in r.lrange("events-access", 0, -1) for row in json.loads(raw) for rec in row["Event"]]


def test_access_format_appends_every_event(redis_cluster, redis_server):
    s3, r = redis_cluster.client(), redis_server.client()
    s3.create_bucket(Bucket="rlog")
    configure(s3, "rlog", "arn:minio:sqs::LOG:redis")
    expected, marker = run_script(s3, "rlog")
    records = wait_for(lambda: len(_access_records(r)) >= len(expected) and _access_records(r))
    check_records(records, expected, "rlog", marker)
    row = json.loads(r.lrange("events-access", 0, 0)[0])[0]
    assert row["EventTime"] == row["Event"][0]["eventTime"]


def test_namespace_format_mirrors_the_bucket(redis_cluster, redis_server):
    s3, r = redis_cluster.client(), redis_server.client()
    s3.create_bucket(Bucket="rns")
    configure(s3, "rns", "arn:minio:sqs::NS:redis")
    run_script(s3, "rns")
    s3.put_object(Bucket="rns", Key="docs/last", Body=b"x")   # the last event: once it is there, all are

    def mirror():
        entries = r.hgetall("events-namespace")
        return entries if b"rns/docs/last" in entries else None
    entries = wait_for(mirror)
    assert sorted(entries) == [b"rns/app.log", b"rns/docs/a b.txt", b"rns/docs/last"]
    latest = json.loads(entries[b"rns/docs/a b.txt"])["Records"][0]
    assert latest["eventName"] == "ObjectTagging:Delete" and latest["s3"]["object"]["size"] == 11


def test_redis_down_then_back(redis_cluster, redis_server):
    s3, r = redis_cluster.client(), redis_server.client()
    s3.create_bucket(Bucket="rdown")
    put_rules(s3, "rdown", queue_rule("arn:minio:sqs::LOG:redis", ["s3:ObjectCreated:*"]))
    redis_server.stop()
    for i in range(30):
        s3.put_object(Bucket="rdown", Key=f"k{i % 3}", Body=b"x" * i)     # acknowledged while Redis is away
    redis_server.start()
    records = wait_for(lambda: len(_access_records(r)) >= 30 and _access_records(r), 60)
    for k in range(3):
        sizes = [rec["s3"]["object"]["size"] for rec in records if rec["s3"]["object"]["key"] == f"k{k}"]
        assert sorted(set(sizes)) == list(range(k, 30, 3))
        first_seen = list(dict.fromkeys(sizes))
        assert first_seen == sorted(first_seen)        # per-key order
