"""The lifecycle expiry worker against real clusters with a short day (COFFER_LIFECYCLE_DAY_SECONDS):
objects, noncurrent versions, delete markers and uploads expire when due and not before; Object
Lock is honoured; the lease keeps to one pass at a time; a pass cut short resumes;
`coffer lifecycle run` reports what it did."""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from s3front.lifecycle.worker import Worker, pass_interval
from shared import constants as C
from shared.config import Config
from shared.metadata_client import MetadataClient
from tests.cluster import REPO_ROOT, SECRET, Cluster
from tests.rpc_helpers import connect

DAY = 2                                     # seconds: every wait below is a few of these
FAST = {"COFFER_LIFECYCLE_DAY_SECONDS": str(DAY), "COFFER_LIFECYCLE_LEASE_SECONDS": "3"}
PATIENCE = 30.0                             # a bounded wait for the worker, never a speed claim


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("lifecycle"), env=FAST).start()
    yield c
    c.stop()


def wait_for(check, timeout: float = PATIENCE) -> float:
    """Poll `check()` until true; the time it first held."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return time.time()
        time.sleep(0.2)
    raise AssertionError("the lifecycle worker never got there")


def rules(s3, bucket: str, *rules: dict) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


def keys(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def versions(s3, bucket: str) -> tuple[list[tuple[str, bool]], list[str]]:
    """([(key, is latest)] of the versions, [keys] of the delete markers)."""
    page = s3.list_object_versions(Bucket=bucket)
    return ([(v["Key"], v["IsLatest"]) for v in page.get("Versions", [])],
            [m["Key"] for m in page.get("DeleteMarkers", [])])


def new_bucket(s3, name: str, versioned: bool = False, **create) -> str:
    s3.create_bucket(Bucket=name, **create)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.mark.parametrize("settings, interval", [
    ({}, 3600.0),                                       # real days: about hourly
    ({"lifecycle_interval": 600.0}, 600.0),
    ({"lifecycle_day": 10}, 2.5),                       # s3-tests' lc_debug_interval: every few seconds
    ({"lifecycle_day": 1}, 1.0), ({"lifecycle_day": 100}, 5.0),
])
def test_the_pace(settings, interval):
    assert pass_interval(Config(**settings)) == interval


def test_ticks_fall_just_after_day_boundaries():
    short = Worker(None, None, Config(lifecycle_day=10))
    slack = C.LIFECYCLE_BOUNDARY_SLACK_S
    assert short.next_tick(1000.0) == pytest.approx(slack)
    assert short.next_tick(1003.0) == 2.5
    assert short.next_tick(1009.0) == pytest.approx(1 + slack)
    assert Worker(None, None, Config()).next_tick(1009.0) == C.LIFECYCLE_TICK_S


def test_current_versions_expire_when_due_and_not_before(fast):
    s3 = fast.client()
    bucket = new_bucket(s3, "lc-current")
    rules(s3, bucket, {"ID": "r", "Filter": {"Prefix": "exp/"}, "Status": "Enabled", "Expiration": {"Days": 3}})
    start = time.time()
    for key in ("exp/a", "exp/b", "keep/c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # Due 3 days after creation, rounded up to the next day boundary: never before 3 days.
    time.sleep(max(0.0, start + 2 * DAY - time.time()))
    assert sorted(keys(s3, bucket)) == ["exp/a", "exp/b", "keep/c"]
    gone = wait_for(lambda: keys(s3, bucket) == ["keep/c"])
    assert gone >= start + 3 * DAY


def test_versioned_expiry_stacks_a_delete_marker(fast):
    s3 = fast.client()
    bucket = new_bucket(s3, "lc-versioned", versioned=True)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    rules(s3, bucket, {"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}})
    wait_for(lambda: versions(s3, bucket)[1] == ["k"])
    time.sleep(2 * DAY)       # and only one: a delete marker is not expired again
    assert versions(s3, bucket) == ([("k", False)], ["k"])


def test_noncurrent_versions_go_after_their_days_keeping_the_newer_ones(fast):
    s3 = fast.client()
    bucket = new_bucket(s3, "lc-noncurrent", versioned=True)
    for i in range(5):
        s3.put_object(Bucket=bucket, Key="k", Body=f"v{i}".encode())
    s3.put_object(Bucket=bucket, Key="other", Body=b"x")
    rules(s3, bucket, {"ID": "r", "Filter": {"Prefix": "k"}, "Status": "Enabled",
                       "NoncurrentVersionExpiration": {"NoncurrentDays": 2, "NewerNoncurrentVersions": 1}})
    wait_for(lambda: len(versions(s3, bucket)[0]) == 3)
    left = s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]
    assert [s3.get_object(Bucket=bucket, Key="k", VersionId=v["VersionId"])["Body"].read() for v in left] == \
        [b"v4", b"v3"]       # the current one and the one newer noncurrent version kept


def test_expired_delete_markers_are_removed(fast):
    s3 = fast.client()
    bucket = new_bucket(s3, "lc-markers", versioned=True)
    for key in ("alone", "covered"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_object(Bucket=bucket, Key="bare")                  # a marker with nothing beneath
    rules(s3, bucket, {"ID": "dm", "Filter": {"Prefix": "alone"}, "Status": "Enabled",
                       "Expiration": {"ExpiredObjectDeleteMarker": True},
                       "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
          {"ID": "bare", "Filter": {"Prefix": "bare"}, "Status": "Enabled",
           "Expiration": {"ExpiredObjectDeleteMarker": True}})
    wait_for(lambda: versions(s3, bucket) == ([("covered", False)], ["covered"]))


def test_stale_uploads_are_aborted(fast):
    s3 = fast.client()
    bucket = new_bucket(s3, "lc-uploads")
    stale = s3.create_multipart_upload(Bucket=bucket, Key="tmp/a")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="tmp/a", UploadId=stale, PartNumber=1, Body=b"p" * 1024)
    s3.create_multipart_upload(Bucket=bucket, Key="keep/b")
    rules(s3, bucket, {"ID": "abort", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                       "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
    wait_for(lambda: [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == ["keep/b"])


def test_locked_versions_are_not_expired(fast):
    s3 = fast.client()
    bucket = new_bucket(s3, "lc-locked", ObjectLockEnabledForBucket=True)
    until = datetime.now(timezone.utc) + timedelta(hours=1)
    s3.put_object(Bucket=bucket, Key="k", Body=b"locked", ObjectLockMode="GOVERNANCE",
                  ObjectLockRetainUntilDate=until, ChecksumAlgorithm="CRC32")
    s3.put_object(Bucket=bucket, Key="k", Body=b"free", ChecksumAlgorithm="CRC32")
    s3.put_object(Bucket=bucket, Key="k", Body=b"current", ChecksumAlgorithm="CRC32")
    rules(s3, bucket, {"ID": "r", "Filter": {}, "Status": "Enabled",
                       "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})
    wait_for(lambda: len(versions(s3, bucket)[0]) == 2)           # "free" went ...
    time.sleep(2 * DAY)
    left = s3.list_object_versions(Bucket=bucket)["Versions"]     # ... "locked" stays, pass after pass
    assert [s3.get_object(Bucket=bucket, Key="k", VersionId=v["VersionId"])["Body"].read() for v in left] == \
        [b"current", b"locked"]
    report = lifecycle_run(fast, "--bucket", bucket)
    assert report["lockedSkipped"] == 1 and report["noncurrentDeleted"] == 0


def test_with_real_days_dated_rules_expire_and_day_counts_wait(fresh_cluster):
    """No COFFER_LIFECYCLE_DAY_SECONDS: passes follow COFFER_LIFECYCLE_INTERVAL, days are days."""
    c = fresh_cluster(env={"COFFER_LIFECYCLE_INTERVAL": "1"})
    s3 = c.client()
    bucket = new_bucket(s3, "lc-real")
    rules(s3, bucket, {"ID": "past", "Filter": {"Prefix": "past/"}, "Status": "Enabled",
                       "Expiration": {"Date": datetime(2015, 1, 1, tzinfo=timezone.utc)}},
          {"ID": "days", "Filter": {"Prefix": "days/"}, "Status": "Enabled", "Expiration": {"Days": 1}})
    for key in ("past/a", "days/b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    wait_for(lambda: keys(s3, bucket) == ["days/b"])
    time.sleep(3)                                   # passes go on; a day has not gone by
    assert keys(s3, bucket) == ["days/b"]
    s3.put_object(Bucket=bucket, Key="past/c", Body=b"x")
    wait_for(lambda: keys(s3, bucket) == ["days/b"])


# -- coffer lifecycle run, and resuming -------------------------------------------------------------
def lifecycle_run(c: Cluster, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "services.cli", "lifecycle", "run", *args], env=c.env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def idle(fresh_cluster):
    """A cluster whose front-end runs no worker: passes happen only when a test runs one."""
    return fresh_cluster(env={**FAST, "COFFER_LIFECYCLE_WORKER": "0", "COFFER_LIFECYCLE_DAY_SECONDS": "1"})


def test_lifecycle_run_prints_what_it_did(idle):
    s3 = idle.client()
    bucket = new_bucket(s3, "lc-cli")
    for key in ("old/a", "old/b", "new/c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    rules(s3, bucket, {"ID": "olds", "Filter": {"Prefix": "old/"}, "Status": "Enabled", "Expiration": {"Days": 1}})
    time.sleep(1)
    assert sorted(keys(s3, bucket)) == ["new/c", "old/a", "old/b"]      # no worker here: nothing happened alone
    time.sleep(1.2)
    report = lifecycle_run(idle)
    assert report["expired"] == 2 and report["buckets"] == 1 and report["errors"] == 0
    assert report["actions"] == [{"bucket": bucket, "key": k, "action": "expire-current", "rule": "olds"}
                                 for k in ("old/a", "old/b")]
    assert keys(s3, bucket) == ["new/c"]
    assert lifecycle_run(idle, "--bucket", bucket)["expired"] == 0


def test_a_pass_killed_midway_resumes_from_its_cursor(idle):
    s3 = idle.client()
    bucket = new_bucket(s3, "lc-resume")
    names = [f"k{i:02d}" for i in range(24)]
    for key in names:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    rules(s3, bucket, {"ID": "all", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}})
    time.sleep(2.2)
    slow = subprocess.Popen([sys.executable, "-m", "services.cli", "lifecycle", "run", "--page-size", "2",
                             "--pause", "0.4"], env=idle.env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(keys(s3, bucket)) <= 18)
        slow.send_signal(signal.SIGKILL)
    finally:
        slow.wait(10)
    left = keys(s3, bucket)
    assert 0 < len(left) < len(names)
    report = lifecycle_run(idle)        # waits for the dead holder's lease to lapse, then resumes
    assert report["expired"] == len(left)
    resumed_after = report["resumed"][bucket]
    assert resumed_after in names and resumed_after < left[0]
    assert keys(s3, bucket) == []


def test_the_lease_has_one_holder(fast):
    s3 = fast.client()
    bucket = new_bucket(s3, "lc-listed")

    async def scenario() -> None:
        client = await connect(fast)
        try:
            name = "test-lease"
            first = await client.take_lease(name, "a", 1.5, {"cursor": 1})
            assert first.held and first.holder == "a"
            other = await client.take_lease(name, "b", 1.5, {"cursor": 99})
            assert not other.held and other.holder == "a" and other.state == {"cursor": 1}
            assert (await client.take_lease(name, "a", 1.5)).held           # renewing keeps the state
            await asyncio.sleep(1.7)                                        # "a" stalls past its lease
            taken = await client.take_lease(name, "b", 1.5, {"cursor": 2})
            assert taken.held and taken.holder == "b" and taken.state == {"cursor": 2}
            late = await client.take_lease(name, "a", 1.5, {"cursor": 1})   # a stale holder cannot write
            assert not late.held and late.state == {"cursor": 2}
            await client.release_lease(name, "a")                           # nor release another's lease
            assert not (await client.take_lease(name, "a", 1.5)).held
            await client.release_lease(name, "b", {"cursor": 3})
            freed = await client.take_lease(name, "a", 1.5)
            assert freed.held and freed.state == {"cursor": 3}
            assert bucket not in await client.buckets_with_config("lifecycle")
            rules(s3, bucket, {"ID": "r", "Filter": {"Prefix": "none/"}, "Status": "Enabled",
                               "Expiration": {"Days": 9}})
            assert bucket in await client.buckets_with_config("lifecycle")
            assert bucket not in await client.buckets_with_config("tagging")
            s3.delete_bucket_lifecycle(Bucket=bucket)
            assert bucket not in await client.buckets_with_config("lifecycle")
        finally:
            await client.close()
    asyncio.run(scenario())


@pytest.mark.needs_disk
def test_the_lease_holds_across_metadata_daemons_on_postgres(fresh_cluster, postgres):
    c = fresh_cluster(dsn=postgres.database(), metadata_daemons=2, frontends=1,
                      env={"COFFER_LIFECYCLE_WORKER": "0"})

    async def scenario() -> None:
        clients = [MetadataClient("127.0.0.1", port, SECRET) for port in c.md_ports]
        for client in clients:
            await client.start()
            assert await client.wait_ready(10)
        try:
            assert (await clients[0].take_lease("pg", "a", 30, {"n": 1})).held
            other = await clients[1].take_lease("pg", "b", 30)
            assert not other.held and other.holder == "a" and other.state == {"n": 1}
            await clients[0].release_lease("pg", "a")
            assert (await clients[1].take_lease("pg", "b", 30)).held
        finally:
            for client in clients:
                await client.close()
    asyncio.run(scenario())


def test_two_frontends_never_pass_at_once_and_one_takes_over(fresh_cluster):
    c = fresh_cluster(frontends=2, env={**FAST, "COFFER_LIFECYCLE_DAY_SECONDS": "1"})
    s3 = c.client()
    bucket = new_bucket(s3, "lc-two")
    rules(s3, bucket, {"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}})
    for round_ in range(2):
        for i in range(20):
            s3.put_object(Bucket=bucket, Key=f"r{round_}/{i:02d}", Body=b"x")
        wait_for(lambda: keys(s3, bucket) == [])
    passes = sorted(_passes(c, "s3-0") + _passes(c, "s3-1"))
    assert len(passes) >= 2
    for (start, end, holder), (next_start, _, next_holder) in zip(passes, passes[1:]):
        assert end <= next_start or holder == next_holder, "two front-ends passed at once"
    # The front-end that passed last dies mid-life: the other one carries on alone.
    last = "s3-0" if passes[-1] in _passes(c, "s3-0") else "s3-1"
    c.kill(last)
    alive = c.client(i=1 if last == "s3-0" else 0)
    for i in range(5):
        alive.put_object(Bucket=bucket, Key=f"after/{i}", Body=b"x")
    wait_for(lambda: keys(alive, bucket) == [], timeout=C.LIFECYCLE_TICK_S + 20)


def _passes(c: Cluster, name: str) -> list[tuple[float, float, str]]:
    """(started, ended, holder) of each busy pass a front-end logged."""
    out = []
    for line in c.logs(name).splitlines():
        if '"lifecycle pass"' in line:
            doc = json.loads(line)
            out.append((doc["started"], doc["ended"], doc["holder"]))
    return out
