"""Small bodies kept in their object's record (shared/data_inline.py) on a real cluster through boto3:
they read back whole, by range and by part; versions, copies, multipart and SSE keep working; they
add no data file, leave nothing for GC, and fsck finds the store clean. COFFER_INLINE_MAX=0 turns
it off. Which bodies stay inline is read from the data daemon's directory, so the module needs disk."""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from shared import constants as C
from tests.load import coffer

pytestmark = pytest.mark.needs_disk
LIMIT = C.INLINE_MAX_BYTES


def data_files(cluster) -> set[Path]:
    return {p for p in (cluster.root / "data").rglob("*") if p.is_file() and not p.name.endswith(".tmp")}


@pytest.fixture(scope="module")
def inline_cluster(tmp_path_factory):
    from tests.cluster import Cluster
    c = Cluster(tmp_path_factory.mktemp("inline"),
                env={"COFFER_KMS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}).start()
    yield c
    c.stop()


@pytest.fixture
def s3i(inline_cluster):
    return inline_cluster.client()


def new_bucket(s3, name: str) -> str:
    bucket = f"inline-{os.getpid()}-{name}"
    s3.create_bucket(Bucket=bucket)
    return bucket


def test_bodies_up_to_the_limit_stay_in_their_records(inline_cluster, s3i):
    bucket = new_bucket(s3i, "limit")
    before = data_files(inline_cluster)
    bodies = {"one": b"x", "small": os.urandom(100), "edge": os.urandom(LIMIT), "over": os.urandom(LIMIT + 1)}
    for key, body in bodies.items():
        etag = s3i.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
        assert etag == f'"{hashlib.md5(body).hexdigest()}"'
    assert len(data_files(inline_cluster) - before) == 1          # only the body over the limit
    for key, body in bodies.items():
        got = s3i.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body and got["ContentLength"] == len(body)
        assert s3i.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)
    edge = bodies["edge"]
    assert s3i.get_object(Bucket=bucket, Key="edge", Range="bytes=10-19")["Body"].read() == edge[10:20]
    assert s3i.get_object(Bucket=bucket, Key="edge", Range="bytes=-5")["Body"].read() == edge[-5:]
    assert s3i.get_object(Bucket=bucket, Key="edge", PartNumber=1)["Body"].read() == edge
    listed = s3i.list_objects_v2(Bucket=bucket)["Contents"]
    assert {o["Key"]: o["Size"] for o in listed} == {k: len(b) for k, b in bodies.items()}
    s3i.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3i.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


def test_versions_copies_and_deletes(inline_cluster, s3i):
    bucket = new_bucket(s3i, "versions")
    s3i.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    before = data_files(inline_cluster)
    v1 = s3i.put_object(Bucket=bucket, Key="k", Body=b"first")["VersionId"]
    v2 = s3i.put_object(Bucket=bucket, Key="k", Body=b"second")["VersionId"]
    assert s3i.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"first"
    assert s3i.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"
    s3i.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1})
    assert s3i.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"first"
    other = new_bucket(s3i, "copy-target")
    s3i.copy_object(Bucket=other, Key="k", CopySource={"Bucket": bucket, "Key": "k"})
    assert s3i.get_object(Bucket=other, Key="k")["Body"].read() == b"second"
    s3i.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3i.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first"
    s3i.delete_object(Bucket=bucket, Key="k")                      # a delete marker over v1
    assert s3i.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"first"
    assert data_files(inline_cluster) == before


def test_multipart_with_small_parts(inline_cluster, s3i):
    bucket = new_bucket(s3i, "mpu")
    source = os.urandom(300)
    s3i.put_object(Bucket=bucket, Key="source", Body=source)
    before = data_files(inline_cluster)
    upload = s3i.create_multipart_upload(Bucket=bucket, Key="whole")["UploadId"]
    s3i.upload_part(Bucket=bucket, Key="whole", UploadId=upload, PartNumber=1, Body=b"replaced")
    one = s3i.upload_part(Bucket=bucket, Key="whole", UploadId=upload, PartNumber=1, Body=b"tiny part")
    s3i.complete_multipart_upload(Bucket=bucket, Key="whole", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": one["ETag"]}]})
    assert s3i.get_object(Bucket=bucket, Key="whole")["Body"].read() == b"tiny part"
    upload = s3i.create_multipart_upload(Bucket=bucket, Key="copied")["UploadId"]
    part = s3i.upload_part_copy(Bucket=bucket, Key="copied", UploadId=upload, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange="bytes=100-199")
    s3i.complete_multipart_upload(Bucket=bucket, Key="copied", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert s3i.get_object(Bucket=bucket, Key="copied")["Body"].read() == source[100:200]
    aborted = s3i.create_multipart_upload(Bucket=bucket, Key="aborted")["UploadId"]
    s3i.upload_part(Bucket=bucket, Key="aborted", UploadId=aborted, PartNumber=1, Body=b"gone")
    s3i.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=aborted)
    assert data_files(inline_cluster) == before


def test_encrypted_small_bodies_are_kept_sealed(inline_cluster, s3i):
    bucket = new_bucket(s3i, "sse")
    body, plain = b"secret text " * 20, b"plain text " * 20
    s3i.put_object(Bucket=bucket, Key="k", Body=body, ServerSideEncryption="AES256")
    s3i.put_object(Bucket=bucket, Key="plain", Body=plain)
    got = s3i.get_object(Bucket=bucket, Key="k", Range="bytes=7-10")
    assert got["Body"].read() == body[7:11] and got["ServerSideEncryption"] == "AES256"
    records = b"".join(p.read_bytes() for p in (inline_cluster.root / "metadata").rglob("*") if p.is_file())
    assert base64.b64encode(plain[:48]) in records              # the records are readable here: a fair test
    assert base64.b64encode(body[:48]) not in records and body[:12] not in records


def test_fsck_and_gc_see_nothing_of_them(inline_cluster, s3i):
    bucket = new_bucket(s3i, "fsck")
    for i in range(20):
        s3i.put_object(Bucket=bucket, Key=f"k{i}", Body=os.urandom(i * 200))
    for i in range(10):
        s3i.delete_object(Bucket=bucket, Key=f"k{i}")
    report = coffer(inline_cluster, "fsck")
    assert report["ok"] and not report["missing"] and not report["wrong_size"], report
    assert report["orphans"] == 0
    swept = coffer(inline_cluster, "gc", "--sweep")
    assert (swept["entries"], swept["failed"], swept["orphans"]) == (0, 0, 0), swept    # nothing to collect
    for i in range(10, 20):
        assert len(s3i.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read()) == i * 200


def test_inline_max_zero_keeps_every_body_in_the_data_daemon(fresh_cluster):
    c = fresh_cluster()
    s3 = c.client()
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="plain", Key="kept-inline", Body=b"from before")
    c.env["COFFER_INLINE_MAX"] = "0"            # the front-end restarted with inlining off
    c.kill("s3-0")
    c.start_frontend()
    before = data_files(c)
    for i in range(3):
        s3.put_object(Bucket="plain", Key=f"k{i}", Body=b"small")
    assert len(data_files(c) - before) == 3
    assert s3.get_object(Bucket="plain", Key="k1")["Body"].read() == b"small"
    # What was stored inline before still reads, whole and by range.
    assert s3.get_object(Bucket="plain", Key="kept-inline")["Body"].read() == b"from before"
    assert s3.get_object(Bucket="plain", Key="kept-inline", Range="bytes=5-10")["Body"].read() == b"before"
