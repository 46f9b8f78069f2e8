"""PutObject, GetObject, HeadObject, DeleteObject with boto3: sizes, metadata, digests, ranges, errors."""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from xml.etree import ElementTree

import httpx
import pytest

from tests.expect import s3_error, s3_error_message, xml_error
from tests.signing import EMPTY_SHA256, sign_v4

MIB = 2**20


def sha256_of_body(body) -> str:
    """Hash a streamed GET body chunk by chunk, never holding it whole."""
    h = hashlib.sha256()
    for chunk in body.iter_chunks(MIB):
        h.update(chunk)
    return h.hexdigest()


def random_file(path: Path, size: int) -> str:
    """Write `size` random bytes to `path`, one MiB at a time; returns their SHA-256."""
    h = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(MIB, left))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


@pytest.mark.parametrize("size", [0, 1, MIB])
def test_put_get_head_delete_small(s3, bucket, size):
    data = os.urandom(size)
    put = s3.put_object(Bucket=bucket, Key=f"obj-{size}", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    head = s3.head_object(Bucket=bucket, Key=f"obj-{size}")
    assert head["ContentLength"] == size and head["ETag"] == put["ETag"]
    got = s3.get_object(Bucket=bucket, Key=f"obj-{size}")
    assert got["ContentLength"] == size
    assert sha256_of_body(got["Body"]) == hashlib.sha256(data).hexdigest()
    deleted = s3.delete_object(Bucket=bucket, Key=f"obj-{size}")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3_error(s3.get_object, Bucket=bucket, Key=f"obj-{size}") == (404, "NoSuchKey")


def test_put_get_100_mib_streamed_from_a_file(s3, bucket, tmp_path):
    size = 100 * MIB
    path = tmp_path / "big"
    digest = random_file(path, size)
    with path.open("rb") as f:
        s3.put_object(Bucket=bucket, Key="big", Body=f)
    path.unlink()
    assert s3.head_object(Bucket=bucket, Key="big")["ContentLength"] == size
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["ContentLength"] == size
    assert sha256_of_body(got["Body"]) == digest
    tail = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={size - 10}-")
    assert tail["ContentRange"] == f"bytes {size - 10}-{size - 1}/{size}" and len(tail["Body"].read()) == 10
    s3.delete_object(Bucket=bucket, Key="big")


def test_user_metadata_round_trip(s3, bucket):
    meta = {"color": "blue", "mixed-case": "Value With Spaces", "empty": ""}
    s3.put_object(Bucket=bucket, Key="m", Body=b"hello", Metadata=meta)
    assert s3.head_object(Bucket=bucket, Key="m")["Metadata"] == meta
    assert s3.get_object(Bucket=bucket, Key="m")["Metadata"] == meta


def test_content_type_round_trip(s3, bucket):
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<p>hi</p>", ContentType="text/html; charset=utf-8")
    assert s3.head_object(Bucket=bucket, Key="page.html")["ContentType"] == "text/html; charset=utf-8"
    assert s3.get_object(Bucket=bucket, Key="page.html")["ContentType"] == "text/html; charset=utf-8"


def test_overwrite_replaces_the_bytes(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second version")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second version"


def test_missing_key(s3, bucket):
    assert s3_error(s3.get_object, Bucket=bucket, Key="absent") == (404, "NoSuchKey")
    assert s3_error(s3.head_object, Bucket=bucket, Key="absent") == (404, "404")   # HEAD has no body
    # Deleting a key that is not there succeeds, as S3 does.
    assert s3.delete_object(Bucket=bucket, Key="absent")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_error_body_names_code_message_resource_and_request_id(s3, bucket):
    url = f"{s3.meta.endpoint_url}/{bucket}/no/such-key"
    resp = httpx.get(url, headers=sign_v4("GET", url, {}, EMPTY_SHA256))
    assert resp.status_code == 404 and resp.headers["content-type"] == "application/xml"
    root = ElementTree.fromstring(resp.content)
    assert root.tag == "Error"
    assert root.findtext("Code") == "NoSuchKey"
    assert root.findtext("Message") == "The specified key does not exist."
    assert root.findtext("Key") == "no/such-key"
    assert root.findtext("Resource") == f"/{bucket}/no/such-key"
    assert root.findtext("RequestId") == resp.headers["x-amz-request-id"]


def test_wrong_content_md5_is_bad_digest_and_stores_nothing(s3, bucket):
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    assert s3_error(s3.put_object, Bucket=bucket, Key="bad", Body=b"payload", ContentMD5=wrong) == \
        (400, "BadDigest")
    assert s3_error(s3.get_object, Bucket=bucket, Key="bad") == (404, "NoSuchKey")
    right = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    s3.put_object(Bucket=bucket, Key="good", Body=b"payload", ContentMD5=right)
    assert s3.get_object(Bucket=bucket, Key="good")["Body"].read() == b"payload"


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_malformed_content_md5_is_invalid_digest(s3, bucket, value):
    url = f"{s3.meta.endpoint_url}/{bucket}/invalid-digest"
    body = b"payload"
    headers = sign_v4("PUT", url, {"Content-Length": str(len(body)), "Content-MD5": value},
                      hashlib.sha256(body).hexdigest())
    assert xml_error(httpx.put(url, headers=headers, content=body)) == (400, "InvalidDigest")
    assert s3_error(s3.get_object, Bucket=bucket, Key="invalid-digest") == (404, "NoSuchKey")


def test_get_of_a_delete_marker_by_version_is_method_not_allowed(s3, bucket):
    # S3 answers 405 to GET or HEAD of a delete marker named by its version id.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    marker = s3.delete_object(Bucket=bucket, Key="gone")
    assert marker["DeleteMarker"] is True
    url = f"{s3.meta.endpoint_url}/{bucket}/gone?versionId={marker['VersionId']}"
    resp = httpx.get(url, headers=sign_v4("GET", url, {}, EMPTY_SHA256))
    assert xml_error(resp) == (405, "MethodNotAllowed")
    assert resp.headers["x-amz-delete-marker"] == "true"
    assert s3_error(s3.get_object, Bucket=bucket, Key="gone", VersionId=marker["VersionId"]) == \
        (405, "MethodNotAllowed")


def test_unbuilt_operation_is_not_implemented_and_named(s3, bucket):
    assert s3_error(s3.get_bucket_website, Bucket=bucket) == (501, "NotImplemented")
    assert "GetBucketWebsite" in s3_error_message(s3.get_bucket_website, Bucket=bucket)


@pytest.fixture
def hundred(s3, bucket):
    data = bytes(range(100))
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    return data


@pytest.mark.parametrize("header,start,end", [
    ("bytes=0-9", 0, 9),
    ("bytes=10-", 10, 99),
    ("bytes=-5", 95, 99),
    ("bytes=50-1000", 50, 99),          # an end past the object is cut to its last byte
    ("bytes=99-99", 99, 99),
])
def test_range_get(s3, bucket, hundred, header, start, end):
    got = s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {start}-{end}/100"
    assert got["ContentLength"] == end - start + 1
    assert got["Body"].read() == hundred[start:end + 1]


def test_range_head(s3, bucket, hundred):
    head = s3.head_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert head["ContentRange"] == "bytes 10-19/100" and head["ContentLength"] == 10


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=500-600"])
def test_unsatisfiable_range_is_invalid_range(s3, bucket, hundred, header):
    assert s3_error(s3.get_object, Bucket=bucket, Key="r", Range=header) == (416, "InvalidRange")


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=9-3", "items=0-1"])
def test_malformed_range_is_ignored(s3, bucket, hundred, header):
    got = s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == hundred


def _chunked_put(url: str, parts: list[bytes]) -> httpx.Response:
    """A PUT with Transfer-Encoding: chunked and no Content-Length (httpx sends a generator chunked)."""
    headers = sign_v4("PUT", url, {}, "UNSIGNED-PAYLOAD")
    return httpx.put(url, headers=headers, content=iter(parts))


@pytest.mark.parametrize("parts", [[b"bar"], [os.urandom(700_000), os.urandom(1_300_000), b"tail"], []])
def test_put_with_http_chunked_body_and_no_length(s3, bucket, parts):
    url = f"{s3.meta.endpoint_url}/{bucket}/chunked"
    resp = _chunked_put(url, parts)
    assert resp.status_code == 200, resp.text
    body = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["ContentLength"] == len(body) and got["Body"].read() == body
    assert got["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'


def test_put_with_http_chunked_body_via_boto3(s3, bucket):
    def chunked(request, **_):
        request.headers.add_header("Transfer-Encoding", "chunked")   # botocore then sends no Content-Length

    s3.meta.events.register_first("before-sign.s3.PutObject", chunked)
    s3.put_object(Bucket=bucket, Key="te", Body=b"bar")
    s3.meta.events.unregister("before-sign.s3.PutObject", chunked)
    assert s3.get_object(Bucket=bucket, Key="te")["Body"].read() == b"bar"
