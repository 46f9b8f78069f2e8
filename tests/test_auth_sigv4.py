"""SigV4 against a real cluster: presigned URLs, expiry, clock skew, payload hashes, signed aws-chunked bodies."""
from __future__ import annotations

import base64
import datetime
import hashlib
import io
import os
from urllib.parse import parse_qsl, urlencode, urlsplit

import botocore.auth
import botocore.crt.auth
import httpx
import pytest
from awscrt import checksums
from botocore.exceptions import ClientError

from tests import signing
from tests.signing import bucket, send_chunked, send_v4  # noqa: F401 - the bucket fixture

V4 = {"signature_version": "s3v4"}

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"


def _code(resp: httpx.Response) -> str:
    return resp.text.split("<Code>")[1].split("</Code>")[0]


def _message(resp: httpx.Response) -> str:
    return resp.text.split("<Message>")[1].split("</Message>")[0]


def _shift_clock(monkeypatch, **delta) -> None:
    """Move botocore's clock, like a client whose clock is wrong."""
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta)

    def clock(remove_tzinfo: bool = True) -> datetime.datetime:
        return now.replace(tzinfo=None) if remove_tzinfo else now

    monkeypatch.setattr(botocore.auth, "get_current_datetime", clock)
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", clock)   # boto3 signs with awscrt when present


def _missing(s3, bucket: str, key: str) -> bool:
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key=key)
    return err.value.response["Error"]["Code"] == "404"


# -- presigned URLs ---------------------------------------------------------------------------------

@pytest.fixture
def presigner(cluster):
    """A client that presigns with SigV4 (boto3 presigns with SigV2 by default outside AWS)."""
    return cluster.client(**V4)


def _presign(client, operation: str, bucket: str, key: str, expires: int) -> str:
    return client.generate_presigned_url(operation, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)


def test_presigned_get_and_put(presigner, bucket):
    put_url = _presign(presigner, "put_object", bucket, "p/a b.txt", 60)
    assert "X-Amz-Signature=" in put_url
    assert httpx.put(put_url, content=b"presigned body").status_code == 200
    get_url = _presign(presigner, "get_object", bucket, "p/a b.txt", 60)
    resp = httpx.get(get_url)
    assert resp.status_code == 200 and resp.content == b"presigned body"


def test_presigned_get_with_response_overrides(presigner, bucket):
    presigner.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presigner.generate_presigned_url("get_object", ExpiresIn=60, Params={
        "Bucket": bucket, "Key": "k", "ResponseContentType": "text/x-test"})
    resp = httpx.get(url)
    assert resp.status_code == 200 and resp.headers["content-type"] == "text/x-test"


def test_presigned_seven_days_is_accepted(presigner, bucket):
    presigner.put_object(Bucket=bucket, Key="k", Body=b"week")
    url = _presign(presigner, "get_object", bucket, "k", 7 * 24 * 3600)
    assert httpx.get(url).content == b"week"


def test_presigned_longer_than_seven_days_is_refused(presigner, bucket):
    url = _presign(presigner, "get_object", bucket, "k", 7 * 24 * 3600 + 1)
    resp = httpx.get(url)
    assert resp.status_code == 403 and _code(resp) == "AccessDenied"
    assert "less than a week" in _message(resp)


def test_presigned_expired(presigner, bucket, monkeypatch):
    presigner.put_object(Bucket=bucket, Key="k", Body=b"x")
    _shift_clock(monkeypatch, hours=-2)
    url = _presign(presigner, "get_object", bucket, "k", 3600)
    resp = httpx.get(url)
    assert resp.status_code == 403
    assert _code(resp) == "AccessDenied" and _message(resp) == "Request has expired"


def test_presigned_put_expired_stores_nothing(presigner, bucket, monkeypatch):
    _shift_clock(monkeypatch, days=-8)
    url = _presign(presigner, "put_object", bucket, "late", 7 * 24 * 3600)
    monkeypatch.undo()
    resp = httpx.put(url, content=b"too late")
    assert resp.status_code == 403 and _message(resp) == "Request has expired"
    assert _missing(presigner, bucket, "late")


def test_presigned_tampered_query_is_refused(presigner, bucket):
    presigner.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = _presign(presigner, "get_object", bucket, "k", 60)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["X-Amz-Expires"] = "120"
    resp = httpx.get(f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}")
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"


