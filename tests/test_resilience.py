"""Crashes and restarts under load: nothing acknowledged is lost, fsck finds nothing missing, gc reclaims orphans."""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.cluster import REPO_ROOT, s3_client


class Load:
    """8 clients that PUT fresh keys and GET acknowledged ones, recording what was acknowledged."""

    def __init__(self, endpoint: str, bucket: str, clients: int = 8) -> None:
        self.endpoint, self.bucket = endpoint, bucket
        self.acked: dict[str, str] = {}
        self.corrupt: list[str] = []
        self.errors = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]

    def __enter__(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def _run(self, cid: int) -> None:
        s3 = s3_client(self.endpoint, connect_timeout=2, read_timeout=10)
        rng = random.Random(cid)
        n = 0
        while not self._stop.is_set():
            try:
                if self.acked and rng.random() < 0.4:
                    key = rng.choice(list(self.acked))
                    body = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                    if hashlib.sha256(body).hexdigest() != self.acked[key]:
                        self.corrupt.append(key)
                else:
                    key, n = f"c{cid}/{n}", n + 1
                    body = os.urandom(rng.randint(1, 96 * 1024))
                    s3.put_object(Bucket=self.bucket, Key=key, Body=body)
                    with self._lock:
                        self.acked[key] = hashlib.sha256(body).hexdigest()
            except (ClientError, BotoCoreError):
                self.errors += 1
                time.sleep(0.05)


def coffer(cluster, *args: str) -> dict:
    env = {**cluster.env, "METADATA_PORT": str(cluster.md_port), "DATA_PORT": str(cluster.data_port)}
    out = subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def restart(cluster, name: str) -> None:
    {"metadata": cluster.start_metadata, "data": cluster.start_data,
     "s3-0": cluster.start_frontend}[name]()
    cluster.wait_healthy(0, timeout=30)


@pytest.mark.timeout(900)
def test_kill_minus_9_under_load_loses_nothing(fresh_cluster):
    cluster = fresh_cluster()
    s3 = cluster.client()
    s3.create_bucket(Bucket="crash")
    load = Load(cluster.endpoint, "crash")
    with load:
        for round_ in range(10):
            time.sleep(1.0)
            victim = ("metadata", "data", "s3-0")[round_ % 3]
            cluster.kill(victim)
            time.sleep(0.3)
            restart(cluster, victim)
    assert load.corrupt == []
    assert len(load.acked) > 50
    for key, digest in load.acked.items():
        body = s3.get_object(Bucket="crash", Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == digest, key
    report = coffer(cluster, "fsck")
    assert report["ok"] and report["missing"] == [] and report["wrong_size"] == []
    swept = coffer(cluster, "gc", "--sweep", "--grace", "0")
    assert swept["orphans"] == report["orphans"]
    assert coffer(cluster, "fsck")["orphans"] == 0


def test_boto3_retries_carry_a_client_through_a_metadata_restart(fresh_cluster):
    cluster = fresh_cluster()
    s3 = cluster.client(retries={"max_attempts": 10, "mode": "standard"})
    s3.create_bucket(Bucket="retry")
    cluster.kill("metadata")
    threading.Timer(2.0, cluster.start_metadata).start()
    started = time.time()
    s3.put_object(Bucket="retry", Key="k", Body=b"survived")       # 503s are retried until the daemon is back
    assert s3.get_object(Bucket="retry", Key="k")["Body"].read() == b"survived"
    assert time.time() - started < 40


def test_outage_answers_503_not_500_nor_a_hang(fresh_cluster):
    cluster = fresh_cluster()
    s3 = cluster.client()
    s3.create_bucket(Bucket="outage")
    cluster.kill("data")
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket="outage", Key="k", Body=b"x" * 10)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert "Retry-After" in {k.title() for k in err.value.response["ResponseMetadata"]["HTTPHeaders"]}
    cluster.kill("metadata")
    started = time.time()
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket="outage", Key="k")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert time.time() - started < 15


def test_second_metadata_daemon_on_one_directory_refuses_to_start(fresh_cluster):
    cluster = fresh_cluster()
    env = {**cluster.env, "METADATA_PORT": str(cluster.md_port + 1 if cluster.md_port < 65000 else 1025)}
    out = subprocess.run([sys.executable, "-m", "services.cli", "mdserver"], env=env, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "in use by another metadata daemon" in out.stderr + out.stdout
