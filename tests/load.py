"""A mixed PUT/GET load that records every acknowledged write, for crash tests and the soak run."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import random
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from tests.cluster import REPO_ROOT, Cluster, s3_client


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


def coffer(cluster: Cluster, *args: str) -> dict:
    """Run a `coffer` maintenance command against the cluster; its JSON report."""
    out = subprocess.run([sys.executable, "-m", "services.cli", *args], env=cluster.env, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300)
    if out.returncode not in (0, 1):
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout)


def _restart(cluster: Cluster, name: str) -> None:
    {"metadata": cluster.start_metadata, "data": cluster.start_data, "s3-0": cluster.start_frontend}[name]()
    cluster.wait_healthy(0, timeout=30)


def crash_rounds(cluster: Cluster, rounds: int, bucket: str = "crash") -> dict:
    """kill -9 the daemons and the front-end in turn under load; then check, fsck and sweep."""
    s3 = cluster.client()
    s3.create_bucket(Bucket=bucket)
    load = Load(cluster.endpoint, bucket)
    with load:
        for i in range(rounds):
            time.sleep(1.0)
            victim = ("metadata", "data", "s3-0")[i % 3]
            cluster.kill(victim)
            time.sleep(0.3)
            _restart(cluster, victim)
    lost = []
    for key, digest in load.acked.items():
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError:
            body = None
        if body is None or hashlib.sha256(body).hexdigest() != digest:
            lost.append(key)
    fsck = coffer(cluster, "fsck")
    swept = coffer(cluster, "gc", "--sweep", "--grace", "0")
    return {"rounds": rounds, "acked": len(load.acked), "client_errors": load.errors, "lost": lost,
            "corrupt": load.corrupt, "fsck": fsck, "gc": swept, "fsck_after_gc": coffer(cluster, "fsck")}
