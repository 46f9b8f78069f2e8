"""Checksums of multipart objects: COMPOSITE and FULL_OBJECT types, the CRC combination, the checksum a
completion announces, and a part's checksum on GET ?partNumber. The pure parts are tested without a server."""
from __future__ import annotations

import base64
import hashlib
import os

import pytest
from awscrt import checksums as crt
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.checksums import combine_crcs, upload_checksum_type
from shared.errors import S3Error

PART = 5 * 2**20
CRCS = {"crc32": (crt.crc32, 4), "crc32c": (crt.crc32c, 4), "crc64nvme": (crt.crc64nvme, 8)}


def crc_b64(algorithm: str, data: bytes) -> str:
    fn, width = CRCS[algorithm]
    return base64.b64encode(fn(data).to_bytes(width, "big")).decode()


def error_of(exc: ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]


# -- pure functions ----------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(algorithm=st.sampled_from(sorted(CRCS)), pieces=st.lists(st.binary(max_size=300), min_size=1, max_size=6))
def test_combined_crc_is_the_crc_of_the_concatenation(algorithm, pieces):
    combined = combine_crcs(algorithm, [(crc_b64(algorithm, p), len(p)) for p in pieces])
    assert combined == crc_b64(algorithm, b"".join(pieces))


def test_combining_nothing_is_an_error():
    with pytest.raises(ValueError):
        combine_crcs("crc32", [])


@pytest.mark.parametrize("algorithm, requested, kind", [
    (None, None, None), ("crc32", None, "COMPOSITE"), ("crc32c", "full_object", "FULL_OBJECT"),
    ("crc64nvme", None, "FULL_OBJECT"), ("sha256", "COMPOSITE", "COMPOSITE")])
def test_upload_checksum_type(algorithm, requested, kind):
    assert upload_checksum_type(algorithm, requested) == kind


@pytest.mark.parametrize("algorithm, requested", [
    (None, "COMPOSITE"), ("sha1", "FULL_OBJECT"), ("sha256", "FULL_OBJECT"), ("crc64nvme", "COMPOSITE"),
    ("crc32", "WHOLE")])
def test_refused_checksum_types(algorithm, requested):
    with pytest.raises(S3Error) as exc:
        upload_checksum_type(algorithm, requested)
    assert exc.value.code == "InvalidRequest"


# -- through the API -----------------------------------------------------------------------------
def _upload(s3, bucket: str, algorithm: str, bodies: list[bytes], **create) -> tuple[str, list[dict]]:
    name = algorithm.upper()
    created = s3.create_multipart_upload(Bucket=bucket, Key="obj", ChecksumAlgorithm=name, **create)
    uid, parts = created["UploadId"], []
    for n, body in enumerate(bodies, 1):
        resp = s3.upload_part(Bucket=bucket, Key="obj", UploadId=uid, PartNumber=n, Body=body, ChecksumAlgorithm=name)
        parts.append({"PartNumber": n, "ETag": resp["ETag"], f"Checksum{name}": resp[f"Checksum{name}"]})
    return uid, parts


@pytest.mark.parametrize("algorithm, create", [("crc32", {"ChecksumType": "FULL_OBJECT"}),
                                               ("crc32c", {"ChecksumType": "FULL_OBJECT"}), ("crc64nvme", {})])
def test_full_object_checksum_of_a_multipart_object(s3, bucket, algorithm, create):
    bodies = [os.urandom(PART), os.urandom(1000)]
    uid, parts = _upload(s3, bucket, algorithm, bodies, **create)
    whole, name = crc_b64(algorithm, b"".join(bodies)), f"Checksum{algorithm.upper()}"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="obj", UploadId=uid, MultipartUpload={"Parts": parts},
                                        **{name: whole})
    assert done[name] == whole and done["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert head[name] == whole and head["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key="obj", PartNumber=2, ChecksumMode="ENABLED")
    assert got[name] == crc_b64(algorithm, bodies[1]) and got["Body"].read() == bodies[1]


def test_create_answers_the_checksum_type(s3, bucket):
    created = s3.create_multipart_upload(Bucket=bucket, Key="obj", ChecksumAlgorithm="CRC32")
    assert created["ChecksumAlgorithm"] == "CRC32" and created["ChecksumType"] == "COMPOSITE"
    listed = s3.list_parts(Bucket=bucket, Key="obj", UploadId=created["UploadId"])
    assert listed["ChecksumType"] == "COMPOSITE"
    with pytest.raises(ClientError) as exc:
        s3.create_multipart_upload(Bucket=bucket, Key="obj", ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT")
    assert error_of(exc.value) == (400, "InvalidRequest")


def test_announced_composite_checksum_is_checked(s3, bucket):
    bodies = [os.urandom(PART), b"tail"]
    uid, parts = _upload(s3, bucket, "sha256", bodies)
    combined = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in bodies)).digest()
    right = base64.b64encode(combined).decode() + "-2"
    for announced in ("bad", base64.b64encode(hashlib.sha256(b"x").digest()).decode() + "-2"):
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(Bucket=bucket, Key="obj", UploadId=uid, MultipartUpload={"Parts": parts},
                                         ChecksumSHA256=announced)
        assert error_of(exc.value) == (400, "BadDigest")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0     # a refused completion leaves the upload open
    done = s3.complete_multipart_upload(Bucket=bucket, Key="obj", UploadId=uid, MultipartUpload={"Parts": parts},
                                        ChecksumSHA256=right)
    assert done["ChecksumSHA256"] == right and done["ChecksumType"] == "COMPOSITE"
    got = s3.get_object(Bucket=bucket, Key="obj", PartNumber=1, ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(bodies[0]).digest()).decode()
    assert got["ChecksumType"] == "COMPOSITE"


def test_announced_checksum_of_another_algorithm_is_refused(s3, bucket):
    uid, parts = _upload(s3, bucket, "crc32", [b"only"])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="obj", UploadId=uid, MultipartUpload={"Parts": parts},
                                     ChecksumSHA1=base64.b64encode(hashlib.sha1(b"only").digest()).decode())
    assert error_of(exc.value) == (400, "InvalidRequest")
