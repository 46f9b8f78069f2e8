"""Malformed and hostile input over raw sockets and httpx: never a 500, never a hang, never a half-written object."""
from __future__ import annotations

import base64
import hashlib
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.expect import s3_error, xml_error
from tests.signing import EMPTY_SHA256, send_v4, sign_v4

UNSIGNED = "UNSIGNED-PAYLOAD"
TIMEOUT = 10.0            # a socket read that waits this long means the server hung


def raw_request(url: str, method: str, headers: dict[str, str], payload_hash: str = UNSIGNED) -> bytes:
    """A signed request head, as bytes for a socket; the caller sends (or withholds) the body."""
    signed = sign_v4(method, url, headers, payload_hash)
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"] + [f"{k}: {v}" for k, v in signed.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def open_socket(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT)
    return sock


def read_answer(sock: socket.socket) -> tuple[int, bytes]:
    """(status, everything the server sent until it closed or TIMEOUT passed)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data or not _complete(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pytest.fail(f"the server did not answer within {TIMEOUT} s: {data!r}")
    return int(data.split(b" ", 2)[1]), data


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


def data_files(cluster) -> tuple[int, int]:
    """(final data files, temporary files) in the data daemon's directory."""
    files = [p for p in (cluster.root / "data").rglob("*") if p.is_file()]
    return sum(not p.name.endswith(".tmp") for p in files), sum(p.name.endswith(".tmp") for p in files)


def wait_no_tmp(cluster) -> None:
    """The data daemon unlinks an aborted upload's temporary file once it sees the connection end."""
    deadline = time.monotonic() + TIMEOUT
    while data_files(cluster)[1] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert data_files(cluster)[1] == 0


def test_put_without_content_length_is_411(s3, bucket):
    url = f"{s3.meta.endpoint_url}/{bucket}/no-length"
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {}, EMPTY_SHA256))
        status, data = read_answer(sock)
    assert status == 411 and b"<Code>MissingContentLength</Code>" in data
    assert s3_error(s3.get_object, Bucket=bucket, Key="no-length") == (404, "NoSuchKey")


def test_chunked_transfer_without_content_length_is_streamed(s3, bucket):
    """HTTP chunked bodies stream through to the data daemon; the length is learnt at the end."""
    url = f"{s3.meta.endpoint_url}/{bucket}/te-chunked"
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Transfer-Encoding": "chunked"}) + b"5\r\nhello\r\n0\r\n\r\n")
        status, data = read_answer(sock)
    assert status == 200, data
    assert s3.get_object(Bucket=bucket, Key="te-chunked")["Body"].read() == b"hello"


@pytest.mark.needs_disk
@pytest.mark.parametrize("sent", [0, 100, 99_999])
def test_short_body_then_close_stores_nothing(cluster, s3, bucket, sent):
    url = f"{s3.meta.endpoint_url}/{bucket}/short"
    before = data_files(cluster)[0]
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": "100000"}) + b"x" * sent)
    wait_no_tmp(cluster)
    assert s3_error(s3.get_object, Bucket=bucket, Key="short") == (404, "NoSuchKey")
    assert data_files(cluster)[0] <= before
    s3.put_object(Bucket=bucket, Key="after", Body=b"still serving")
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == b"still serving"


@pytest.mark.needs_disk
def test_short_body_with_half_close_gets_an_answer_or_a_close(cluster, s3, bucket):
    url = f"{s3.meta.endpoint_url}/{bucket}/half"
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": "1000"}) + b"y" * 10)
        sock.shutdown(socket.SHUT_WR)
        try:
            data = sock.recv(65536)          # an error answer or EOF, never a hang
        except ConnectionResetError:
            data = b""
    assert not data.startswith(b"HTTP/1.1 5")
    wait_no_tmp(cluster)
    assert s3_error(s3.get_object, Bucket=bucket, Key="half") == (404, "NoSuchKey")


@pytest.mark.needs_disk
def test_overwrite_with_a_short_body_keeps_the_old_object(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"original")
    url = f"{s3.meta.endpoint_url}/{bucket}/keep"
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": "5000"}) + b"z" * 4999)
    wait_no_tmp(cluster)
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"original"


def test_body_longer_than_content_length(s3, bucket):
    """The extra bytes are the next request on the connection, which is garbage: a 400, not a 500."""
    url = f"{s3.meta.endpoint_url}/{bucket}/long"
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": "5"}) + b"12345")
        status, data = read_answer(sock)
        assert status == 200, data
        sock.sendall(b"GARBAGE\r\n\r\n")
        status, _ = read_answer(sock)
        assert status == 400
    assert s3.get_object(Bucket=bucket, Key="long")["Body"].read() == b"12345"


