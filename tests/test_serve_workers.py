"""`coffer serve --workers N`: N front-ends share the S3 port (SO_REUSEPORT); the kernel spreads new
connections over them, and one that dies is restarted while the others keep serving."""
from __future__ import annotations

import os
import signal
import time

import httpx
import psutil
import pytest

from tests.serve import Serve

pytestmark = pytest.mark.needs_disk        # runs `coffer serve` with its files in a temporary directory


def wait_frontends(serve: Serve, count: int, timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = serve.frontends()
        if len(pids) == count:
            return pids
        time.sleep(0.05)
    raise TimeoutError(f"{serve.frontends()} front-ends, not {count}: {serve.logs()[-2000:]}")


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@pytest.fixture
def two_workers(tmp_path):
    serve = Serve(tmp_path / "serve", ("--workers", "2"))
    try:
        serve.wait_healthy()
        yield serve
    finally:
        serve.stop()


def test_two_workers_share_the_port(two_workers):
    serve = two_workers
    pids = wait_frontends(serve, 2)
    s3 = serve.client()
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="k", Body=b"one store behind both")
    before = {pid: cpu_seconds(pid) for pid in pids}
    for _ in range(300):                    # a new connection each: each is the kernel's to place
        with httpx.Client() as fresh:
            assert fresh.get(f"{serve.endpoint}/_/health").status_code == 200
    used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
    assert all(seconds > 0.02 for seconds in used.values()), used      # both answered their share
    assert s3.get_object(Bucket="shared", Key="k")["Body"].read() == b"one store behind both"


def test_a_worker_that_dies_is_replaced_while_the_other_serves(two_workers):
    serve = two_workers
    victim, survivor = wait_frontends(serve, 2)
    s3 = serve.client()
    s3.create_bucket(Bucket="steady")
    os.kill(victim, signal.SIGKILL)
    for i in range(30):                     # boto3 retries a connection the dying worker refused
        s3.put_object(Bucket="steady", Key=f"k{i}", Body=b"%d" % i)
    pids = wait_frontends(serve, 2)
    assert survivor in pids and victim not in pids
    assert [s3.get_object(Bucket="steady", Key=f"k{i}")["Body"].read() for i in range(30)] == \
        [b"%d" % i for i in range(30)]


def test_workers_out_of_range_are_refused(tmp_path):
    serve = Serve(tmp_path / "bad", ("--workers", "0"))
    assert serve.proc.wait(30) != 0
    assert "--workers (COFFER_WORKERS) must be from 1 to 64, not 0" in serve.logs()
