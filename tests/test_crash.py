"""kill -9 of the metadata daemon during a burst of PutObjects: no acknowledged write is lost,
and the master and version keys still agree after the restart (architecture.md non-negotiables)."""
from __future__ import annotations

import asyncio
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from tests.cluster import ACCESS_KEY, SECRET_KEY
from tests.rpc_helpers import connect

pytestmark = pytest.mark.needs_disk     # kills and restarts the metadata daemon

WRITERS = 16
BUCKET = "crash"


def _burst(s3, versioned: bool, acked: list, failed: list, stop: threading.Event, w: int) -> None:
    i = 0
    while not stop.is_set():
        # Versioned: a few keys, so versions stack up; otherwise one key per write, so each ack is checkable.
        key = f"k{i % 4}-{w % 4}" if versioned else f"w{w:02d}-{i:05d}"
        body = f"writer {w} write {i}".encode()
        try:
            reply = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            acked.append((key, body, reply.get("VersionId")))
        except (ClientError, BotoCoreError) as exc:
            failed.append(exc)
            time.sleep(0.01)
        i += 1


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


async def _raw_bucket(cluster) -> list[tuple[str, dict]]:
    client = await connect(cluster)
    try:
        return [kv async for kv in client.create_read_stream(BUCKET)]
    finally:
        await client.close()


def _check_masters(entries: list[tuple[str, dict]]) -> int:
    """Every master equals its newest version key when it has versions; returns how many had versions."""
    masters = {k: v for k, v in entries if "\x00" not in k}
    newest: dict[str, tuple[str, dict]] = {}
    for raw_key, value in entries:
        if "\x00" in raw_key:
            key, vid = raw_key.split("\x00", 1)
            assert value["versionId"] == vid, raw_key
            newest.setdefault(key, (vid, value))          # versions sort newest first
    for key, (vid, value) in newest.items():
        assert masters.get(key) == value, f"master of {key!r} is not its newest version {vid!r}"
    return len(newest)


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_kill_metadata_during_put_burst_loses_no_acknowledged_write(fresh_cluster, versioned):
    c = fresh_cluster()
    s3 = boto3.client("s3", endpoint_url=c.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY,
                      config=BotoConfig(retries={"total_max_attempts": 1}, max_pool_connections=WRITERS))
    s3.create_bucket(Bucket=BUCKET)
    if versioned:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    acked: list = []
    failed: list = []
    stop = threading.Event()
    with ThreadPoolExecutor(WRITERS) as pool:
        jobs = [pool.submit(_burst, s3, versioned, acked, failed, stop, w) for w in range(WRITERS)]
        try:
            assert _wait_for(lambda: len(acked) >= 150)
            c.kill("metadata", signal.SIGKILL)
            assert _wait_for(lambda: len(failed) >= WRITERS)
        finally:
            stop.set()
            for job in jobs:
                job.result()
    assert all(getattr(e, "response", {}).get("Error", {}).get("Code") == "SlowDown"
               for e in failed if isinstance(e, ClientError))
    c.start_metadata()
    c.wait_healthy(timeout=30)

    for key, body, version_id in acked:
        args = {"VersionId": version_id} if versioned else {}
        assert s3.get_object(Bucket=BUCKET, Key=key, **args)["Body"].read() == body, (key, version_id)
    entries = asyncio.run(_raw_bucket(c))
    with_versions = _check_masters(entries)
    if versioned:
        assert with_versions == 16 and len(entries) - with_versions >= len(acked)
    else:
        assert with_versions == 0 and len(entries) >= len(acked)
    # The daemon and the front-end serve new writes after the restart.
    s3.put_object(Bucket=BUCKET, Key="after-restart", Body=b"fine")
    assert s3.get_object(Bucket=BUCKET, Key="after-restart")["Body"].read() == b"fine"
