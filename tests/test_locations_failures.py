"""Data locations failing, and their maintenance: health per location, a remote that is down or
never answers, `coffer locations`, fsck and gc --sweep per location, bad locationConfig.json files,
and memory through a remote location. Real endpoints throughout (tests/location_cluster.py).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys

import httpx
import orjson
import pytest

from tests.cluster import REPO_ROOT, SECRET, SECRET_KEY, free_port, s3_client
from tests.expect import s3_error
from tests.location_cluster import HEALTHY, MOTO_SECRET, eventually, lc, s3  # noqa: F401 (lc, s3: fixtures)
from tests.remotes import PeakRss

MIB = 2**20
_names = itertools.count()
pytestmark = pytest.mark.needs_disk     # restarts a remote and looks at what it kept


def new_bucket(s3, location: str) -> str:
    name = f"fail-{os.getpid()}-{next(_names)}"
    kwargs = {} if location == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": location}}
    s3.create_bucket(Bucket=name, **kwargs)
    return name


def coffer(lc, *args: str) -> tuple[int, object, str]:
    """`coffer <args>` against the cluster: exit code, the JSON it printed, its stderr."""
    proc = subprocess.run([sys.executable, "-m", "services.cli", *args], env=lc.cluster.env, cwd=REPO_ROOT,
                          capture_output=True, timeout=120)
    out = proc.stdout.decode()
    return proc.returncode, orjson.loads(out) if out.strip() else None, proc.stderr.decode()


def health(lc) -> dict:
    return httpx.get(f"{lc.cluster.endpoint}/_/health", timeout=5).json()


def states(lc) -> dict[str, str]:
    return {name: h["state"] for name, h in health(lc)["locations"].items()}


# -- health ------------------------------------------------------------------------------------

def test_health_reports_each_location_and_the_healthy_ones_keep_serving(lc, s3):
    found = eventually(lambda: states(lc).get("silent") and states(lc))
    assert found == {**{name: "ok" for name in HEALTHY}, "silent": "degraded"}
    resp = httpx.get(f"{lc.cluster.endpoint}/_/health", timeout=5)
    assert resp.status_code == 200 and resp.json()["status"] == "degraded" and resp.json()["metadata"] is True
    assert "silent" in resp.text and MOTO_SECRET not in resp.text
    bucket = new_bucket(s3, "moto-prefix")                # a degraded location does not stop the others
    s3.put_object(Bucket=bucket, Key="k", Body=b"still serving")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"still serving"


def test_coffer_locations_lists_each_location_with_its_state(lc):
    code, rows, err = coffer(lc, "locations")
    assert code == 1, err                                  # one is degraded
    by_name = {row["name"]: row for row in rows}
    assert list(by_name) == list(lc.doc)
    assert {n: r["state"] for n, r in by_name.items()} == {**{n: "ok" for n in HEALTHY}, "silent": "degraded"}
    assert by_name["coffer-prefix"]["type"] == "aws_s3" and by_name["coffer-prefix"]["storageClasses"] == ["STANDARD_IA"]
    assert by_name["moto-match"]["bucketMatch"] is True and by_name["moto-prefix"]["prefix"] == "p/"
    assert by_name["disk2"]["port"] == lc.disk2_port and by_name["silent"]["detail"]
    text = json.dumps(rows) + err
    assert MOTO_SECRET not in text and SECRET_KEY not in text


# -- a remote that never answers, a remote that is down ---------------------------------------

def test_a_remote_that_never_answers_is_503_slowdown_not_a_hang(lc, s3):
    bucket = new_bucket(s3, "silent")
    slow = lc.client(read_timeout=30, connect_timeout=5)   # far above the location's 0.5 s timeouts
    assert s3_error(slow.put_object, Bucket=bucket, Key="k", Body=b"x" * 1000) == (503, "SlowDown")
    slow.put_object(Bucket=bucket, Key="empty", Body=b"")       # an empty object has no bytes to store there
    # Nothing half-written was committed.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["empty"]
    log = lc.cluster.logs("s3-0")
    assert "location 'silent'" in log and "timed out" in log
    s3.delete_object(Bucket=bucket, Key="empty")
    s3.delete_bucket(Bucket=bucket)


def test_a_remote_that_is_down_is_503_and_nothing_is_lost(lc, s3):
    bucket, other = new_bucket(s3, "coffer-match"), new_bucket(s3, "disk2")
    body = os.urandom(MIB)
    s3.put_object(Bucket=bucket, Key="kept", Body=body)
    s3.put_object(Bucket=bucket, Key="deleted-while-down", Body=b"gone soon")
    lc.remote.kill("s3-0")
    try:
        assert s3_error(s3.put_object, Bucket=bucket, Key="kept", Body=b"overwrite") == (503, "SlowDown")
        assert s3_error(s3.get_object, Bucket=bucket, Key="kept") == (503, "SlowDown")
        # The metadata delete succeeds; the remote bytes wait for the GC, recorded.
        s3.delete_object(Bucket=bucket, Key="deleted-while-down")
        s3.put_object(Bucket=other, Key="k", Body=b"other locations serve")
        assert s3.get_object(Bucket=other, Key="k")["Body"].read() == b"other locations serve"
        assert eventually(lambda: states(lc)["coffer-match"] == "degraded")
        assert states(lc)["coffer-prefix"] == "degraded" and states(lc)["disk2"] == "ok"
        code, report, _ = coffer(lc, "fsck", "--location", "coffer-match")
        assert code == 1 and "coffer-match" in report["unreachable"] and report["missing"] == []
        assert "location 'coffer-match'" in lc.cluster.logs("s3-0")
    finally:
        lc.remote.start_frontend(0)
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == body      # the failed overwrite changed nothing
    assert eventually(lambda: states(lc)["coffer-match"] == "ok")
    before = lc.stored("coffer-match")
    code, report, err = coffer(lc, "gc", "--grace", "0")       # the deferred deletion, finished now
    assert code == 0 and report["deleted"] >= 1, err
    assert len(before) - len(lc.stored("coffer-match")) == 1
    code, report, err = coffer(lc, "fsck", "--location", "coffer-match", "--location", "disk2")
    assert code == 0 and report["ok"] and report["unreachable"] == {}, err
    assert report["locations"]["coffer-match"]["pieces"] >= 1 and report["locations"]["disk2"]["pieces"] >= 1


# -- maintenance per location ------------------------------------------------------------------

def test_fsck_covers_every_location_or_the_ones_named(lc, s3):
    code, report, _ = coffer(lc, "fsck")
    assert code == 1 and set(report["unreachable"]) == {"silent"}     # a location that cannot answer is unchecked
    assert report["missing"] == [] and report["wrong_size"] == []
    assert set(report["locations"]) == set(lc.doc)
    code, report, _ = coffer(lc, "fsck", *(arg for name in HEALTHY for arg in ("--location", name)))
    assert code == 0 and report["ok"] and set(report["locations"]) == set(HEALTHY)
    code, _, err = coffer(lc, "fsck", "--location", "atlantis")
    assert code != 0 and "not a configured location: atlantis" in err


def test_gc_sweep_deletes_orphans_of_the_location_named_only(lc, s3):
    bucket = new_bucket(s3, "moto-prefix")
    s3.put_object(Bucket=bucket, Key="referenced", Body=b"keep me")
    moto = s3_client(lc.moto.endpoint, "motoKey", MOTO_SECRET)
    moto.put_object(Bucket="remote", Key="p/orphan", Body=b"nobody's")       # under the location's prefix
    moto.put_object(Bucket="remote", Key="elsewhere/x", Body=b"not ours")    # outside every location's prefix

    async def orphan_on_disk2(router):
        return (await router.put("disk2", b"orphan bytes", 12)).key
    disk2_orphan = lc.with_router(orphan_on_disk2)
    code, report, err = coffer(lc, "gc", "--sweep", "--dry-run", "--grace", "0", "--location", "moto-prefix")
    assert code == 0 and report["orphans"] == 1 and report["deleted"] == 0, err
    assert report["locations"] == {"moto-prefix": {"scanned": report["scanned"], "orphans": 1}}
    code, report, err = coffer(lc, "gc", "--sweep", "--grace", "0", "--location", "moto-prefix")
    assert code == 0 and report["deleted"] == 1 and report["orphan_keys"][0].startswith("p/orphan"), err
    names = {v["Key"] for v in moto.list_object_versions(Bucket="remote").get("Versions", [])}
    assert "p/orphan" not in names and "elsewhere/x" in names
    assert disk2_orphan in lc.stored("disk2")                   # another location's orphan was not touched
    assert s3.get_object(Bucket=bucket, Key="referenced")["Body"].read() == b"keep me"
    code, report, _ = coffer(lc, "gc", "--sweep", "--grace", "0", "--location", "disk2")
    assert code == 0 and disk2_orphan in report["orphan_keys"] and disk2_orphan not in lc.stored("disk2")


# -- memory through a remote location ---------------------------------------------------------

def test_a_100_mib_object_through_a_remote_location_keeps_the_front_end_flat(lc, s3, tmp_path):
    bucket = new_bucket(s3, "coffer-prefix")
    path = tmp_path / "big"
    chunk, digest = os.urandom(MIB), hashlib.md5()
    with open(path, "wb") as f:
        for _ in range(100):
            f.write(chunk)
            digest.update(chunk)
    pid = lc.cluster.pid("s3-0")
    with PeakRss(pid) as put_rss, open(path, "rb") as f:
        s3.put_object(Bucket=bucket, Key="big", Body=f)
    path.unlink()
    got, total = hashlib.md5(), 0
    with PeakRss(pid) as get_rss:
        for piece in s3.get_object(Bucket=bucket, Key="big")["Body"].iter_chunks(MIB):
            got.update(piece)
            total += len(piece)
    assert total == 100 * MIB and got.digest() == digest.digest()
    # Holding the object would cost 100 MiB; streaming costs a few buffers.
    assert put_rss.growth < 40 * MIB and get_rss.growth < 40 * MIB, (put_rss.growth, get_rss.growth)
    s3.delete_object(Bucket=bucket, Key="big")
    s3.delete_bucket(Bucket=bucket)


def test_no_credential_reached_a_log(lc):
    """After every failure above: the remote's secret key is in no log (and its locations are)."""
    assert "location 'coffer-match'" in lc.cluster.logs("s3-0")
    for name in ("s3-0", "data", "data2", "metadata"):
        assert MOTO_SECRET not in lc.cluster.logs(name), name


