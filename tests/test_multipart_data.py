"""Multipart uploads and their data: what abort, re-upload and completion reclaim, races with abort,
big transfers by boto3 and the aws CLI, and two front-ends sharing one upload."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading

import boto3.s3.transfer
import pytest
from botocore.exceptions import ClientError

from tests.cluster import ACCESS_KEY, SECRET_KEY
from shared import constants as C
from tests.test_multipart import MiB, PART, ZERO_PART, complete, data_files, part, start, wait_gone

# Bodies past the inline limit: these tests watch the data files of parts (small ones live in their
# records: tests/test_inline.py).
PAD = C.INLINE_MAX_BYTES

@pytest.mark.needs_disk
def test_part_reupload_keeps_the_last_and_drops_the_first(cluster, s3, bucket):
    uid = start(s3, bucket)
    before = data_files(cluster)
    part(s3, bucket, uid, 1, b"first version".ljust(PAD + 1))
    first_file = data_files(cluster) - before
    assert len(first_file) == 1
    p = part(s3, bucket, uid, 1, b"second version".ljust(PAD + 1))
    listed = s3.list_parts(Bucket=bucket, Key="obj", UploadId=uid)["Parts"]
    assert [(x["PartNumber"], x["ETag"], x["Size"]) for x in listed] == [(1, p["ETag"], PAD + 1)]
    assert wait_gone(first_file) == set()
    complete(s3, bucket, uid, [p])
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"second version".ljust(PAD + 1)


@pytest.mark.needs_disk
def test_abort_deletes_part_data(cluster, s3, bucket):
    before = data_files(cluster)
    uid = start(s3, bucket)
    part(s3, bucket, uid, 1, b"a" * (PAD + 1))
    part(s3, bucket, uid, 2, b"b" * (PAD + 1))
    created = data_files(cluster) - before
    assert len(created) == 2
    resp = s3.abort_multipart_upload(Bucket=bucket, Key="obj", UploadId=uid)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert wait_gone(created) == set()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.needs_disk
def test_unlisted_parts_are_deleted_at_completion(cluster, s3, bucket):
    uid = start(s3, bucket)
    before = data_files(cluster)
    kept = [part(s3, bucket, uid, 1, ZERO_PART), part(s3, bucket, uid, 2, b"end" * PAD)]
    kept_files = data_files(cluster) - before
    part(s3, bucket, uid, 3, b"never listed" * PAD)
    part(s3, bucket, uid, 4, b"nor this one" * PAD)
    unused = data_files(cluster) - before - kept_files
    assert len(kept_files) == 2 and len(unused) == 2
    complete(s3, bucket, uid, kept)
    assert wait_gone(unused) == set()
    assert all(p.exists() for p in kept_files)
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == ZERO_PART + b"end" * PAD


def test_boto3_upload_file_40_mib(s3, bucket, tmp_path):
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    src.write_bytes(os.urandom(40 * MiB))
    config = boto3.s3.transfer.TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)
    s3.upload_file(str(src), bucket, "big", Config=config)
    assert s3.head_object(Bucket=bucket, Key="big")["ETag"].endswith('-5"')
    s3.download_file(bucket, "big", str(dst), Config=config)
    assert hashlib.sha256(dst.read_bytes()).hexdigest() == hashlib.sha256(src.read_bytes()).hexdigest()


def test_aws_cli_cp_both_ways(cluster, s3, bucket, tmp_path):
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    src.write_bytes(os.urandom(50 * MiB + 123))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    aws = [sys.executable, "-m", "awscli", "--endpoint-url", cluster.endpoint, "s3", "cp"]
    subprocess.run(aws + [str(src), f"s3://{bucket}/cli.bin"], env=env, check=True, capture_output=True)
    assert s3.head_object(Bucket=bucket, Key="cli.bin")["ETag"].endswith('-7"')     # 8 MiB parts: multipart
    subprocess.run(aws + [f"s3://{bucket}/cli.bin", str(dst)], env=env, check=True, capture_output=True)
    assert hashlib.sha256(dst.read_bytes()).hexdigest() == hashlib.sha256(src.read_bytes()).hexdigest()


def test_two_frontends_upload_parts_of_one_upload(fresh_cluster):
    c = fresh_cluster(frontends=2)
    clients = [c.client(i=0), c.client(i=1)]
    clients[0].create_bucket(Bucket="shared-upload")
    uid = start(clients[0], "shared-upload")
    bodies = {n: os.urandom(PART) for n in range(1, 7)}
    etags: dict[int, str] = {}

    def upload(i: int) -> None:
        for n in range(1 + i, 7, 2):
            etags[n] = part(clients[i], "shared-upload", uid, n, bodies[n])["ETag"]

    threads = [threading.Thread(target=upload, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(etags) == list(range(1, 7))
    listed = clients[0].list_parts(Bucket="shared-upload", Key="obj", UploadId=uid)["Parts"]
    assert [p["ETag"] for p in listed] == [etags[n] for n in range(1, 7)]
    complete(clients[1], "shared-upload", uid, [{"PartNumber": n, "ETag": etags[n]} for n in range(1, 7)])
    whole = b"".join(bodies[n] for n in range(1, 7))
    assert clients[0].get_object(Bucket="shared-upload", Key="obj")["Body"].read() == whole


@pytest.mark.needs_disk
def test_parts_racing_an_abort_leave_no_data(cluster, s3, bucket):
    before = data_files(cluster)
    uid = start(s3, bucket)
    outcomes: list[str] = []

    def upload(n: int) -> None:
        try:
            part(s3, bucket, uid, n, os.urandom(64 * 1024))
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(1, 9)]
    for t in threads[:4]:
        t.start()
    s3.abort_multipart_upload(Bucket=bucket, Key="obj", UploadId=uid)
    for t in threads[4:]:
        t.start()
    for t in threads:
        t.join()
    assert set(outcomes) <= {"ok", "NoSuchUpload"} and outcomes.count("NoSuchUpload") >= 4
    assert wait_gone(data_files(cluster) - before) == set()
