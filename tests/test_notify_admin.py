"""`coffer admin notify status` and `coffer admin config set|get|list|reset notify_TYPE:ID`, and bad
target declarations, against real processes."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cluster import REPO_ROOT, free_port
from tests.notify_servers import WebhookReceiver, put_rules, queue_rule, wait_for
from tests.test_admin_cli import admin, admin_json


@pytest.fixture
def hook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def test_runtime_target_status_and_persistence(fresh_cluster, hook):
    cluster = fresh_cluster()
    assert admin_json(cluster, "config", "list") == []
    made = admin_json(cluster, "config", "set", "notify_webhook:rt", f"endpoint={hook.url}", "auth_token=tok")
    assert made["arn"] == "arn:minio:sqs::rt:webhook" and made["settings"]["auth_token"] == "*****"
    s3 = cluster.client()
    s3.create_bucket(Bucket="adm")
    put_rules(s3, "adm", queue_rule("arn:minio:sqs::rt:webhook", ["s3:ObjectCreated:*"]))   # no restart needed
    s3.put_object(Bucket="adm", Key="k", Body=b"x")
    wait_for(lambda: hook.records())
    assert hook.headers[0]["Authorization"] == "Bearer tok"
    [row] = wait_for(lambda: [r for r in admin_json(cluster, "notify", "status") if r["delivered"] == 1])
    assert row["target"] == "notify_webhook:rt" and row["state"] == "online" and row["queued"] == 0
    table = admin(cluster, "notify", "status").stdout
    assert "notify_webhook:rt" in table and "online" in table
    # A target that cannot be reached: its records wait, its status says why.
    dead = f"http://127.0.0.1:{free_port()}/"
    admin(cluster, "config", "set", "notify_webhook:dead", f"endpoint={dead}")
    put_rules(s3, "adm", queue_rule("arn:minio:sqs::dead:webhook", ["s3:ObjectCreated:*"]))
    s3.put_object(Bucket="adm", Key="k2", Body=b"x")
    down = wait_for(lambda: [r for r in admin_json(cluster, "notify", "status")
                             if r["target"] == "notify_webhook:dead" and r["state"] == "offline"])
    assert down[0]["queued"] == 1 and "Connect" in down[0]["lastError"]
    # Run-time declarations are stored: they survive the daemon.
    cluster.kill("metadata")
    cluster.start_metadata()
    listed = wait_for(lambda: _list(cluster))
    assert {t["target"]: t["source"] for t in listed} == {"notify_webhook:dead": "runtime", "notify_webhook:rt": "runtime"}
    assert admin_json(cluster, "config", "get", "notify_webhook:rt")["endpoint"] == hook.url
    admin(cluster, "config", "reset", "notify_webhook:dead")
    assert [t["target"] for t in admin_json(cluster, "config", "list")] == ["notify_webhook:rt"]


def _list(cluster):
    try:
        return admin_json(cluster, "config", "list")
    except (AssertionError, ValueError):
        return None          # the front-end is still reconnecting


@pytest.mark.parametrize("args, words", [
    (["notify_webhook:x", "endpint=http://h/"], "unknown key 'endpint'"),
    (["notify_fax:x", "a=b"], "unknown target type 'fax'"),
    (["notify_webhook:x", "endpoint=ftp://h/"], "endpoint must be a http|https:// URL"),
    (["notify_redis:x", "address=h:1"], "missing 'key'"),
    (["webhook:x", "endpoint=http://h/"], "notify_TYPE:ID"),
    (["notify_webhook:x", "endpoint"], "expected key=value"),
])
def test_bad_runtime_declarations(cluster, args, words):
    done = admin(cluster, "config", "set", *args, ok=False)
    assert done.returncode == 1 and words in done.stderr


def test_unknown_target_get(cluster):
    done = admin(cluster, "config", "get", "notify_webhook:missing", ok=False)
    assert done.returncode == 1 and "no notification target notify_webhook:missing" in done.stderr


def test_bad_environment_declaration_stops_the_daemon(tmp_path):
    env = {**os.environ, "COFFER_CLUSTER_SECRET": "s", "S3METADATAPATH": str(tmp_path / "m"),
           "METADATA_PORT": str(free_port()), "COFFER_NOTIFY_WEBHOOK_X_ENDPINT": "http://h/"}
    done = subprocess.run([sys.executable, "-m", "services.cli", "mdserver"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "COFFER_NOTIFY_WEBHOOK_X_ENDPINT" in done.stderr and "ENDPOINT" in done.stderr
