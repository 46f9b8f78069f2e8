"""Front-ends given every metadata daemon (METADATA_HOSTS) of one PostgreSQL database: fail-over when
a daemon dies, a database restart under load, and bucket changes seen everywhere before the 200.

The racing PUTs, bucket-creation race, multipart completions and read-after-write across daemons are
in tests/test_postgres.py (front-end i on daemon i); here every front-end spreads over both.
"""
from __future__ import annotations

import os
import threading
import time

import httpx
import pytest
from botocore.exceptions import BotoCoreError, ClientError

from shared.config import load_config
from tests.cluster import Cluster, free_port, s3_client
from tests.compose import REPO, LocalCompose

pytestmark = pytest.mark.needs_disk     # PostgreSQL is not the memory backend


@pytest.fixture
def spread(fresh_cluster, postgres) -> Cluster:
    """Two metadata daemons on one database; two front-ends, each given both daemons."""
    return fresh_cluster(frontends=2, dsn=postgres.database(), metadata_daemons=2, failover=True)


class Writers:
    """8 threads PUTting fresh keys to a versioned bucket through both front-ends, recording every
    acknowledged (key, version id, body) and every final error's HTTP status."""

    def __init__(self, cluster: Cluster, bucket: str, attempts: int, threads: int = 8) -> None:
        self.cluster, self.bucket, self.attempts = cluster, bucket, attempts
        self.acked: list[tuple[str, str, bytes]] = []
        self.statuses: list[int | str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(threads)]

    def __enter__(self) -> "Writers":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _run(self, w: int) -> None:
        s3 = self.cluster.client(i=w % 2, retries={"max_attempts": self.attempts, "mode": "standard"},
                                 connect_timeout=2, read_timeout=20)
        n = 0
        while not self._stop.is_set():
            key, body = f"w{w}/{n}", f"writer {w} put {n}".encode()
            n += 1
            try:
                vid = s3.put_object(Bucket=self.bucket, Key=key, Body=body)["VersionId"]
                self.acked.append((key, vid, body))
            except ClientError as exc:
                self.statuses.append(exc.response["ResponseMetadata"]["HTTPStatusCode"])
                time.sleep(0.05)
            except BotoCoreError as exc:
                self.statuses.append(type(exc).__name__)
                time.sleep(0.05)

    def wait_acked(self, count: int, timeout: float = 60) -> None:
        """Until `count` writes are acknowledged in all (bounded)."""
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert time.monotonic() < deadline, f"only {len(self.acked)} writes acknowledged, {count} awaited"
            time.sleep(0.05)


def versioned_bucket(cluster: Cluster, name: str) -> None:
    s3 = cluster.client()
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def assert_all_read_back(cluster: Cluster, bucket: str, acked: list[tuple[str, str, bytes]]) -> None:
    """Every acknowledged version is there with its body, through either front-end."""
    clients = [cluster.client(i=i, retries={"max_attempts": 5, "mode": "standard"}) for i in (0, 1)]
    for n, (key, vid, body) in enumerate(acked):
        got = clients[n % 2].get_object(Bucket=bucket, Key=key, VersionId=vid)["Body"].read()
        assert got == body, (key, vid)


