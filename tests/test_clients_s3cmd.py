"""s3cmd against Coffer, signed with SigV4 and with SigV2: mb, put, multipart put, get, ls, la, sync both ways, del, rb."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.client_tools import (BIG, PART, MIB, UNICODE_NAME, clean_env, make_tree, part_count, random_file,
                                remote_digests, run, sha256_file, tree_digests)
from tests.cluster import ACCESS_KEY, SECRET_KEY

S3CMD = Path(sys.executable).parent / "s3cmd"
SIGNATURES = [pytest.param([], id="sigv4"), pytest.param(["--signature-v2"], id="sigv2")]


@pytest.fixture
def s3cmd(cluster, tmp_path):
    """Run s3cmd with a temporary config file: path-style addressing on the cluster's endpoint."""
    host = cluster.endpoint.removeprefix("http://")
    config = tmp_path / "s3cfg"
    config.write_text(f"[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\n"
                      f"host_base = {host}\nhost_bucket = {host}\nbucket_location = us-east-1\n"
                      # no retries, so that a server error fails the test instead of being retried away
                      "use_https = False\nsignature_v2 = False\nmax_retries = 0\n")
    env = clean_env(tmp_path / "home")

    def call(*args: str, stdin: Path | None = None) -> str:
        return run([str(S3CMD), "-c", str(config), "--no-progress", *args], env, stdin)

    return call


@pytest.mark.parametrize("sig", SIGNATURES)
def test_s3cmd_mb_put_get_ls_del_rb(s3cmd, s3, tmp_path, sig):
    name = f"s3cmd-{os.getpid()}-{'v2' if sig else 'v4'}"
    small = tmp_path / "small.txt"
    small.write_bytes(b"small object\n")
    big = random_file(tmp_path / "big.bin", BIG)

    assert f"Bucket 's3://{name}/' created" in s3cmd(*sig, "mb", f"s3://{name}")
    s3cmd(*sig, "put", str(small), f"s3://{name}/small.txt")
    s3cmd(*sig, "put", f"--multipart-chunk-size-mb={PART // MIB}", str(big), f"s3://{name}/big.bin")
    assert part_count(s3, name, "small.txt") == 1 and part_count(s3, name, "big.bin") == 4

    for key, local in (("small.txt", small), ("big.bin", big)):
        got = tmp_path / f"got-{key}"
        s3cmd(*sig, "get", f"s3://{name}/{key}", str(got))
        assert sha256_file(got) == sha256_file(local)

    listing = s3cmd(*sig, "ls", f"s3://{name}")
    assert {line.split()[-1]: int(line.split()[-2]) for line in listing.splitlines()} == {
        f"s3://{name}/big.bin": BIG, f"s3://{name}/small.txt": small.stat().st_size}
    everything = s3cmd(*sig, "la")
    assert f"s3://{name}/big.bin" in everything and f"s3://{name}/small.txt" in everything
    assert f"s3://{name}" in s3cmd(*sig, "ls").split()

    deleted = s3cmd(*sig, "del", f"s3://{name}/small.txt", f"s3://{name}/big.bin")
    assert f"delete: 's3://{name}/small.txt'" in deleted and f"delete: 's3://{name}/big.bin'" in deleted
    assert s3cmd(*sig, "ls", f"s3://{name}") == ""
    assert f"Bucket 's3://{name}/' removed" in s3cmd(*sig, "rb", f"s3://{name}")
    assert f"s3://{name}" not in s3cmd(*sig, "ls").split()


@pytest.mark.parametrize("sig", SIGNATURES)
def test_s3cmd_sync_both_ways(s3cmd, s3, bucket, tmp_path, sig):
    src = make_tree(tmp_path / "src")
    s3cmd(*sig, "sync", f"--multipart-chunk-size-mb={PART // MIB}", f"{src}/", f"s3://{bucket}/tree/")
    assert remote_digests(s3, bucket, "tree/") == tree_digests(src)
    assert part_count(s3, bucket, "tree/big.bin") == 4

    down = tmp_path / "down"
    s3cmd(*sig, "sync", f"s3://{bucket}/tree/", f"{down}/")
    assert tree_digests(down) == tree_digests(src)

    # a second upload sync sends only what changed: s3cmd compares sizes and MD5s with the listing
    (src / "top.txt").write_bytes(b"changed\n")
    (src / "a/added.txt").write_bytes(b"added\n")
    out = s3cmd(*sig, "sync", f"{src}/", f"s3://{bucket}/tree/")
    assert set(re.findall(rf"-> 's3://{bucket}/tree/([^']+)'", out)) == {"top.txt", "a/added.txt"}, out
    assert remote_digests(s3, bucket, "tree/") == tree_digests(src)

    s3cmd(*sig, "sync", f"s3://{bucket}/tree/", f"{down}/")
    assert tree_digests(down) == tree_digests(src)
    assert (down / UNICODE_NAME).read_text() == "données ünïcode\n"


def test_s3cmd_recursive_delete_and_delete_removed(s3cmd, s3, bucket, tmp_path):
    src = tmp_path / "src"
    for i in range(3):
        (src / f"d{i}").mkdir(parents=True)
        (src / f"d{i}" / "f.txt").write_bytes(b"x" * i)
    s3cmd("sync", f"{src}/", f"s3://{bucket}/")
    (src / "d1" / "f.txt").unlink()
    # both send DeleteObjects (POST /bucket?delete) rather than one DeleteObject per key
    s3cmd("sync", "--delete-removed", f"{src}/", f"s3://{bucket}/")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["d0/f.txt", "d2/f.txt"]
    s3cmd("del", "--recursive", "--force", f"s3://{bucket}/")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_s3cmd_put_from_stdin_and_manage_uploads(s3cmd, s3, bucket, tmp_path):
    data = random_file(tmp_path / "stream.bin", BIG)
    s3cmd("put", f"--multipart-chunk-size-mb={PART // MIB}", "-", f"s3://{bucket}/stdin.bin", stdin=data)
    assert part_count(s3, bucket, "stdin.bin") == 4
    got = tmp_path / "got.bin"
    s3cmd("get", f"s3://{bucket}/stdin.bin", str(got))
    assert sha256_file(got) == sha256_file(data)

    upload = s3.create_multipart_upload(Bucket=bucket, Key="pending one.bin")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="pending one.bin", UploadId=upload, PartNumber=1, Body=b"part")
    assert f"s3://{bucket}/pending one.bin\t{upload}" in s3cmd("multipart", f"s3://{bucket}")
    parts = s3cmd("listmp", f"s3://{bucket}/pending one.bin", upload).splitlines()[1:]
    assert [line.split("\t")[1:] for line in parts] == [["1", part["ETag"], "4"]]
    s3cmd("abortmp", f"s3://{bucket}/pending one.bin", upload)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
