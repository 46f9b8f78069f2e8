"""Conditional PUT (If-None-Match, If-Match), decided by the metadata daemon under its key lock."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.expect import s3_error


def test_if_none_match_star_creates_only_once(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")["ETag"]
    assert s3_error(s3.put_object, Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*") == \
        (412, "PreconditionFailed")
    got = s3.get_object(Bucket=bucket, Key="once")
    assert got["Body"].read() == b"first" and got["ETag"] == etag
    s3.delete_object(Bucket=bucket, Key="once")
    s3.put_object(Bucket=bucket, Key="once", Body=b"again", IfNoneMatch="*")


def test_if_none_match_with_an_etag(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="e", Body=b"v1")["ETag"]
    assert s3_error(s3.put_object, Bucket=bucket, Key="e", Body=b"v2", IfNoneMatch=etag) == \
        (412, "PreconditionFailed")
    s3.put_object(Bucket=bucket, Key="e", Body=b"v2", IfNoneMatch='"0123456789abcdef0123456789abcdef"')
    assert s3.get_object(Bucket=bucket, Key="e")["Body"].read() == b"v2"


def test_if_match(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="m", Body=b"v1")["ETag"]
    assert s3_error(s3.put_object, Bucket=bucket, Key="m", Body=b"v2", IfMatch='"badetag"') == \
        (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"v1"
    new = s3.put_object(Bucket=bucket, Key="m", Body=b"v2", IfMatch=etag)["ETag"]
    s3.put_object(Bucket=bucket, Key="m", Body=b"v3", IfMatch=new.strip('"'))     # unquoted works too
    s3.put_object(Bucket=bucket, Key="m", Body=b"v4", IfMatch="*")
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"v4"


def test_if_match_on_a_missing_key_is_no_such_key(s3, bucket):
    assert s3_error(s3.put_object, Bucket=bucket, Key="absent", Body=b"x", IfMatch='"abc"') == (404, "NoSuchKey")
    assert s3_error(s3.put_object, Bucket=bucket, Key="absent", Body=b"x", IfMatch="*") == (404, "NoSuchKey")
    assert s3_error(s3.get_object, Bucket=bucket, Key="absent") == (404, "NoSuchKey")


def test_a_delete_marker_is_no_object(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    etag = s3.put_object(Bucket=bucket, Key="dm", Body=b"x")["ETag"]
    s3.delete_object(Bucket=bucket, Key="dm")
    assert s3_error(s3.put_object, Bucket=bucket, Key="dm", Body=b"y", IfMatch=etag) == (404, "NoSuchKey")
    s3.put_object(Bucket=bucket, Key="dm", Body=b"y", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="dm")["Body"].read() == b"y"


@pytest.mark.needs_disk
def test_no_data_is_left_behind_by_a_refused_write(cluster, s3, bucket):
    """The bytes of a refused conditional PUT are deleted at once: the data directory does not grow."""
    s3.put_object(Bucket=bucket, Key="full", Body=b"x")
    data = cluster.root / "data"
    before = sum(1 for p in data.rglob("*") if p.is_file())
    for _ in range(5):
        assert s3_error(s3.put_object, Bucket=bucket, Key="full", Body=b"y" * 1000, IfNoneMatch="*")[0] == 412
    assert sum(1 for p in data.rglob("*") if p.is_file()) <= before


def test_two_frontends_race_and_exactly_one_wins(fresh_cluster):
    c = fresh_cluster(frontends=2)
    clients = [c.client(i=0), c.client(i=1)]
    clients[0].create_bucket(Bucket="race")

    def attempt(job: tuple[int, int]) -> tuple[int, bool]:
        key, side = job
        try:
            clients[side].put_object(Bucket="race", Key=f"k{key}", Body=f"{side}".encode(), IfNoneMatch="*")
            return key, True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "PreconditionFailed"
            return key, False

    jobs = [(key, side) for key in range(30) for side in (0, 1, 0, 1)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, jobs))
    wins = {key: sum(ok for k, ok in outcomes if k == key) for key in range(30)}
    assert set(wins.values()) == {1}


def _open_upload(s3, bucket: str, key: str, body: bytes) -> tuple[str, list[dict]]:
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=body)["ETag"]
    return uid, [{"PartNumber": 1, "ETag": etag}]


def _complete(s3, bucket: str, key: str, upload: tuple[str, list[dict]], **condition) -> dict:
    uid, parts = upload
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts},
                                        **condition)


def test_conditional_multipart_completion(s3, bucket):
    assert s3_error(_complete, s3, bucket, "mp", _open_upload(s3, bucket, "mp", b"a"), IfMatch="*") == \
        (404, "NoSuchKey")
    first = _complete(s3, bucket, "mp", _open_upload(s3, bucket, "mp", b"one"), IfNoneMatch="*")["ETag"]
    refused = _open_upload(s3, bucket, "mp", b"two")
    assert s3_error(_complete, s3, bucket, "mp", refused, IfNoneMatch="*") == (412, "PreconditionFailed")
    assert s3_error(_complete, s3, bucket, "mp", refused, IfMatch='"badetag"') == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"one"
    _complete(s3, bucket, "mp", refused, IfMatch=first)       # a refused completion leaves the upload open
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"two"


def test_racing_completions_with_if_none_match_one_wins(s3, bucket):
    uploads = [_open_upload(s3, bucket, "race", f"body {i}".encode()) for i in range(6)]

    def attempt(upload) -> bool:
        try:
            _complete(s3, bucket, "race", upload, IfNoneMatch="*")
            return True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "PreconditionFailed"
            return False

    with ThreadPoolExecutor(6) as pool:
        assert sum(pool.map(attempt, uploads)) == 1
