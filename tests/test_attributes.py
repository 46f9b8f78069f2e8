"""GetObjectAttributes with real clients: the attributes asked for, parts and their paging, versions,
delete markers and malformed requests."""
from __future__ import annotations

import base64
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from tests.signing import send_v4

PART = 5 * 2**20
ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def error_of(exc: ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _multipart(s3, bucket: str, bodies: list[bytes], algorithm: str | None = None) -> dict:
    extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", **extra)["UploadId"]
    parts = []
    for n, body in enumerate(bodies, 1):
        resp = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=n, Body=body, **extra)
        parts.append({"PartNumber": n, "ETag": resp["ETag"]})
    return s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})


def test_attributes_of_a_simple_object(s3, bucket):
    body = b"attributes"
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm="SHA256")
    got = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=ALL)
    assert got["ETag"] == put["ETag"].strip('"') and got["ObjectSize"] == len(body)
    assert got["StorageClass"] == "STANDARD" and "ObjectParts" not in got
    assert got["Checksum"] == {"ChecksumSHA256": sha256_b64(body), "ChecksumType": "FULL_OBJECT"}
    assert "LastModified" in got and "VersionId" not in got
    only = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"])
    assert only["ObjectSize"] == len(body) and "ETag" not in only and "Checksum" not in only


def test_parts_of_a_multipart_object_with_checksums(s3, bucket):
    bodies = [os.urandom(PART), os.urandom(PART), b"tail"]
    done = _multipart(s3, bucket, bodies, "SHA256")
    got = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=ALL)
    assert got["ETag"] == done["ETag"].strip('"') and got["ObjectSize"] == 2 * PART + 4
    assert got["Checksum"]["ChecksumSHA256"] == done["ChecksumSHA256"]
    assert got["Checksum"]["ChecksumType"] == "COMPOSITE"
    parts = got["ObjectParts"]
    assert parts["TotalPartsCount"] == 3 and parts["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in parts["Parts"]] == \
        [(n, len(b), sha256_b64(b)) for n, b in enumerate(bodies, 1)]


def test_parts_page_with_marker_and_max_parts(s3, bucket):
    _multipart(s3, bucket, [b"\0" * PART] * 3 + [b"end"])
    page = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"],
                                    MaxParts=1, PartNumberMarker=2)["ObjectParts"]
    assert (page["TotalPartsCount"], page["PartNumberMarker"], page["MaxParts"]) == (4, 2, 1)
    assert page["IsTruncated"] is True and page["NextPartNumberMarker"] == 3
    assert [(p["PartNumber"], p["Size"]) for p in page["Parts"]] == [(3, PART)]
    assert "ChecksumSHA256" not in page["Parts"][0]
    rest = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"],
                                    MaxParts=10, PartNumberMarker=3)["ObjectParts"]
    assert rest["IsTruncated"] is False and [p["PartNumber"] for p in rest["Parts"]] == [4]


def test_versions_and_delete_markers(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="v", Body=b"three")
    old = s3.get_object_attributes(Bucket=bucket, Key="v", VersionId=v1, ObjectAttributes=["ObjectSize"])
    assert old["VersionId"] == v1 and old["ObjectSize"] == 3
    marker = s3.delete_object(Bucket=bucket, Key="v")["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3.get_object_attributes(Bucket=bucket, Key="v", ObjectAttributes=["ObjectSize"])
    assert error_of(exc.value) == (404, "NoSuchKey")
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as exc:
        s3.get_object_attributes(Bucket=bucket, Key="v", VersionId=marker, ObjectAttributes=["ObjectSize"])
    assert error_of(exc.value) == (405, "MethodNotAllowed")


def test_missing_key_and_bad_attribute_lists(cluster, s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.get_object_attributes(Bucket=bucket, Key="none", ObjectAttributes=["ETag"])
    assert error_of(exc.value) == (404, "NoSuchKey")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = f"{cluster.endpoint}/{bucket}/k?attributes"
    missing = send_v4("GET", url, b"")
    assert missing.status_code == 400 and b"<Code>InvalidRequest</Code>" in missing.content
    unknown = send_v4("GET", url, b"", headers={"x-amz-object-attributes": "ETag,Colour"})
    assert unknown.status_code == 400 and b"<Code>InvalidArgument</Code>" in unknown.content


def test_only_the_owner_reads_attributes(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    other = cluster.client("accessKey2", "verySecretKey2")
    with pytest.raises(ClientError) as exc:
        other.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ETag"])
    assert error_of(exc.value) == (403, "AccessDenied")
