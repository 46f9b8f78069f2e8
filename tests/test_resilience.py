"""Crashes and restarts under load: nothing acknowledged is lost, fsck finds nothing missing, gc reclaims orphans."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from botocore.exceptions import ClientError

from tests.cluster import NOT_INLINE, REPO_ROOT
from tests.load import crash_rounds

pytestmark = pytest.mark.needs_disk     # kills and restarts every process


@pytest.mark.timeout(900)
def test_kill_minus_9_under_load_loses_nothing(fresh_cluster):
    report = crash_rounds(fresh_cluster(), rounds=10)
    assert report["acked"] > 50
    assert report["lost"] == [] and report["corrupt"] == []
    assert report["fsck"]["ok"] and report["fsck"]["missing"] == [] and report["fsck"]["wrong_size"] == []
    assert report["gc"]["orphans"] == report["fsck"]["orphans"]
    assert report["fsck_after_gc"]["orphans"] == 0


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
    cluster = fresh_cluster(env=NOT_INLINE)     # the PUT must need the data daemon it kills
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
