"""rclone (Debian's, /usr/bin/rclone) against Coffer: mkdir, copy, ls/lsjson, check, sync, cat, delete, purge, versions."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.client_tools import (BIG, MIB, PART, UNICODE_NAME, clean_env, make_tree, md5_file, part_count,
                                random_file, remote_digests, run, sha256_file, tree_digests)
from tests.cluster import ACCESS_KEY, SECRET_KEY
from tests.expect import s3_error

RCLONE = shutil.which("rclone") or "/usr/bin/rclone"
VERSION_NAME = re.compile(r"^f-v\d{4}-\d\d-\d\d-\d{6}-\d{3}\.txt$")

pytestmark = pytest.mark.skipif(not Path(RCLONE).exists(), reason="rclone is not installed")


@pytest.fixture
def rclone(cluster, tmp_path):
    """Run rclone with an `[coffer]` remote given by RCLONE_CONFIG_COFFER_* variables and 5 MiB parts."""
    config = tmp_path / "rclone.conf"
    config.write_text("")
    env = clean_env(tmp_path / "home", RCLONE_CONFIG=str(config), RCLONE_CONFIG_COFFER_TYPE="s3",
                    RCLONE_CONFIG_COFFER_PROVIDER="Other", RCLONE_CONFIG_COFFER_ENDPOINT=cluster.endpoint,
                    RCLONE_CONFIG_COFFER_ACCESS_KEY_ID=ACCESS_KEY,
                    RCLONE_CONFIG_COFFER_SECRET_ACCESS_KEY=SECRET_KEY,
                    RCLONE_CONFIG_COFFER_REGION="us-east-1", RCLONE_CONFIG_COFFER_FORCE_PATH_STYLE="true",
                    # rclone goes multipart only above 200 MiB by default; 5 MiB parts make 20 MiB multipart
                    RCLONE_S3_UPLOAD_CUTOFF=f"{PART // MIB}M", RCLONE_S3_CHUNK_SIZE=f"{PART // MIB}M",
                    # one attempt each, so that a server error fails the test instead of being retried away
                    RCLONE_RETRIES="1", RCLONE_LOW_LEVEL_RETRIES="1")

    def call(*args: str, stdin: Path | None = None) -> str:
        return run([RCLONE, *args], env, stdin)

    return call


def _listing(out: str) -> dict[str, int]:
    """Parse `rclone ls` lines ("   size path") into {path: size}."""
    return {path: int(size) for size, path in (line.strip().split(" ", 1) for line in out.splitlines() if line)}


def _sizes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def test_rclone_copy_check_sync_cat_delete_purge(rclone, s3, tmp_path):
    name = f"rclone-{os.getpid()}"
    src = make_tree(tmp_path / "src")
    rclone("mkdir", f"coffer:{name}")
    s3.head_bucket(Bucket=name)

    rclone("copy", str(src), f"coffer:{name}/tree")
    assert part_count(s3, name, "tree/big.bin") == 4
    assert _listing(rclone("ls", f"coffer:{name}/tree")) == _sizes(src)
    entries = json.loads(rclone("lsjson", "-R", "--hash", "--files-only", f"coffer:{name}/tree"))
    # the multipart file's MD5 comes from rclone's own metadata, the others from their ETags
    assert {e["Path"]: e["Hashes"]["md5"] for e in entries} == {
        p.relative_to(src).as_posix(): md5_file(p) for p in src.rglob("*") if p.is_file()}
    rclone("check", str(src), f"coffer:{name}/tree")

    (src / "top.txt").write_bytes(b"top level, rewritten and longer\n")
    (src / "a/b/c/deep.txt").unlink()
    (src / "a/new.txt").write_bytes(b"new\n")
    rclone("sync", str(src), f"coffer:{name}/tree")
    assert _listing(rclone("ls", f"coffer:{name}/tree")) == _sizes(src)
    rclone("check", str(src), f"coffer:{name}/tree")
    assert rclone("cat", f"coffer:{name}/tree/top.txt") == "top level, rewritten and longer\n"
    assert rclone("cat", f"coffer:{name}/tree/{UNICODE_NAME}") == "données ünïcode\n"

    back = tmp_path / "back"
    rclone("copy", f"coffer:{name}/tree", str(back))
    assert tree_digests(back) == tree_digests(src)

    rclone("delete", f"coffer:{name}/tree/a")
    assert all(not k.startswith("a/") for k in _listing(rclone("ls", f"coffer:{name}/tree")))
    rclone("purge", f"coffer:{name}")
    assert s3_error(s3.head_bucket, Bucket=name)[0] == 404


def test_rclone_server_side_copy_move_and_touch(rclone, s3, bucket, tmp_path):
    src = make_tree(tmp_path / "src")
    rclone("copy", str(src), f"coffer:{bucket}/a")
    rclone("copy", f"coffer:{bucket}/a", f"coffer:{bucket}/b")      # CopyObject, metadata and all
    rclone("check", f"coffer:{bucket}/a", f"coffer:{bucket}/b")
    rclone("check", str(src), f"coffer:{bucket}/b")

    rclone("moveto", f"coffer:{bucket}/b/top.txt", f"coffer:{bucket}/moved.txt")
    assert rclone("cat", f"coffer:{bucket}/moved.txt") == "top level\n"
    assert "top.txt" not in rclone("lsf", f"coffer:{bucket}/b").split()

    # only the modification time differs: rclone rewrites its metadata with CopyObject REPLACE
    os.utime(src / "top.txt", (1577836800, 1577836800))
    rclone("sync", str(src), f"coffer:{bucket}/a")
    assert rclone("lsf", "--format", "t", f"coffer:{bucket}/a/top.txt").startswith("2020-01-01 00:00:00")
    assert s3.get_object(Bucket=bucket, Key="a/top.txt")["Body"].read() == b"top level\n"


def test_rclone_streams_and_cleans_multipart_uploads(rclone, s3, bucket, tmp_path):
    data = random_file(tmp_path / "stream.bin", BIG)
    rclone("rcat", f"coffer:{bucket}/rcat.bin", stdin=data)      # unknown size: multipart from the first byte
    assert part_count(s3, bucket, "rcat.bin") == 4
    assert remote_digests(s3, bucket) == {"rcat.bin": sha256_file(data)}

    for key in ("pending one.bin", "x/pending two.bin"):
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"part")
    listed = json.loads(rclone("backend", "list-multipart-uploads", f"coffer:{bucket}"))
    assert sorted(u["Key"] for u in listed[bucket]) == ["pending one.bin", "x/pending two.bin"]
    rclone("backend", "cleanup", "-o", "max-age=0s", f"coffer:{bucket}")    # aborts every pending upload
    assert json.loads(rclone("backend", "list-multipart-uploads", f"coffer:{bucket}")) == {bucket: []}
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_rclone_check_sees_a_changed_object(rclone, s3, bucket, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "same.txt").write_bytes(b"same size 1\n")
    rclone("copy", str(src), f"coffer:{bucket}")
    s3.put_object(Bucket=bucket, Key="same.txt", Body=b"same size 2\n")
    with pytest.raises(AssertionError, match="1 differences found"):
        rclone("check", str(src), f"coffer:{bucket}")


def test_rclone_lists_and_reads_old_versions(rclone, s3, bucket, tmp_path):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    local = tmp_path / "f.txt"
    for i in range(3):              # a first write, then two overwrites
        local.write_text(f"content {i}\n")
        rclone("copyto", str(local), f"coffer:{bucket}/f.txt")

    names = rclone("lsf", "--s3-versions", f"coffer:{bucket}").split()
    old = sorted(n for n in names if n != "f.txt")
    assert "f.txt" in names and len(names) == 3
    assert all(VERSION_NAME.match(n) for n in old), names
    assert _listing(rclone("ls", "--s3-versions", f"coffer:{bucket}")).keys() == set(names)
    # the suffix is the version's modification time, so sorting the names sorts the versions
    assert [rclone("cat", "--s3-versions", f"coffer:{bucket}/{n}") for n in old] == ["content 0\n", "content 1\n"]
    assert rclone("cat", f"coffer:{bucket}/f.txt") == "content 2\n"
    assert rclone("lsf", f"coffer:{bucket}").split() == ["f.txt"]

    rclone("deletefile", f"coffer:{bucket}/f.txt")        # a delete marker hides the key
    assert rclone("lsf", f"coffer:{bucket}") == ""
    assert len(rclone("lsf", "--s3-versions", f"coffer:{bucket}").split()) == 3
    first = s3.list_object_versions(Bucket=bucket)["Versions"][-1]["LastModified"]
    at = first.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert rclone("cat", "--s3-version-at", at, f"coffer:{bucket}/f.txt") == "content 0\n"

    rclone("backend", "cleanup-hidden", f"coffer:{bucket}")    # deletes every non-current version
    listed = s3.list_object_versions(Bucket=bucket)
    assert listed.get("Versions", []) == [] and rclone("lsf", "--s3-versions", f"coffer:{bucket}") == ""
