"""`S3BACKEND=mem coffer serve` (or `--backend mem`): the same daemons in memory, nothing on disk.

`coffer serve` runs in an empty temporary directory as its working directory (the default data and
metadata paths are relative to it); after S3 calls of every kind, and after it stops, the directory
is still empty. The S3 families themselves run in memory mode through COFFER_TEST_BACKEND=mem.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dmd.data.memory import MemoryStore
from dmd.data.store import hash_dir
from tests.cluster import NOT_INLINE, SECRET, Cluster, free_port, s3_client, wait_port


@pytest.fixture(params=["env", "flag"])
def serve_in_memory(request, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """`coffer serve` with the memory backend (by S3BACKEND or by --backend), cwd an empty directory."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    ports = {"COFFER_PORT": free_port(), "METADATA_PORT": free_port(), "DATA_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "LOG_LEVEL": "WARNING"}
    for name in ("COFFER_CLUSTER_SECRET", "COFFER_CLUSTER_SECRET_FILE", "S3DATAPATH", "S3METADATAPATH",
                 "COFFER_CONFIG", "S3BACKEND", "COFFER_ACCESS_KEY_ID", "COFFER_SECRET_ACCESS_KEY", "S3AUTH_CONFIG"):
        env.pop(name, None)
    args = [sys.executable, "-m", "services.cli", "serve"]
    if request.param == "env":
        env["S3BACKEND"] = "mem"
    else:
        args += ["--backend", "mem"]
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(ports["COFFER_PORT"])
        yield cwd, f"http://127.0.0.1:{ports['COFFER_PORT']}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    assert list(cwd.iterdir()) == [], "coffer serve left files behind in memory mode"


def test_serve_in_memory_writes_nothing_to_disk(serve_in_memory: tuple[Path, str]) -> None:
    cwd, endpoint = serve_in_memory
    s3 = s3_client(endpoint, retries={"max_attempts": 5, "mode": "standard"})   # the daemons may still be starting
    s3.create_bucket(Bucket="mem")
    s3.put_bucket_versioning(Bucket="mem", VersioningConfiguration={"Status": "Enabled"})
    big = os.urandom(600_000)                      # past the inline read size: streamed in chunks
    first = s3.put_object(Bucket="mem", Key="k", Body=big)["VersionId"]
    s3.put_object(Bucket="mem", Key="k", Body=b"second")
    assert s3.get_object(Bucket="mem", Key="k", VersionId=first)["Body"].read() == big
    assert s3.get_object(Bucket="mem", Key="k", Range="bytes=1-3")["Body"].read() == b"eco"
    upload = s3.create_multipart_upload(Bucket="mem", Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket="mem", Key="mp", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    s3.complete_multipart_upload(Bucket="mem", Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket="mem", Key="mp")["Body"].read() == b"part"
    versions = s3.list_object_versions(Bucket="mem")["Versions"]
    assert sorted((v["Key"], v["IsLatest"]) for v in versions) == [("k", False), ("k", True), ("mp", True)]
    for v in versions:
        s3.delete_object(Bucket="mem", Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket="mem")
    assert list(cwd.iterdir()) == []


def stored_sizes(c: Cluster) -> list[int]:
    """The sizes of the bodies the data daemon holds, through its listing API (what the sweeper reads)."""
    reply = httpx.get(f"http://127.0.0.1:{c.data_port}/DataFile", params={"list": "", "limit": "1000"},
                      headers={"Authorization": f"Bearer {SECRET}"}, timeout=10)
    reply.raise_for_status()
    return sorted(item["size"] for item in reply.json()["items"])


def test_dropped_data_is_deleted_from_memory(fresh_cluster) -> None:
    """Overwritten, deleted and aborted bodies leave the data daemon's memory, as their files leave the disk."""
    c = fresh_cluster(env={"S3BACKEND": "mem", **NOT_INLINE})
    s3 = c.client()
    s3.create_bucket(Bucket="mem-gc")
    s3.put_object(Bucket="mem-gc", Key="kept", Body=b"kept")
    s3.put_object(Bucket="mem-gc", Key="over", Body=b"first body")
    s3.put_object(Bucket="mem-gc", Key="over", Body=b"second")
    s3.put_object(Bucket="mem-gc", Key="gone", Body=b"x" * 100_000)
    s3.delete_object(Bucket="mem-gc", Key="gone")
    upload = s3.create_multipart_upload(Bucket="mem-gc", Key="mp")["UploadId"]
    s3.upload_part(Bucket="mem-gc", Key="mp", UploadId=upload, PartNumber=1, Body=b"aborted part")
    s3.abort_multipart_upload(Bucket="mem-gc", Key="mp", UploadId=upload)
    deadline = time.monotonic() + 15          # the front-end deletes dropped data just after answering
    while stored_sizes(c) != [4, 6] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_sizes(c) == [4, 6]
    assert s3.get_object(Bucket="mem-gc", Key="over")["Body"].read() == b"second"
    assert not (c.root / "data").exists() and not (c.root / "metadata").exists()


def test_memory_data_store_lists_like_the_file_store() -> None:
    """The sweeper pages through data keys in FileStore's order, with its `d/key` cursor."""
    store = MemoryStore()
    keys = [store.store_small(b"x" * i) for i in range(30)]
    store.delete(keys.pop(7))
    listed, after = [], None
    while True:
        items, after = store.list_keys(after, 4)
        listed += items
        if after is None:
            break
        assert after == f"{hash_dir(items[-1]['key'])}/{items[-1]['key']}"
    assert [i["key"] for i in listed] == sorted(keys, key=lambda k: (hash_dir(k), k))
    assert {i["key"]: i["size"] for i in listed} == {k: len(store.open_blob(k).data) for k in keys}
    with pytest.raises(FileNotFoundError):
        store.open_blob("0" * 40)