# -- bad files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("doc, message", [
    ({"disk": {"type": "file"}}, "location 'us-east-1' is missing"),
    ({"us-east-1": {"type": "floppy"}}, "type must be one of file, mem, aws_s3, not 'floppy'"),
    ({"us-east-1": {"type": "file"}, "a": {"type": "mem", "storageClasses": ["GLACIER"]},
      "b": {"type": "mem", "details": {"port": 1}, "storageClasses": ["GLACIER"]}},
     "storage class 'GLACIER' is served by 'a', 'b'"),
    ({"us-east-1": {"type": "file"}, "r": {"type": "aws_s3", "details": {
        "awsEndpoint": "http://k:s3cr3t-in-url@h", "bucketName": "b", "bucketMatch": True,
        "credentials": {"accessKey": "a", "secretKey": "s3cr3t"}}}}, "must not carry credentials"),
])
def test_a_bad_location_file_stops_the_front_end_with_a_clear_message(tmp_path, doc, message):
    path = tmp_path / "locationConfig.json"
    path.write_text(json.dumps(doc))
    env = {"PATH": "/usr/bin:/bin", "S3_LOCATION_FILE": str(path), "COFFER_CLUSTER_SECRET": SECRET,
           "COFFER_PORT": str(free_port())}
    proc = subprocess.run([sys.executable, "-m", "services.cli", "s3server"], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and str(path) in proc.stderr and message in proc.stderr, proc.stderr
    assert "s3cr3t" not in proc.stderr