def healthy(cluster: Cluster, i: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{cluster.s3_ports[i]}/_/health", timeout=2).status_code == 200


def test_front_ends_fail_over_when_a_metadata_daemon_is_killed(spread: Cluster) -> None:
    """kill -9 of one daemon under 8 writers: the front-ends go on through the other, SDK retries
    absorb the 503s of the writes lost in flight, and every acknowledged write reads back."""
    versioned_bucket(spread, "failover")
    with Writers(spread, "failover", attempts=4) as writers:
        writers.wait_acked(40)
        spread.kill("metadata")
        after = len(writers.acked)
        writers.wait_acked(after + 80)
        assert healthy(spread, 0) and healthy(spread, 1)
    assert writers.statuses == []           # no client saw a final error: each retry found the other daemon
    assert_all_read_back(spread, "failover", writers.acked)
    # The killed daemon comes back and takes calls again: with daemon 2 gone, all goes through it.
    spread.start_metadata(0)
    spread.kill("metadata-1")
    s3 = spread.client(i=1, retries={"max_attempts": 4, "mode": "standard"})
    s3.put_object(Bucket="failover", Key="after-both", Body=b"through daemon 1 again")
    assert spread.client(i=0).get_object(Bucket="failover", Key="after-both")["Body"].read() == b"through daemon 1 again"


def test_a_postgres_restart_under_load(spread: Cluster, postgres) -> None:
    """While PostgreSQL is down the writers get 503s (and nothing else); nothing acknowledged is lost;
    once it is back, writes succeed again with no daemon restarted."""
    versioned_bucket(spread, "bounce")
    with Writers(spread, "bounce", attempts=1) as writers:
        writers.wait_acked(40)
        postgres.stop()
        try:
            deadline = time.monotonic() + 30
            while len(writers.statuses) < 8:
                assert time.monotonic() < deadline, "no write failed while PostgreSQL was down"
                time.sleep(0.05)
        finally:
            postgres.start_again()
        resumed = len(writers.acked)
        writers.wait_acked(resumed + 40)
    assert set(writers.statuses) == {503}, writers.statuses
    assert_all_read_back(spread, "bounce", writers.acked)
    assert spread.procs["metadata"].poll() is None and spread.procs["metadata-1"].poll() is None


def test_a_bucket_change_is_seen_by_every_front_end_before_the_200(spread: Cluster) -> None:
    """Both front-ends are connected to both daemons, so whichever daemon makes the change has
    invalidated both front-ends' caches before it answers: no wait needed."""
    changer, other = spread.client(i=0), spread.client(i=1)
    changer.create_bucket(Bucket="seen")
    for i in range(10):
        status = "Enabled" if i % 2 == 0 else "Suspended"
        other.put_object(Bucket="seen", Key="warm", Body=b"caches the bucket's attributes")
        changer.put_bucket_versioning(Bucket="seen", VersioningConfiguration={"Status": status})
        vid = other.put_object(Bucket="seen", Key="k", Body=b"v").get("VersionId", "null")
        assert (vid != "null") == (status == "Enabled"), (i, status, vid)


def test_a_daemon_in_the_list_that_never_answers_is_passed_over(fresh_cluster) -> None:
    """METADATA_HOSTS naming a dead address and the live daemon (LevelDB, one daemon): the front-end
    is healthy and every call goes to the live one, none waits for the dead one."""
    dead = free_port()
    cluster = fresh_cluster(start=False)
    cluster.env["METADATA_HOSTS"] = f"127.0.0.1:{dead},127.0.0.1:{cluster.md_port}"
    cluster.start()
    s3 = cluster.client()
    assert healthy(cluster, 0)
    s3.create_bucket(Bucket="passed-over")
    for i in range(20):
        s3.put_object(Bucket="passed-over", Key=f"k{i}", Body=b"x")
    assert s3.list_objects_v2(Bucket="passed-over")["KeyCount"] == 20


def test_metadata_hosts_are_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("METADATA_PORT", "7000")
    monkeypatch.setenv("METADATA_HOSTS", "md-1:9990, md-2,md-1:9990")
    assert load_config().metadata_daemons == (("md-1", 9990), ("md-2", 7000))
    monkeypatch.delenv("METADATA_HOSTS")
    monkeypatch.setenv("METADATA_HOST", "md-9")
    assert load_config().metadata_daemons == (("md-9", 7000),)
    monkeypatch.setenv("METADATA_HOSTS", "md-1:port")
    with pytest.raises(SystemExit, match="METADATA_HOSTS: 'md-1:port' is not host:port"):
        load_config()


@pytest.mark.skipif(not os.path.exists("/usr/sbin/haproxy"), reason="haproxy (Debian) is not installed")
def test_the_postgres_compose_file_runs_and_outlives_a_metadata_daemon(tmp_path, postgres) -> None:
    """docker-compose.postgres.yml as local processes (tests/compose.py): through HAProxy, a write
    and its read work, and go on working when either metadata daemon is killed."""
    compose = LocalCompose(tmp_path, scale=2, compose_file=REPO / "docker-compose.postgres.yml",
                           postgres=postgres)
    try:
        compose.up()
        lb = s3_client(compose.lb_endpoint, retries={"max_attempts": 4, "mode": "standard"})
        lb.create_bucket(Bucket="composed")
        lb.put_bucket_versioning(Bucket="composed", VersioningConfiguration={"Status": "Enabled"})
        first = lb.put_object(Bucket="composed", Key="k", Body=b"before")["VersionId"]
        compose.kill("metadata-1")
        second = lb.put_object(Bucket="composed", Key="k", Body=b"one daemon left")["VersionId"]
        versions = lb.list_object_versions(Bucket="composed")["Versions"]
        assert [v["VersionId"] for v in versions] == [second, first]
        compose.start_service("metadata-1")
        compose.kill("metadata-2")
        assert lb.get_object(Bucket="composed", Key="k", VersionId=first)["Body"].read() == b"before"
        assert lb.get_object(Bucket="composed", Key="k")["Body"].read() == b"one daemon left"
    finally:
        compose.down()
