"""Additional checksums (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256): sent, checked, stored, returned."""
from __future__ import annotations

import base64
import hashlib
import os

import pytest
from awscrt import checksums as crt
from botocore.exceptions import ClientError

from tests.signing import bucket, send_chunked, send_v4  # noqa: F401 - the bucket fixture

BODY = b"The quick brown fox jumps over the lazy dog" * 1000
ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def expected(algorithm: str, data: bytes) -> str:
    """The checksum as S3 shows it, computed independently of the server."""
    digest = {
        "CRC32": lambda: crt.crc32(data).to_bytes(4, "big"),
        "CRC32C": lambda: crt.crc32c(data).to_bytes(4, "big"),
        "CRC64NVME": lambda: crt.crc64nvme(data).to_bytes(8, "big"),
        "SHA1": lambda: hashlib.sha1(data).digest(),
        "SHA256": lambda: hashlib.sha256(data).digest(),
    }[algorithm]()
    return base64.b64encode(digest).decode()


def wrong(algorithm: str) -> str:
    return expected(algorithm, b"something else")


@pytest.fixture(scope="module")
def plain(cluster):
    """A client that sends no checksum of its own and does not ask for one back."""
    return cluster.client(request_checksum_calculation="when_required", response_checksum_validation="when_required")


def _error(err: pytest.ExceptionInfo) -> tuple[int, str, str]:
    r = err.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"]["Message"]


def _missing(s3, bucket: str, key: str) -> bool:
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key=key)
    return err.value.response["Error"]["Code"] == "404"


def _code(resp) -> str:
    return resp.text.split("<Code>")[1].split("</Code>")[0]


def _message(resp) -> str:
    return resp.text.split("<Message>")[1].split("</Message>")[0]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sdk_computes_checksum_and_it_is_stored(s3, bucket, algorithm):
    put = s3.put_object(Bucket=bucket, Key="k", Body=BODY, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == expected(algorithm, BODY)
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected(algorithm, BODY)
    assert head["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")     # botocore validates it too
    assert got[f"Checksum{algorithm}"] == expected(algorithm, BODY)
    assert got["Body"].read() == BODY


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_given_checksum_value_is_accepted(plain, bucket, algorithm):
    plain.put_object(Bucket=bucket, Key="v", Body=BODY, **{f"Checksum{algorithm}": expected(algorithm, BODY)})
    head = plain.head_object(Bucket=bucket, Key="v", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected(algorithm, BODY)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksum_mismatch_is_bad_digest_and_stores_nothing(plain, bucket, algorithm):
    with pytest.raises(ClientError) as err:
        plain.put_object(Bucket=bucket, Key="bad", Body=BODY, **{f"Checksum{algorithm}": wrong(algorithm)})
    assert _error(err) == (400, "BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")
    assert _missing(plain, bucket, "bad")


def test_checksum_mismatch_keeps_the_previous_object(plain, bucket):
    plain.put_object(Bucket=bucket, Key="keep", Body=b"before")
    with pytest.raises(ClientError):
        plain.put_object(Bucket=bucket, Key="keep", Body=BODY, ChecksumSHA256=wrong("SHA256"))
    assert plain.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"before"


@pytest.mark.parametrize("value", ["not base64!", "AAAA", base64.b64encode(b"12345").decode()])
def test_malformed_checksum_value_is_bad_digest(cluster, plain, bucket, value):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}/m", BODY, headers={"x-amz-checksum-crc32": value})
    assert resp.status_code == 400 and _code(resp) == "BadDigest"
    assert _message(resp) == "The CRC32 you specified did not match the calculated checksum."
    assert _missing(plain, bucket, "m")


def test_two_checksum_headers_are_refused(cluster, bucket):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}/two", BODY, headers={
        "x-amz-checksum-crc32": expected("CRC32", BODY), "x-amz-checksum-sha1": expected("SHA1", BODY)})
    assert resp.status_code == 400 and _code(resp) == "InvalidRequest"
    assert _message(resp) == "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."


def test_unknown_checksum_header_is_refused(cluster, bucket):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}/md4", BODY, headers={"x-amz-checksum-md4": "AAAA"})
    assert resp.status_code == 400 and _code(resp) == "InvalidRequest"


def test_sdk_algorithm_must_match_the_checksum_header(cluster, bucket):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}/x", BODY, headers={
        "x-amz-checksum-crc32": expected("CRC32", BODY), "x-amz-sdk-checksum-algorithm": "SHA256"})
    assert resp.status_code == 400 and _code(resp) == "InvalidRequest"
    assert _message(resp) == "Value for x-amz-sdk-checksum-algorithm header is invalid."


def test_sdk_algorithm_without_a_checksum_is_refused(cluster, bucket):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}/x", BODY, headers={"x-amz-sdk-checksum-algorithm": "CRC32"})
    assert resp.status_code == 400 and _code(resp) == "InvalidRequest"
    assert _message(resp).startswith("x-amz-sdk-checksum-algorithm specified, but no corresponding")


