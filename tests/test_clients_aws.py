"""The aws CLI (v1) against Coffer: s3 sync both ways, multipart cp, s3api objects with metadata, object versions."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from tests.client_tools import (MIB, UNICODE_NAME, aws_env, make_tree, part_count, random_file, remote_digests,
                                run, sha256_file, tree_digests)

AWS = Path(sys.executable).parent / "aws"


@pytest.fixture
def aws(cluster, tmp_path):
    """Run `aws <args>` on the cluster's endpoint with the test account and no user configuration."""
    env = aws_env(tmp_path / "home")

    def call(*args: str, stdin: Path | None = None) -> str:
        return run([str(AWS), "--endpoint-url", cluster.endpoint, *args], env, stdin)

    return call


def test_aws_s3_sync_up_and_down(aws, s3, bucket, tmp_path):
    src = make_tree(tmp_path / "src")
    aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}/tree/")
    assert remote_digests(s3, bucket, "tree/") == tree_digests(src)
    assert part_count(s3, bucket, "tree/big.bin") > 1       # over the CLI's 8 MiB threshold

    down = tmp_path / "down"
    aws("s3", "sync", "--no-progress", f"s3://{bucket}/tree/", str(down))
    assert tree_digests(down) == tree_digests(src)

    (src / "top.txt").write_bytes(b"top level, changed\n")
    (src / "a/one.txt").unlink()
    out = aws("s3", "sync", "--no-progress", "--delete", str(src), f"s3://{bucket}/tree/")
    assert f"delete: s3://{bucket}/tree/a/one.txt" in out
    assert remote_digests(s3, bucket, "tree/") == tree_digests(src)

    out = aws("s3", "sync", "--no-progress", "--delete", f"s3://{bucket}/tree/", str(down))
    assert tree_digests(down) == tree_digests(src)
    assert (down / UNICODE_NAME).read_text() == "données ünïcode\n"


def test_aws_s3_cp_40_mib_up_down_and_across(aws, s3, bucket, tmp_path):
    local = random_file(tmp_path / "forty.bin", 40 * MIB)
    aws("s3", "cp", "--no-progress", str(local), f"s3://{bucket}/forty.bin")
    assert part_count(s3, bucket, "forty.bin") == 5         # the CLI's default 8 MiB parts
    back = tmp_path / "back.bin"
    aws("s3", "cp", "--no-progress", f"s3://{bucket}/forty.bin", str(back))
    assert sha256_file(back) == sha256_file(local)

    # bucket to bucket: UploadPartCopy of 8 MiB source ranges, each guarded by x-amz-copy-source-if-match
    aws("s3", "cp", "--no-progress", f"s3://{bucket}/forty.bin", f"s3://{bucket}/copy.bin")
    aws("s3", "mv", "--no-progress", f"s3://{bucket}/copy.bin", f"s3://{bucket}/moved.bin")
    assert remote_digests(s3, bucket) == {"forty.bin": sha256_file(local), "moved.bin": sha256_file(local)}


def test_aws_s3_cp_streams_stdin(aws, s3, bucket, tmp_path):
    local = random_file(tmp_path / "stream.bin", 20 * MIB)
    aws("s3", "cp", "-", f"s3://{bucket}/stdin.bin", stdin=local)   # unknown size: 8 MiB parts as they come
    assert part_count(s3, bucket, "stdin.bin") == 3
    assert remote_digests(s3, bucket) == {"stdin.bin": sha256_file(local)}


def test_aws_s3api_put_get_head_with_metadata(aws, bucket, tmp_path):
    body = tmp_path / "body.txt"
    body.write_bytes(b"object with metadata\n")
    put = json.loads(aws("s3api", "put-object", "--bucket", bucket, "--key", "dir/meta.txt", "--body", str(body),
                         "--metadata", "colour=blue,Shape=Round", "--content-type", "text/x-test",
                         "--cache-control", "no-cache", "--content-disposition", "attachment"))
    md5 = hashlib.md5(body.read_bytes()).hexdigest()
    assert put["ETag"] == f'"{md5}"'

    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "dir/meta.txt"))
    assert head["Metadata"] == {"colour": "blue", "shape": "Round"}   # names come back lower-cased
    assert (head["ContentType"], head["CacheControl"], head["ContentDisposition"]) == (
        "text/x-test", "no-cache", "attachment")
    assert head["ContentLength"] == body.stat().st_size and head["ETag"] == put["ETag"]

    out = tmp_path / "out.txt"
    got = json.loads(aws("s3api", "get-object", "--bucket", bucket, "--key", "dir/meta.txt", str(out)))
    assert out.read_bytes() == body.read_bytes()
    assert got["Metadata"] == head["Metadata"] and got["ETag"] == put["ETag"]


def test_aws_s3api_list_object_versions(aws, s3, bucket, tmp_path):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    body = tmp_path / "v.txt"
    ids = []
    for i in range(3):
        body.write_text(f"version {i}\n")
        ids.append(json.loads(aws("s3api", "put-object", "--bucket", bucket, "--key", "k",
                                  "--body", str(body)))["VersionId"])
    marker = json.loads(aws("s3api", "delete-object", "--bucket", bucket, "--key", "k"))
    assert marker["DeleteMarker"] is True

    listed = json.loads(aws("s3api", "list-object-versions", "--bucket", bucket))
    assert [v["VersionId"] for v in listed["Versions"]] == ids[::-1]      # newest first
    assert not any(v["IsLatest"] for v in listed["Versions"])
    assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [
        ("k", marker["VersionId"], True)]

    old = tmp_path / "old.txt"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "k", "--version-id", ids[0], str(old))
    assert old.read_text() == "version 0\n"


def test_aws_s3_cp_200_mib_both_ways(aws, s3, bucket, tmp_path):
    local = random_file(tmp_path / "big.bin", 200 * MIB)
    aws("s3", "cp", "--no-progress", str(local), f"s3://{bucket}/big.bin")
    assert part_count(s3, bucket, "big.bin") == 25          # 8 MiB parts
    back = tmp_path / "big-back.bin"
    aws("s3", "cp", "--no-progress", f"s3://{bucket}/big.bin", str(back))
    assert sha256_file(back) == sha256_file(local)
