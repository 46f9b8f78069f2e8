"""Every integer a request carries (query, headers, XML) is read as ASCII digits, bounded, and refused
with AWS's error: never a 500, and never a value past what the RPC to the daemons can encode."""
from __future__ import annotations

import base64
import hashlib
import itertools
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import httpx
import pytest

from shared import constants as C
from shared.errors import S3Error
from shared.params import BEYOND, ascii_int, parse_hex, parse_int
from shared.ranges import Unsatisfiable, parse_range
from tests.expect import xml_error
from tests.signing import sign_v4

# The values every integer parameter is tried with, besides the first one past its range.
BAD = {"2^64": str(2**64), "negative": "-1", "superscript": "\u00b2", "arabic": "\u0663", "empty": ""}
_names = itertools.count()


# -- the parser, without sockets -------------------------------------------------------
@pytest.mark.parametrize("text,value", [("0", 0), ("42", 42), ("007", 7), ("0" * 40 + "5", 5),
                                        ("9" * 19, 10**19 - 1), (str(2**64), BEYOND), ("9" * 5000, BEYOND)])
def test_parse_int_reads_ascii_digits(text, value):
    assert parse_int(text) == value


@pytest.mark.parametrize("text", ["", "-1", "+1", " 1", "1 ", "1_0", "1.5", "1e3", "0x10", "\u00b2", "\u0663",
                                  "\uff11", "-", "--1"])
def test_parse_int_refuses_anything_else(text):
    assert parse_int(text) is None


def test_parse_int_signed():
    assert parse_int("-7", signed=True) == -7 and parse_int("-" + "9" * 30, signed=True) == -BEYOND
    assert parse_int("--7", signed=True) is None and parse_int("-", signed=True) is None


@pytest.mark.parametrize("text,value", [("0", 0), ("1aF", 0x1AF), ("0" * 30 + "1", 1), ("f" * 40, 16**16)])
def test_parse_hex(text, value):
    assert parse_hex(text) == value


@pytest.mark.parametrize("text", ["", "+a", "-a", "1_0", "0x1", " a", "g", "\u0663"])
def test_parse_hex_refuses_anything_else(text):
    assert parse_hex(text) is None


def test_ascii_int_error_names_the_parameter():
    with pytest.raises(S3Error) as err:
        ascii_int(str(2**64), "max-parts", 0, C.MAX_INT32)
    assert err.value.code == "InvalidArgument" and err.value.status == 400
    assert err.value.message == "Provided max-parts not an integer or within integer range"
    assert err.value.fields == {"ArgumentName": "max-parts", "ArgumentValue": str(2**64)}
    assert ascii_int("2147483647", "max-parts", 0, C.MAX_INT32) == C.MAX_INT32


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-" + "9" * 5000, (0, 99)),          # int() of more than 4300 digits raises
    ("bytes=-" + str(2**64), (0, 99)),
    ("bytes=\u0663-5", None),                    # \d took any script's digits
    ("bytes=0-\u00b2", None),
])
def test_parse_range_with_odd_numbers(header, expected):
    assert parse_range(header, 100) == expected


def test_parse_range_past_the_end_is_unsatisfiable():
    with pytest.raises(Unsatisfiable):
        parse_range(f"bytes={2**64}-", 100)


# -- every integer parameter, over HTTP ------------------------------------------------
@dataclass
class Target:
    endpoint: str
    bucket: str
    upload: str
    etag: str


@dataclass
class Param:
    """How to send a value of one integer parameter, and what AWS answers for each kind of bad value."""
    name: str
    past: str                                        # the first value past AWS's range
    send: Callable[[Target, str], httpx.Response]
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)    # kind -> answer, else InvalidArgument

    def expected(self, kind: str) -> tuple[int, str]:
        return self.answers.get(kind, (400, "InvalidArgument"))


def signed(method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"",
           payload_hash: str | None = None) -> httpx.Response:
    """A SigV4 request; header values go as UTF-8, which the front-end reads them as."""
    headers = {"Content-Length": str(len(body)), **(headers or {})}
    sent = sign_v4(method, url, headers, payload_hash or hashlib.sha256(body).hexdigest())
    return httpx.request(method, url, headers={k: v.encode() for k, v in sent.items()}, content=body, timeout=10)


def query(method: str, path: str, qs: str, name: str, headers: dict[str, str] | None = None, body: bytes = b""):
    def send(t: Target, value: str) -> httpx.Response:
        q = qs.format(upload=t.upload)
        return signed(method, f"{t.endpoint}/{t.bucket}{path}?{q}{name}={quote(value, safe='')}", headers, body)
    return send