# -- clock skew -----------------------------------------------------------------------------------

@pytest.mark.parametrize("minutes", [-20, 20])
def test_clock_skew(cluster, bucket, monkeypatch, minutes):
    _shift_clock(monkeypatch, minutes=minutes)
    with pytest.raises(ClientError) as err:
        cluster.client().put_object(Bucket=bucket, Key="skewed", Body=b"x")
    assert err.value.response["Error"]["Code"] == "RequestTimeTooSkewed"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_small_skew_is_fine(cluster, bucket, monkeypatch):
    _shift_clock(monkeypatch, minutes=10)
    cluster.client().put_object(Bucket=bucket, Key="k", Body=b"x")


# -- x-amz-content-sha256 -----------------------------------------------------------------------------

def test_content_sha256_mismatch_stores_nothing(cluster, s3, bucket):
    url = f"{cluster.endpoint}/{bucket}/mismatch"
    resp = send_v4("PUT", url, b"the real body", payload_hash=hashlib.sha256(b"another body").hexdigest())
    assert resp.status_code == 400 and _code(resp) == "XAmzContentSHA256Mismatch"
    assert _missing(s3, bucket, "mismatch")


def test_content_sha256_mismatch_keeps_the_old_object(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"old")
    big = os.urandom(300_000)
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}/keep", big, payload_hash=hashlib.sha256(b"x").hexdigest())
    assert resp.status_code == 400 and _code(resp) == "XAmzContentSHA256Mismatch"
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"old"


def test_content_sha256_signed_body_is_stored(cluster, s3, bucket):
    assert send_v4("PUT", f"{cluster.endpoint}/{bucket}/ok", b"signed body").status_code == 200
    assert s3.get_object(Bucket=bucket, Key="ok")["Body"].read() == b"signed body"


def test_content_sha256_must_be_a_hash_or_a_known_name(cluster, bucket):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}/bad", b"x", payload_hash="not-a-hash")
    assert resp.status_code == 400 and _code(resp) == "InvalidArgument"


def test_wrong_secret_is_refused(cluster, bucket):
    client = cluster.client(secret_key="not-the-secret")
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


# -- boto3 configurations -----------------------------------------------------------------------------

@pytest.mark.parametrize("config", [{}, {"request_checksum_calculation": "when_required",
                                         "response_checksum_validation": "when_required"}])
def test_boto3_round_trip(cluster, bucket, config):
    client = cluster.client(**config)
    body = os.urandom(200_000)
    client.put_object(Bucket=bucket, Key="boto", Body=body)
    assert client.get_object(Bucket=bucket, Key="boto")["Body"].read() == body
    client.upload_fileobj(io.BytesIO(body), bucket, "boto-managed")
    assert client.get_object(Bucket=bucket, Key="boto-managed")["Body"].read() == body


# -- signed aws-chunked bodies ----------------------------------------------------------------------------

def test_signed_streaming_put(cluster, s3, bucket):
    chunks = [os.urandom(65536), os.urandom(65536), os.urandom(1000)]
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/streamed", chunks, SIGNED,
                        headers={"Content-Type": "text/plain"})
    assert resp.status_code == 200, resp.text
    got = s3.get_object(Bucket=bucket, Key="streamed")
    assert got["Body"].read() == b"".join(chunks)
    assert got["ContentLength"] == sum(map(len, chunks))
    assert "ContentEncoding" not in got              # aws-chunked is framing, not stored
    assert got["ETag"] == f'"{hashlib.md5(b"".join(chunks)).hexdigest()}"'


def test_signed_streaming_put_with_content_encoding(cluster, s3, bucket):
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/gz", [b"gzipped?"], SIGNED,
                        headers={"Content-Encoding": "aws-chunked,gzip"})
    assert resp.status_code == 200, resp.text
    assert s3.head_object(Bucket=bucket, Key="gz")["ContentEncoding"] == "gzip"


def test_signed_streaming_empty_object(cluster, s3, bucket):
    assert send_chunked(f"{cluster.endpoint}/{bucket}/empty", [], SIGNED).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


@pytest.mark.parametrize("tamper", [0, 1, 2])
def test_bad_chunk_signature_stores_nothing(cluster, s3, bucket, tamper):
    chunks = [os.urandom(65536), os.urandom(100)]
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/tampered", chunks, SIGNED, tamper=tamper)
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"
    assert _missing(s3, bucket, "tampered")