def test_body_and_garbage_in_one_packet(s3, bucket):
    """The request that came whole is answered; the garbage after it only closes the connection."""
    url = f"{s3.meta.endpoint_url}/{bucket}/packed"
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": "5"}) + b"12345garbage\r\n\r\n")
        status, data = read_answer(sock)
        assert status == 200, data
        assert sock.recv(1024) == b""                       # then the server closes
    assert s3.get_object(Bucket=bucket, Key="packed")["Body"].read() == b"12345"


def test_content_length_shorter_than_the_body_is_bad_digest(s3, bucket):
    """s3-tests' contentlength_mismatch_below: the declared bytes fail Content-MD5 of the whole body."""
    url = f"{s3.meta.endpoint_url}/{bucket}/short-length"
    md5 = base64.b64encode(hashlib.md5(b"bar").digest()).decode()
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": "2", "Content-MD5": md5}) + b"bar")
        status, data = read_answer(sock)
    assert status == 400 and b"<Code>BadDigest</Code>" in data
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="short-length")


def test_early_error_does_not_wait_for_a_huge_body(s3):
    url = f"{s3.meta.endpoint_url}/no-such-bucket-early/k"
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": str(10**9), "Expect": "100-continue"}))
        status, data = read_answer(sock)
    assert status == 404 and b"NoSuchBucket" in data
    # The client sends no body after that answer; the connection is not reused (a proxy would
    # otherwise read the next request as the announced body).
    assert b"\r\nconnection: close\r\n" in data.lower()


@pytest.mark.parametrize("length", ["abc", "-1", "1e3"])
def test_unparsable_content_length(s3, bucket, length):
    url = f"{s3.meta.endpoint_url}/{bucket}/bad-length"
    with open_socket(url) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": length}) + b"abc")
        status, _ = read_answer(sock)
    assert status == 400
    assert s3_error(s3.get_object, Bucket=bucket, Key="bad-length") == (404, "NoSuchKey")


def test_garbage_request_line(s3):
    with open_socket(s3.meta.endpoint_url) as sock:
        sock.sendall(b"\x00\x01 NOT HTTP\r\n\r\n")
        status, _ = read_answer(sock)
    assert status == 400


@pytest.mark.parametrize("path,code", [("%FF%FE", "InvalidURI"), ("nul%00byte", "InvalidArgument"),
                                       ("k" * 1025, "KeyTooLongError")])
def test_bad_keys(s3, bucket, path, code):
    url = f"{s3.meta.endpoint_url}/{bucket}/{path}"
    for resp in (send_v4("PUT", url, b"x"), send_v4("GET", url)):
        # Checked as bytes: a NUL echoed in <Resource> cannot be well-formed XML whatever its escaping.
        assert resp.status_code == 400 and f"<Code>{code}</Code>".encode() in resp.content


def test_raw_utf8_bytes_in_the_path_are_refused_cleanly(s3, bucket):
    """Clients percent-encode keys; unencoded bytes in the request line are refused by the HTTP parser."""
    url = f"{s3.meta.endpoint_url}/{bucket}/caf%C3%A9"
    with open_socket(url) as sock:
        head = raw_request(url, "PUT", {"Content-Length": "2"}).replace(b"/caf%C3%A9", "/caf\u00e9".encode())
        sock.sendall(head + b"ok")
        status, _ = read_answer(sock)
    assert status == 400
    assert s3_error(s3.get_object, Bucket=bucket, Key="caf\u00e9") == (404, "NoSuchKey")


@pytest.mark.parametrize("query", ["versionId=garbage", "versionId=", "partNumber=0", "partNumber=x"])
def test_bad_object_query(s3, bucket, query):
    s3.put_object(Bucket=bucket, Key="q", Body=b"x")
    assert xml_error(send_v4("GET", f"{s3.meta.endpoint_url}/{bucket}/q?{query}")) == (400, "InvalidArgument")


@pytest.mark.parametrize("body", [b"<CreateBucketConfiguration>", b"<Nope/>", b"\xff\xfe", b"<a>" * 100])
def test_malformed_create_bucket_body(s3, body):
    resp = send_v4("PUT", f"{s3.meta.endpoint_url}/malformed-body-bucket", body)
    assert xml_error(resp) == (400, "MalformedXML")
    assert s3_error(s3.head_bucket, Bucket="malformed-body-bucket") == (404, "404")


@pytest.mark.parametrize("source", ["%FF%FE/key", "bucket-only", ""])
def test_bad_copy_sources(s3, bucket, source):
    resp = send_v4("PUT", f"{s3.meta.endpoint_url}/{bucket}/dst", headers={"x-amz-copy-source": source})
    assert xml_error(resp) == (400, "InvalidArgument")