def header(method: str, path: str, qs: str, name: str, extra: dict[str, str] | None = None,
           payload_hash: str | None = None, template: str = "{}"):
    def send(t: Target, value: str) -> httpx.Response:
        url = f"{t.endpoint}/{t.bucket}{path}" + (f"?{qs.format(upload=t.upload)}" if qs else "")
        headers = {k: v.format(bucket=t.bucket) for k, v in (extra or {}).items()}
        headers[name] = template.format(value)
        return signed(method, url, headers, b"", payload_hash)
    return send


def list_buckets(t: Target, value: str) -> httpx.Response:
    return signed("GET", f"{t.endpoint}/?max-buckets={quote(value, safe='')}")


def complete(t: Target, value: str) -> httpx.Response:
    body = (f"<CompleteMultipartUpload><Part><PartNumber>{value}</PartNumber><ETag>{t.etag}</ETag></Part>"
            "</CompleteMultipartUpload>").encode()
    return signed("POST", f"{t.endpoint}/{t.bucket}/mpu?uploadId={t.upload}", body=body)


def put_cors(t: Target, value: str) -> httpx.Response:
    body = (f"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
            f"<MaxAgeSeconds>{value}</MaxAgeSeconds></CORSRule></CORSConfiguration>").encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    return signed("PUT", f"{t.endpoint}/{t.bucket}?cors", {"Content-MD5": md5}, body)


STREAMING = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MALFORMED = (400, "MalformedXML")
TOO_LARGE = (400, "EntityTooLarge")
UNSATISFIABLE = (416, "InvalidRange")

PARAMS = [
    Param("max-keys", str(2**31), query("GET", "", "", "max-keys")),
    Param("max-keys (v2)", str(2**31), query("GET", "", "list-type=2&", "max-keys")),
    Param("max-keys (versions)", str(2**31), query("GET", "", "versions&", "max-keys")),
    Param("max-uploads", str(2**31), query("GET", "", "uploads&", "max-uploads")),
    Param("max-parts", str(2**31), query("GET", "/mpu", "uploadId={upload}&", "max-parts")),
    Param("part-number-marker", str(2**31), query("GET", "/mpu", "uploadId={upload}&", "part-number-marker")),
    Param("max-buckets", str(C.LIST_BUCKETS_MAX + 1), list_buckets),
    Param("partNumber (GET)", "10001", query("GET", "/obj", "", "partNumber")),
    Param("partNumber (UploadPart)", "10001", query("PUT", "/mpu", "uploadId={upload}&", "partNumber")),
    Param("x-amz-max-parts", str(2**31),
          header("GET", "/obj", "attributes", "x-amz-max-parts", {"x-amz-object-attributes": "ObjectParts"})),
    Param("x-amz-part-number-marker", str(2**31),
          header("GET", "/obj", "attributes", "x-amz-part-number-marker", {"x-amz-object-attributes": "ObjectParts"})),
    Param("x-amz-decoded-content-length", str(C.MAX_PUT_BYTES + 1),
          header("PUT", "/streamed", "", "x-amz-decoded-content-length",
                 {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32"}, STREAMING),
          {"2^64": TOO_LARGE, "past": TOO_LARGE}),
    Param("x-amz-copy-source-range", "100",          # `obj` has 100 bytes: its last offset is 99
          header("PUT", "/mpu", "uploadId={upload}&partNumber=1", "x-amz-copy-source-range",
                 {"x-amz-copy-source": "{bucket}/obj"}, template="bytes=0-{}"),
          {"2^64": UNSATISFIABLE, "past": UNSATISFIABLE}),
    Param("<PartNumber>", "10001", complete,           # not an integer at all does not validate: MalformedXML
          {"superscript": MALFORMED, "arabic": MALFORMED, "empty": MALFORMED}),
    Param("<MaxAgeSeconds>", str(2**31), put_cors,     # an xs:int: MalformedXML; negative ages are taken
          {kind: MALFORMED for kind in ("2^64", "superscript", "arabic", "empty", "past")} | {"negative": (200, "")}),
]


@pytest.fixture(scope="module")
def target(cluster, s3):
    bucket = f"int-params-{os.getpid()}-{next(_names)}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="obj", Body=os.urandom(100))
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    yield Target(cluster.endpoint, bucket, upload, etag)
    s3.abort_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload)
    for key in ("obj", "streamed"):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("kind", [*BAD, "past"])
@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
def test_bad_integer_gets_the_aws_error(target, param, kind):
    value = param.past if kind == "past" else BAD[kind]
    resp = param.send(target, value)
    status, code = param.expected(kind)
    if status == 200:
        assert resp.status_code == 200, resp.text
        return
    assert xml_error(resp) == (status, code), resp.text
    if code == "InvalidArgument":           # the parameter and the value sent are named
        root = ElementTree.fromstring(resp.content)
        assert root.findtext("ArgumentName") and (root.findtext("ArgumentValue") or "").endswith(value)


def test_bad_part_number_on_head_is_400(target):
    for value in [*BAD.values(), "10001"]:
        resp = signed("HEAD", f"{target.endpoint}/{target.bucket}/obj?partNumber={quote(value, safe='')}")
        assert resp.status_code == 400, value


def test_the_upload_survived_every_bad_request(target, s3):
    """Nothing above reached the daemons as a write: the upload still has its one part."""
    parts = s3.list_parts(Bucket=target.bucket, Key="mpu", UploadId=target.upload)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in parts] == [(1, target.etag)]