def test_small_chunk_before_the_last_is_refused(cluster, s3, bucket):
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/small", [b"a" * 100, b"b" * 100], SIGNED)
    assert resp.status_code == 403 and _code(resp) == "InvalidChunkSizeError"
    assert _missing(s3, bucket, "small")


def test_signed_streaming_with_signed_trailer(cluster, s3, bucket):
    chunks = [os.urandom(70000), os.urandom(10)]
    crc = base64.b64encode(checksums.crc32c(b"".join(chunks)).to_bytes(4, "big")).decode()
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/trailer", chunks, SIGNED_TRAILER,
                        trailers={"x-amz-checksum-crc32c": crc})
    assert resp.status_code == 200, resp.text
    head = s3.head_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32C"] == crc


def test_signed_trailer_with_bad_trailer_signature(cluster, s3, bucket, monkeypatch):
    monkeypatch.setattr(signing.ChunkSigner, "trailer", lambda self, trailers: "f" * 64)
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/badtrailer", [b"z" * 10], SIGNED_TRAILER,
                        trailers={"x-amz-checksum-crc32": "AAAAAA=="})
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"
    assert _missing(s3, bucket, "badtrailer")


def test_decoded_length_mismatch_is_incomplete_body(cluster, s3, bucket):
    resp = send_chunked(f"{cluster.endpoint}/{bucket}/short", [b"x" * 10], SIGNED,
                        headers={"X-Amz-Decoded-Content-Length": "11"})
    assert resp.status_code == 400 and _code(resp) == "IncompleteBody"
    assert _missing(s3, bucket, "short")


def test_content_sha256_of_an_xml_body_is_checked(cluster, s3, bucket):
    xml = b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status>' \
          b'</VersioningConfiguration>'
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}?versioning", xml, payload_hash=hashlib.sha256(b"").hexdigest())
    assert resp.status_code == 400 and _code(resp) == "XAmzContentSHA256Mismatch"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_presigned_negative_expiry_is_refused(presigner, bucket):
    url = _presign(presigner, "get_object", bucket, "k", 60)    # the CRT signer refuses to presign -7
    resp = httpx.get(url.replace("X-Amz-Expires=60", "X-Amz-Expires=-7"))
    assert resp.status_code == 403 and _code(resp) == "AccessDenied"
    assert _message(resp) == "Request has expired"


def test_malformed_expiry_is_a_query_parameters_error(presigner, bucket):
    url = _presign(presigner, "get_object", bucket, "k", 60)
    resp = httpx.get(url.replace("X-Amz-Expires=60", "X-Amz-Expires=soon"))
    assert resp.status_code == 400 and _code(resp) == "AuthorizationQueryParametersError"


def test_latin1_metadata_round_trips_through_boto3(cluster, bucket):
    """botocore reads header values as latin-1: "é" must come back as "é" (s3-tests sets it this way)."""
    client = cluster.client()

    def add_header(params, **_):
        params["headers"]["x-amz-meta-meta1"] = "Hello World\xe9"

    client.meta.events.register("before-call.s3.PutObject", add_header)
    client.put_object(Bucket=bucket, Key="latin1-meta", Body=b"x")
    assert client.head_object(Bucket=bucket, Key="latin1-meta")["Metadata"]["meta1"] == "Hello World\xe9"
    assert client.get_object(Bucket=bucket, Key="latin1-meta")["Metadata"]["meta1"] == "Hello World\xe9"


def test_non_ascii_metadata_is_signed_as_utf8_and_returned_rfc2047(cluster, bucket):
    """SDKs send and sign header values as UTF-8; S3 returns non-ASCII metadata RFC 2047 encoded."""
    client = cluster.client()

    def add_header(params, **_):
        params["headers"]["x-amz-meta-greeting"] = "Hello World\xe9 \u20ac"

    client.meta.events.register("before-call.s3.PutObject", add_header)
    client.put_object(Bucket=bucket, Key="unicode-meta", Body=b"x")
    got = client.head_object(Bucket=bucket, Key="unicode-meta")["Metadata"]["greeting"]
    assert got.startswith("=?UTF-8?B?") and got.endswith("?=")
    assert base64.b64decode(got[len("=?UTF-8?B?"):-2]).decode() == "Hello World\xe9 \u20ac"
