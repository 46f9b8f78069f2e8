"""`coffer admin`, run as a process against a real cluster: every command, tables and --json."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.cluster import ACCESS_KEY, REPO_ROOT, SECRET_KEY
from tests.expect import s3_error
from tests.test_iam_access import allow, policy
from tests.test_iam_api import name


def admin(cluster, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "COFFER_ENDPOINT": cluster.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    done = subprocess.run([sys.executable, "-m", "services.cli", "admin", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def admin_json(cluster, *args: str):
    return json.loads(admin(cluster, "--json", *args).stdout)


def test_users_with_keys_info_status_and_removal(cluster, s3, bucket, tmp_path):
    user = name("cli")
    made = admin_json(cluster, "user", "add", user)
    assert made["user"] == user and made["accessKey"].startswith("AKIA")
    assert user in [u["user"] for u in admin_json(cluster, "user", "list")]
    table = admin(cluster, "user", "list").stdout.splitlines()
    assert table[0].split() == ["USER", "ARN", "CREATED"] and any(line.startswith(user + " ") for line in table)
    doc = tmp_path / "read.json"
    doc.write_text(policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    policy_name = name("clipol")
    assert admin_json(cluster, "policy", "create", policy_name, str(doc))["arn"].endswith(f":policy/{policy_name}")
    admin(cluster, "policy", "attach", policy_name, "--user", user)
    info = admin_json(cluster, "user", "info", user)
    assert info["policies"] == [policy_name] and len(info["keys"]) == 1
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    theirs = cluster.client(made["accessKey"], made["secretKey"])
    assert theirs.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    admin(cluster, "user", "disable", user)
    assert admin_json(cluster, "user", "info", user)["user"] == user
    time.sleep(1.2)
    assert s3_error(theirs.get_object, Bucket=bucket, Key="k") == (403, "InvalidAccessKeyId")
    admin(cluster, "user", "enable", user)
    time.sleep(1.2)
    assert theirs.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    group = name("cligrp")
    admin(cluster, "group", "add", group, user)
    assert admin_json(cluster, "group", "info", group)["members"] == [user]
    assert group in [g["group"] for g in admin_json(cluster, "group", "list")]
    admin(cluster, "policy", "attach", policy_name, "--group", group)
    assert admin_json(cluster, "group", "info", group)["policies"] == [policy_name]
    admin(cluster, "policy", "detach", policy_name, "--group", group)
    admin(cluster, "group", "remove", group, user)
    assert admin_json(cluster, "group", "info", group)["members"] == []
    admin(cluster, "group", "remove", group)
    assert group not in [g["group"] for g in admin_json(cluster, "group", "list")]
    svc = admin_json(cluster, "svcacct", "add", user, "--name", "backup")
    admin(cluster, "user", "remove", user)
    assert user not in [u["user"] for u in admin_json(cluster, "user", "list")]
    time.sleep(1.2)
    assert s3_error(cluster.client(svc["accessKey"], svc["secretKey"]).get_object, Bucket=bucket, Key="k") == \
        (403, "InvalidAccessKeyId")
    assert admin_json(cluster, "policy", "info", policy_name)["attachments"] == 0
    assert policy_name in [p["policy"] for p in admin_json(cluster, "policy", "list")]
    admin(cluster, "policy", "remove", policy_name)
    assert policy_name not in [p["policy"] for p in admin_json(cluster, "policy", "list")]


def test_service_accounts_list_info_disable_and_remove(cluster, s3, bucket, tmp_path):
    user = name("svcuser")
    admin(cluster, "user", "add", user)
    admin(cluster, "policy", "create", name("svcpol"), str(_write(tmp_path, policy(allow("s3:*", "*")))))
    narrow = _write(tmp_path, policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    made = admin_json(cluster, "svcacct", "add", user, "--access-key", "svc-" + user.lower(), "--secret-key",
                      "svc-secret-123", "--policy", str(narrow))
    assert made == {"accessKey": "svc-" + user.lower(), "secretKey": "svc-secret-123"}
    listed = admin_json(cluster, "svcacct", "list", user)
    assert [s["accessKey"] for s in listed] == [made["accessKey"]] and listed[0]["status"] == "Active"
    info = admin_json(cluster, "svcacct", "info", made["accessKey"])
    assert info["policy"]["Statement"][0]["Action"] == "s3:GetObject"
    admin(cluster, "svcacct", "disable", made["accessKey"])
    assert admin_json(cluster, "svcacct", "list", user)[0]["status"] == "Inactive"
    admin(cluster, "svcacct", "enable", made["accessKey"])
    assert admin_json(cluster, "svcacct", "list", user)[0]["status"] == "Active"
    admin(cluster, "svcacct", "remove", made["accessKey"])
    assert admin_json(cluster, "svcacct", "list", user) == []
    assert "(none)" in admin(cluster, "svcacct", "list", user).stdout
    admin(cluster, "user", "remove", user)


def test_anonymous_download_makes_objects_readable_unsigned_and_writes_stay_refused(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="pub/file", Body=b"for everyone")
    url = f"{cluster.endpoint}/{bucket}/pub/file"
    assert httpx.get(url).status_code == 403
    assert admin_json(cluster, "anonymous", "get", bucket)["level"] == "none"
    admin(cluster, "anonymous", "set", "download", bucket)
    assert httpx.get(url).content == b"for everyone"
    assert httpx.put(f"{cluster.endpoint}/{bucket}/pub/new", content=b"x").status_code == 403
    assert admin_json(cluster, "anonymous", "get", bucket)["level"] == "download"
    admin(cluster, "anonymous", "set", "public", bucket)
    assert httpx.put(f"{cluster.endpoint}/{bucket}/pub/new", content=b"x").status_code == 200
    admin(cluster, "anonymous", "set", "upload", f"{bucket}/drop")
    assert admin_json(cluster, "anonymous", "get", f"{bucket}/drop")["level"] == "upload"
    admin(cluster, "anonymous", "set", "none", bucket)
    assert httpx.get(url).status_code == 403
    assert admin_json(cluster, "anonymous", "get", bucket)["level"] == "none"


def test_errors_and_missing_keys_are_reported(cluster):
    missing = admin(cluster, "user", "info", "no-such-user", ok=False)
    assert missing.returncode == 1 and "NoSuchEntity" in missing.stderr
    done = subprocess.run([sys.executable, "-m", "services.cli", "admin", "user", "list"], cwd=REPO_ROOT,
                          env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "keys" in done.stderr


def _write(tmp_path, text: str):
    path = tmp_path / f"{name('doc')}.json"
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def _no_stray_policy(s3, bucket):
    yield
    try:
        s3.delete_bucket_policy(Bucket=bucket)
    except Exception:  # noqa: BLE001 - the bucket may be gone already
        pass