def test_sdk_algorithm_matching_the_header_is_fine(cluster, plain, bucket):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}/ok", BODY, headers={
        "x-amz-checksum-crc32c": expected("CRC32C", BODY), "x-amz-sdk-checksum-algorithm": "crc32c"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-amz-checksum-crc32c"] == expected("CRC32C", BODY)


def test_default_checksum_is_crc64nvme(plain, bucket):
    plain.put_object(Bucket=bucket, Key="d", Body=BODY)
    head = plain.head_object(Bucket=bucket, Key="d", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == expected("CRC64NVME", BODY)


def test_checksum_only_with_checksum_mode(s3, plain, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=BODY, ChecksumAlgorithm="SHA1")
    head = plain.head_object(Bucket=bucket, Key="k")
    assert "ChecksumSHA1" not in head and "ChecksumType" not in head


def test_no_checksum_for_a_range(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=BODY, ChecksumAlgorithm="CRC32")
    got = s3.get_object(Bucket=bucket, Key="k", Range="bytes=0-9", ChecksumMode="ENABLED")
    assert got["Body"].read() == BODY[:10] and "ChecksumCRC32" not in got


def test_empty_object_checksum(s3, bucket):
    s3.put_object(Bucket=bucket, Key="e", Body=b"", ChecksumAlgorithm="SHA256")
    assert s3.head_object(Bucket=bucket, Key="e", ChecksumMode="ENABLED")["ChecksumSHA256"] == \
        expected("SHA256", b"")


def test_content_md5_and_checksum_together(plain, bucket):
    md5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    plain.put_object(Bucket=bucket, Key="both", Body=BODY, ContentMD5=md5, ChecksumCRC32=expected("CRC32", BODY))
    with pytest.raises(ClientError) as err:
        plain.put_object(Bucket=bucket, Key="both2", Body=BODY, ContentMD5=md5, ChecksumCRC32=wrong("CRC32"))
    assert _error(err)[1] == "BadDigest"


# -- checksums in trailers of aws-chunked bodies ------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_trailer_checksum(cluster, plain, bucket, algorithm):
    chunks = [os.urandom(20000), os.urandom(20000), os.urandom(7)]
    data = b"".join(chunks)
    name = f"x-amz-checksum-{algorithm.lower()}"
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/t", chunks, UNSIGNED_TRAILER,
                        trailers={name: expected(algorithm, data)},
                        headers={"x-amz-sdk-checksum-algorithm": algorithm})
    assert resp.status_code == 200, resp.text
    assert resp.headers[name] == expected(algorithm, data)
    got = plain.get_object(Bucket=bucket, Key="t", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and "ContentEncoding" not in got
    assert got[f"Checksum{algorithm}"] == expected(algorithm, data)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_trailer_checksum_mismatch_stores_nothing(cluster, plain, bucket, algorithm):
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/tbad", [BODY], UNSIGNED_TRAILER,
                        trailers={f"x-amz-checksum-{algorithm.lower()}": wrong(algorithm)})
    assert resp.status_code == 400 and _code(resp) == "BadDigest"
    assert _message(resp) == f"The {algorithm} you specified did not match the calculated checksum."
    assert _missing(plain, bucket, "tbad")


def test_malformed_trailer_value(cluster, plain, bucket):
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/tm", [BODY], UNSIGNED_TRAILER,
                        trailers={"x-amz-checksum-crc32": "nope"})
    assert resp.status_code == 400 and _code(resp) == "InvalidRequest"
    assert _message(resp) == "Value for x-amz-checksum-crc32 trailing header is invalid."
    assert _missing(plain, bucket, "tm")


def test_unsupported_trailer_name(cluster, bucket):
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/tu", [BODY], UNSIGNED_TRAILER,
                        trailers={"x-amz-checksum-md5": "AAAA"})
    assert resp.status_code == 400 and _code(resp) == "InvalidRequest"
    assert _message(resp) == "The value specified in the x-amz-trailer header is not supported"


def test_trailer_and_header_checksum_together_are_refused(cluster, bucket):
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/th", [BODY], UNSIGNED_TRAILER,
                        trailers={"x-amz-checksum-crc32": expected("CRC32", BODY)},
                        headers={"x-amz-checksum-sha1": expected("SHA1", BODY)})
    assert resp.status_code == 400 and _code(resp) == "InvalidRequest"


def test_unsigned_trailer_without_trailer_header(cluster, plain, bucket):
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/nt", [BODY], UNSIGNED_TRAILER)
    assert resp.status_code == 200, resp.text
    assert plain.get_object(Bucket=bucket, Key="nt")["Body"].read() == BODY


def test_checksum_of_an_xml_body_is_checked(cluster, s3, bucket):
    xml = b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status>' \
          b'</VersioningConfiguration>'
    url = f"{cluster.endpoint}/{bucket}?versioning"
    resp = send_v4("PUT", url, xml, headers={"x-amz-checksum-crc32": wrong("CRC32")})
    assert resp.status_code == 400 and _code(resp) == "BadDigest"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    assert send_v4("PUT", url, xml, headers={"x-amz-checksum-crc32": expected("CRC32", xml)}).status_code == 200
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