# -- the integers of authentication, and Range: AWS answers these with their own codes -----
@pytest.mark.parametrize("value,answer", [
    (str(2**64), (403, "AccessDenied")),                      # longer than a week
    ("-1", (403, "AccessDenied")),                            # expired
    (str(C.MAX_PRESIGNED_EXPIRES_S + 1), (403, "AccessDenied")),
    ("\u00b2", (400, "AuthorizationQueryParametersError")),   # not a number at all
    ("\u0663", (400, "AuthorizationQueryParametersError")),
    ("", (400, "AuthorizationQueryParametersError")),
    ("9" * 5000, (403, "AccessDenied")),
])
def test_bad_presigned_expiry(cluster, target, value, answer):
    url = cluster.client(signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": target.bucket, "Key": "obj"}, ExpiresIn=60)
    assert "X-Amz-Expires=60&" in url
    assert xml_error(httpx.get(url.replace("X-Amz-Expires=60&", f"X-Amz-Expires={quote(value, safe='')}&"))) == answer


@pytest.mark.parametrize("expires", ["-99999999999999999999", "-1", "\u00b2", "\u0663", "1_0"])
def test_bad_sigv2_expiry_is_access_denied(target, expires):
    """Long before the epoch used to be a 500: gmtime() cannot render it."""
    url = f"{target.endpoint}/{target.bucket}/obj?AWSAccessKeyId=accessKey1&Signature=x&Expires={quote(expires)}"
    assert xml_error(httpx.get(url)) == (403, "AccessDenied")


@pytest.mark.parametrize("header,status,body", [
    ("bytes=0-" + "9" * 5000, 206, slice(0, 100)),      # int() of more than 4300 digits raised
    (f"bytes=-{2**64}", 206, slice(0, 100)),
    (f"bytes=0-{2**64}", 206, slice(0, 100)),
    ("bytes=\u0663-5", 200, slice(0, 100)),              # malformed, so ignored: not read as bytes=3-5
    ("bytes=", 200, slice(0, 100)),
])
def test_odd_numbers_in_range(target, s3, header, status, body):
    resp = signed("GET", f"{target.endpoint}/{target.bucket}/obj", {"Range": header})
    assert resp.status_code == status
    assert resp.content == s3.get_object(Bucket=target.bucket, Key="obj")["Body"].read()[body]


@pytest.mark.parametrize("header", [f"bytes={2**64}-", f"bytes={'9' * 5000}-"])
def test_range_past_the_end_is_invalid_range(target, header):
    assert xml_error(signed("GET", f"{target.endpoint}/{target.bucket}/obj", {"Range": header})) == UNSATISFIABLE


@pytest.mark.parametrize("length", [str(2**64), "\u00b2", "\u0663", "", "-1", str(C.MAX_PUT_BYTES + 1)])
def test_bad_content_length_is_a_4xx(target, length):
    """Content-Length is the HTTP layer's first: whatever it is, a clear 4xx and nothing stored."""
    url = f"{target.endpoint}/{target.bucket}/bad-length"
    host = urlsplit(url)
    head = sign_v4("PUT", url, {"Content-Length": length}, "UNSIGNED-PAYLOAD")
    lines = [f"PUT {host.path} HTTP/1.1", f"Host: {host.netloc}"] + [f"{k}: {v}" for k, v in head.items()]
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"abc")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    assert signed("GET", url).status_code == 404
