"""The built-in key service through `coffer admin kms key ...`, and what disabling a key does to SSE-KMS."""
from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.cluster import ACCESS_KEY, ALT_ACCESS_KEY, ALT_SECRET_KEY, REPO_ROOT, SECRET_KEY
from tests.test_sse import TESTKEY_1, ebucket, s3e, sse_cluster  # noqa: F401 - fixtures

__all__ = ["ebucket", "s3e", "sse_cluster"]


def admin(cluster, *args: str, ok: bool = True, keys: tuple[str, str] = (ACCESS_KEY, SECRET_KEY)):
    env = {**os.environ, "COFFER_ENDPOINT": cluster.endpoint, "AWS_ACCESS_KEY_ID": keys[0],
           "AWS_SECRET_ACCESS_KEY": keys[1]}
    done = subprocess.run([sys.executable, "-m", "services.cli", "admin", "--json", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    if ok:
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return done


def test_declared_keys_are_listed_without_their_material(sse_cluster) -> None:
    listed = admin(sse_cluster, "kms", "key", "list")
    names = [k["key"] for k in listed]
    assert "testkey-1" in names and "testkey-2" in names
    assert TESTKEY_1 not in json.dumps(listed)
    info = admin(sse_cluster, "kms", "key", "info", "testkey-1")
    assert info["state"] == "Enabled" and info["arn"].endswith(":key/testkey-1")


def test_create_use_disable_enable(sse_cluster, s3e, ebucket) -> None:
    created = admin(sse_cluster, "kms", "key", "create", "rotating", "--description", "for the test")
    assert created["key"] == "rotating" and created["state"] == "Enabled"
    s3e.put_object(Bucket=ebucket, Key="old", Body=b"sealed before", ServerSideEncryption="aws:kms",
                   SSEKMSKeyId="rotating")
    assert admin(sse_cluster, "kms", "key", "disable", "rotating")["state"] == "Disabled"
    with pytest.raises(ClientError) as caught:
        s3e.put_object(Bucket=ebucket, Key="new", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="rotating")
    assert caught.value.response["Error"]["Code"] == "KMS.DisabledException"
    with pytest.raises(ClientError) as caught:
        s3e.create_multipart_upload(Bucket=ebucket, Key="mp", ServerSideEncryption="aws:kms", SSEKMSKeyId="rotating")
    assert caught.value.response["Error"]["Code"] == "KMS.DisabledException"
    assert s3e.get_object(Bucket=ebucket, Key="old")["Body"].read() == b"sealed before"    # old data still reads
    assert admin(sse_cluster, "kms", "key", "enable", "rotating")["state"] == "Enabled"
    s3e.put_object(Bucket=ebucket, Key="new", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="rotating")
    anonymous = admin(sse_cluster, "kms", "key", "create")
    assert len(anonymous["key"]) == 36
    refused = admin(sse_cluster, "kms", "key", "create", "rotating", ok=False)
    assert refused.returncode == 1 and "exists" in refused.stderr


def test_only_an_account_root_manages_keys(sse_cluster) -> None:
    iam = boto3.client("iam", endpoint_url=sse_cluster.endpoint, region_name="us-east-1",
                                     aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    iam.create_user(UserName="kms-user")
    key = iam.create_access_key(UserName="kms-user")["AccessKey"]
    refused = admin(sse_cluster, "kms", "key", "list", ok=False, keys=(key["AccessKeyId"], key["SecretAccessKey"]))
    assert refused.returncode == 1 and "AccessDenied" in refused.stderr
    other = admin(sse_cluster, "kms", "key", "list", keys=(ALT_ACCESS_KEY, ALT_SECRET_KEY))   # another root
    assert "testkey-1" in [k["key"] for k in other]


def test_serve_makes_a_private_master_key_once(tmp_path) -> None:
    from services.serve import MASTER_KEY_FILE, kms_master_env
    from shared.config import Config
    config = Config(backend="file", metadata_path=str(tmp_path / "meta"), data_path=str(tmp_path / "data"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_KMS_MASTER")}
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        first = kms_master_env(config)
        path = tmp_path / "meta" / MASTER_KEY_FILE
        assert first == {"COFFER_KMS_MASTER_KEY_FILE": str(path)}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(base64.b64decode(path.read_text())) == 32
        content = path.read_text()
        assert kms_master_env(config) == first and path.read_text() == content     # kept across restarts
        os.environ["COFFER_KMS_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
        assert kms_master_env(config) == {}                                      # a configured key wins
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_a_key_disabled_on_one_front_end_is_refused_by_another(fresh_cluster) -> None:
    env = {"COFFER_KMS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
           "COFFER_KMS_KEYS": f"testkey-1:{TESTKEY_1}"}
    c = fresh_cluster(frontends=2, env=env)
    one, two = c.client(i=0), c.client(i=1)
    one.create_bucket(Bucket="kms-two")
    args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "testkey-1"}
    two.put_object(Bucket="kms-two", Key="old", Body=b"x", **args)           # the second one has loaded its keys
    admin(c, "kms", "key", "disable", "testkey-1")                            # through the first
    deadline = time.monotonic() + 30
    while True:
        try:
            two.put_object(Bucket="kms-two", Key="new", Body=b"x", **args)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "KMS.DisabledException"
            break
        assert time.monotonic() < deadline, "the second front-end never saw the key disabled"
        time.sleep(1)
    assert two.get_object(Bucket="kms-two", Key="old")["Body"].read() == b"x"


def test_aws_cli_round_trips_every_mode(sse_cluster, s3e, ebucket, tmp_path) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"), "AWS_EC2_METADATA_DISABLED": "true"}

    def aws(*args: str) -> bytes:
        done = subprocess.run([str(Path(sys.executable).parent / "aws"), *args, "--endpoint-url",
                               sse_cluster.endpoint], env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout

    source = tmp_path / "body.bin"
    source.write_bytes(os.urandom(9 * 2**20))            # multipart in the CLI (8 MiB parts)
    key = tmp_path / "sse-c.key"
    key.write_bytes(os.urandom(32))
    modes = {"s3": ["--sse", "AES256"], "kms": ["--sse", "aws:kms", "--sse-kms-key-id", "testkey-2"],
             "c": ["--sse-c", "AES256", "--sse-c-key", f"fileb://{key}"]}
    for name, args in modes.items():
        aws("s3", "cp", str(source), f"s3://{ebucket}/{name}", *args)
        back = tmp_path / f"{name}.out"
        aws("s3", "cp", f"s3://{ebucket}/{name}", str(back), *(args if name == "c" else []))
        assert back.read_bytes() == source.read_bytes()
    head = s3e.head_object(Bucket=ebucket, Key="kms")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == "testkey-2"
