"""The aws CLI (v1) against Coffer: mb, cp both ways, ls, rm, rb."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster import ACCESS_KEY, SECRET_KEY

AWS = Path(sys.executable).parent / "aws"
MIB = 2**20


@pytest.fixture
def aws(cluster, tmp_path):
    """Run `aws <args> --endpoint-url ...` with the test account and no user configuration."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"), "AWS_EC2_METADATA_DISABLED": "true"}
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        env.pop(name, None)

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(AWS), *args, "--endpoint-url", cluster.endpoint], env=env,
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        return proc

    return run


def test_mb_cp_ls_rm_rb(aws, s3, tmp_path):
    bucket = f"cli-{os.getpid()}"
    data = os.urandom(5 * MIB + 123)            # under the CLI's 8 MiB multipart threshold
    path = tmp_path / "hello world.bin"
    path.write_bytes(data)

    assert f"make_bucket: {bucket}" in aws("s3", "mb", f"s3://{bucket}").stdout.decode()
    assert bucket in aws("s3", "ls").stdout.decode().split()

    out = aws("s3", "cp", str(path), f"s3://{bucket}/").stdout.decode()
    assert f"s3://{bucket}/hello world.bin" in out
    assert s3.head_object(Bucket=bucket, Key="hello world.bin")["ContentLength"] == len(data)
    assert aws("s3", "cp", f"s3://{bucket}/hello world.bin", "-").stdout == data

    listing = aws("s3", "ls", f"s3://{bucket}/").stdout.decode()
    assert f"{len(data)} hello world.bin" in listing

    copy = tmp_path / "copy.bin"
    aws("s3", "cp", f"s3://{bucket}/hello world.bin", str(copy))
    assert copy.read_bytes() == data

    removed = aws("s3", "rm", f"s3://{bucket}/hello world.bin").stdout.decode()
    assert f"delete: s3://{bucket}/hello world.bin" in removed
    assert aws("s3", "ls", f"s3://{bucket}/").stdout == b""
    assert f"remove_bucket: {bucket}" in aws("s3", "rb", f"s3://{bucket}").stdout.decode()
    assert bucket not in aws("s3", "ls").stdout.decode().split()
