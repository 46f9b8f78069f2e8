"""Helpers for the real-client tests (rclone, s3cmd, aws CLI, boto3): local trees, digests, a clean environment."""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from tests.cluster import ACCESS_KEY, SECRET_KEY

MIB = 2**20
BIG = 20 * MIB                      # over every tool's multipart threshold once told 5 MiB parts
PART = 5 * MIB
UNICODE_NAME = "a/spaced ünï 文件.txt"
# characters that URL-encoding and signing (SigV4 and SigV2) must treat alike on client and server
ODD_NAMES = ("plus+sign.txt", "percent%20.txt", "hash#.txt", "question?.txt", "eq=amp&semi;.txt", "tilde~'quote.txt",
             "dir with space/sub+plus/a b.txt")

# Variables from the host that change how the tools behave: AWS_CA_BUNDLE makes rclone refuse to
# start ("unable to load custom CA bundle"), the others would point the tools at another account.
_HOST_VARIABLES = ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                   "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RCLONE_CONFIG")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The host environment without AWS/rclone settings, HOME in `home`, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _HOST_VARIABLES and not k.startswith("RCLONE_")}
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "HOME": str(home), **extra}


def aws_env(home: Path) -> dict[str, str]:
    """Environment for the aws CLI: the test account from variables, no user configuration files."""
    return clean_env(home, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                     AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(home / "no-config"),
                     AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"), AWS_EC2_METADATA_DISABLED="true",
                     AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")     # server errors fail, unretried


def run(args: list[str], env: dict[str, str], stdin: Path | None = None) -> str:
    """Run a client tool, its standard input read from `stdin`; fail the test with its stderr unless it exits 0."""
    with (stdin.open("rb") if stdin else open(os.devnull, "rb")) as source:
        proc = subprocess.run(args, env=env, stdin=source, capture_output=True, timeout=300)
    out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, f"{args[:3]} exited {proc.returncode}\nstdout: {out[-3000:]}\nstderr: {err[-3000:]}"
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            h.update(chunk)
    return h.hexdigest()


def md5_file(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            h.update(chunk)
    return h.hexdigest()


def random_file(path: Path, size: int) -> Path:
    """Write `size` random bytes to `path`, one MiB at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        left = size
        while left:
            f.write(os.urandom(min(MIB, left)))
            left -= min(MIB, left)
    return path


def make_tree(root: Path, big: int = BIG) -> Path:
    """A local tree: nested directories, small files, one multipart-sized file, a name with spaces and unicode."""
    files = {"top.txt": b"top level\n", "a/one.txt": b"one\n", "a/b/c/deep.txt": b"deep " * 50,
             UNICODE_NAME: "données ünïcode\n".encode(), "empty.txt": b"", **{name: name.encode() for name in ODD_NAMES}}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    random_file(root / "big.bin", big)
    return root


def tree_digests(root: Path) -> dict[str, str]:
    """{relative path: SHA-256} of every file under `root`."""
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def remote_digests(s3, bucket: str, prefix: str = "") -> dict[str, str]:
    """{key without prefix: SHA-256} of every object under `prefix`, read back with boto3."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            h = hashlib.sha256()
            for chunk in s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].iter_chunks(MIB):
                h.update(chunk)
            out[obj["Key"][len(prefix):]] = h.hexdigest()
    return out


def part_count(s3, bucket: str, key: str) -> int:
    """The number of parts in a multipart ETag ("md5-N"), 1 for a single PUT."""
    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    return int(etag.rsplit("-", 1)[1]) if "-" in etag else 1
