"""Request-head limits and slow-client timeouts on every port (S3, metadata, data): services/http_limits.py."""
from __future__ import annotations

import os
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from xml.etree import ElementTree

import httpx
import pytest

from services.http_limits import WIRE_SLACK, HeadCounter, HttpLimits
from shared import constants as C
from shared.errors import S3Error
from tests.cluster import Cluster
from tests.expect import s3_error
from tests.test_bad_input import data_files, raw_request
from tests.test_memory import PeakRss

MIB = 2**20
LIMITS = HttpLimits()
HEADER_TIMEOUT, BODY_TIMEOUT, IDLE_TIMEOUT = 4.0, 3.0, 3.0
SLOW_ENV = {"COFFER_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "COFFER_HTTP_BODY_TIMEOUT": str(BODY_TIMEOUT),
            "COFFER_HTTP_IDLE_TIMEOUT": str(IDLE_TIMEOUT)}
PORTS = ("s3", "metadata", "data")
# A path each port answers without credentials, and what it answers.
TARGETS = {"s3": ("/_/health", 200), "data": ("/_/healthcheck", 200), "metadata": ("/", 404)}
READ_TIMEOUT = 10.0


def port_of(cluster: Cluster, name: str) -> int:
    return {"s3": cluster.s3_ports[0], "metadata": cluster.md_port, "data": cluster.data_port}[name]


def head(target: str, fields: list[tuple[str, str]]) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: x"] + [f"{k}: {v}" for k, v in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def exchange(port: int, data: bytes) -> tuple[bytes, bool]:
    """Send `data`, read until the server closes: (what it sent, whether it closed within READ_TIMEOUT)."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if _whole(answer) and b"connection: close" not in answer.lower():
                    return answer, False    # a keep-alive answer: the connection stays open
        except socket.timeout:
            return answer, False
        except ConnectionResetError:
            pass
        return answer, True


def _whole(answer: bytes) -> bool:
    head_part, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head_part.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
        if line.startswith(b"transfer-encoding:") and b"chunked" in line:
            return body.endswith(b"0\r\n\r\n")
    return True


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def error(answer: bytes) -> ElementTree.Element:
    root = ElementTree.fromstring(answer.partition(b"\r\n\r\n")[2])
    assert root.tag == "Error", answer
    return root


def assert_refused(answer: bytes, closed: bool, code: str = "RequestHeaderSectionTooLarge",
                   max_size: int | None = None, says: str = "") -> ElementTree.Element:
    assert closed, f"the connection stayed open after {answer[:200]!r}"
    assert status(answer) == 400, answer[:300]
    root = error(answer)
    assert root.findtext("Code") == code
    if max_size is not None:
        assert root.findtext("MaxSizeAllowed") == str(max_size)
    assert says in root.findtext("Message")
    return root


# -- the counting alone --------------------------------------------------------------------------

def refusal(action) -> S3Error:
    with pytest.raises(S3Error) as err:
        action()
    return err.value


def test_counter_counts_chunks_of_an_unfinished_head_only():
    c = HeadCounter(LIMITS)
    c.chunk(10**6)                                  # between requests nothing is counted
    c.begin()
    c.chunk(LIMITS.head_bytes + WIRE_SLACK)         # up to the guard: fine
    err = refusal(lambda: c.chunk(1))
    assert err.code == "RequestHeaderSectionTooLarge" and err.status == 400
    assert err.fields["MaxSizeAllowed"] == LIMITS.head_bytes


def test_counter_skips_a_chunk_in_which_a_message_ended():
    c = HeadCounter(LIMITS)
    c.begin()
    c.head_done()
    c.chunk(1000)                                   # body bytes
    c.message_done()
    c.begin()                                       # a pipelined head starts in the same chunk...
    c.chunk(LIMITS.head_bytes * 2)                  # ...whose share of it is unknown: not counted
    c.chunk(LIMITS.head_bytes)                      # the next chunk is, whole
    refusal(lambda: c.chunk(WIRE_SLACK + 1))


def test_counter_bounds_url_fields_and_the_parsed_total_exactly():
    c = HeadCounter(LIMITS)
    c.begin()
    c.url(LIMITS.url_bytes)
    assert "URI" in refusal(lambda: c.url(LIMITS.url_bytes + 1)).message
    c.begin()
    c.field(b"a" * 10, b"v" * (LIMITS.field_bytes - 10))
    err = refusal(lambda: c.field(b"X-Long", b"v" * (LIMITS.field_bytes - 5)))
    assert "'X-Long'" in err.message and err.fields["MaxSizeAllowed"] == LIMITS.field_bytes
    c.begin()
    for _ in range(LIMITS.fields):
        c.field(b"a", b"b")
    assert "header fields" in refusal(lambda: c.field(b"a", b"b")).message
    small = HeadCounter(HttpLimits(head_bytes=200))
    small.begin()
    small.url(100)
    small.field(b"n", b"v" * 95)                    # url + name + value + 4 == the limit
    small.begin()
    small.url(100)
    assert refusal(lambda: small.field(b"n", b"v" * 96)).fields["MaxSizeAllowed"] == 200


def test_counter_counts_nothing_once_reset():
    c = HeadCounter(LIMITS)
    c.begin()
    c.reset()
    c.chunk(10**9)
    assert not c.in_head and not c.in_body


# -- each limit on each port, just under and just over -------------------------------------------

def at_url_limit(target: str, extra: int) -> bytes:
    pad = LIMITS.url_bytes - len(target) - len("?pad=") + extra
    return head(f"{target}?pad={'a' * pad}", [])


def at_field_limit(target: str, extra: int) -> bytes:
    return head(target, [("X-Pad", "v" * (LIMITS.field_bytes - len("X-Pad") + extra))])


def at_field_count(target: str, extra: int) -> bytes:
    return head(target, [(f"X-F{i}", "1") for i in range(LIMITS.fields - 1 + extra)])    # Host is one


def at_head_limit(target: str, extra: int) -> bytes:
    room = LIMITS.head_bytes - len(target) - (len("Host") + len("x") + 4) + extra
    fields: list[tuple[str, str]] = []
    while room > 2 * 8012:                          # fields of 8000-byte values: 8 + 8000 + 4 bytes each
        fields.append((f"X-Pad-{len(fields):02d}", "v" * 8000))
        room -= 8012
    return head(target, fields + [("X-Pad-zz", "v" * (room - 12))])


CASES = {"url": (at_url_limit, LIMITS.url_bytes, "URI"), "field": (at_field_limit, LIMITS.field_bytes, "X-Pad"),
         "count": (at_field_count, None, "header fields"), "total": (at_head_limit, LIMITS.head_bytes, "")}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("port", PORTS)
def test_just_under_each_limit_is_served_and_one_byte_over_is_refused(cluster, port, case):
    build, max_size, says = CASES[case]
    target, expected = TARGETS[port]
    answer, _ = exchange(port_of(cluster, port), build(target, 0))
    assert status(answer) == expected, answer[:300]
    answer, closed = exchange(port_of(cluster, port), build(target, 1))
    assert_refused(answer, closed, max_size=max_size, says=says)


@pytest.mark.parametrize("port", PORTS)
def test_a_field_that_never_ends_is_cut_off_early(cluster, port):
    sent, answer, closed = flood(port_of(cluster, port))
    assert sent < 16 * MIB
    assert_refused(answer, closed, max_size=LIMITS.head_bytes)


def test_boto3_sees_too_many_metadata_fields_as_request_header_section_too_large(s3, bucket):
    meta = {f"k{i}": "v" for i in range(LIMITS.fields)}
    assert s3_error(s3.put_object, Bucket=bucket, Key="many", Body=b"x", Metadata=meta) == \
        (400, "RequestHeaderSectionTooLarge")


# -- real clients at the limits of S3 ------------------------------------------------------------

def test_2_kb_of_metadata_over_many_fields_is_stored(s3, bucket):
    # 80 fields of 25 bytes: Python's http.client (so boto3) reads at most 100 fields of an answer.
    meta = {f"k{i:02d}": "v" * 22 for i in range(80)}
    assert sum(len(k) + len(v) for k, v in meta.items()) == 2000 <= C.MAX_USER_METADATA_BYTES
    s3.put_object(Bucket=bucket, Key="meta", Body=b"x", Metadata=meta)
    assert s3.head_object(Bucket=bucket, Key="meta")["Metadata"] == meta


def test_a_1024_byte_key_works_signed_presigned_and_as_a_copy_source(s3, bucket):
    key = "\u00e9" * (C.MAX_KEY_BYTES // 2)                 # 1024 bytes, 3072 once percent-encoded
    s3.put_object(Bucket=bucket, Key=key, Body=b"signed")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key})
    assert len(put_url) > 3 * C.MAX_KEY_BYTES
    assert httpx.put(put_url, content=b"presigned").status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    assert httpx.get(get_url).content == b"presigned"
    copy = "\u00e8" * (C.MAX_KEY_BYTES // 2)
    s3.copy_object(Bucket=bucket, Key=copy, CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key=copy)["Body"].read() == b"presigned"


# -- slow clients, in a cluster of short timeouts -------------------------------------------------

@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("slow"), env=SLOW_ENV).start()
    yield c
    c.stop()


def drip(port: int, every: float = 2.0) -> tuple[float, bytes]:
    """Send a request head one field every `every` seconds: (seconds until the server closed, its answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=every) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        answer = b""
        for i in range(60):
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                sock.sendall(f"X-Drip-{i}: {i}\r\n".encode())
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
        return time.monotonic() - started, answer


def flood(port: int, size: int = 100 * MIB) -> tuple[int, bytes, bool]:
    """Send a head whose one field is `size` bytes, reading meanwhile; stop sending once answered.

    (bytes sent when the answer began, the answer, whether the server closed the connection).
    """
    block = b"a" * 65536
    pending, sent, answer = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", 0, b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setblocking(False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            writing = [sock] if not answer and sent < size else []
            readable, writable, _ = select.select([sock], writing, [], 1.0)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    return sent, answer, True
                if not chunk:
                    return sent, answer, True
                answer += chunk
            if writable:
                try:
                    sent += sock.send(pending or block)
                except (BrokenPipeError, ConnectionResetError):
                    return sent, answer, True
                pending = b""
    return sent, answer, False


def get_loop(c: Cluster, stop: threading.Event) -> list[float]:
    """ListBuckets over and over until `stop`: the duration of each."""
    s3, durations = c.client(), []
    while not stop.is_set():
        started = time.monotonic()
        s3.list_buckets()
        durations.append(time.monotonic() - started)
        time.sleep(0.02)
    return durations


def test_floods_and_drippers_are_cut_off_while_others_are_served(slow):
    warm = slow.client()
    for _ in range(20):
        warm.list_buckets()
    s3_port = slow.s3_ports[0]
    stop = threading.Event()
    with PeakRss({"s3": slow.pid("s3-0")}) as rss, ThreadPoolExecutor(12) as pool:
        loop = pool.submit(get_loop, slow, stop)
        drippers = [pool.submit(drip, s3_port) for _ in range(8)]
        drippers += [pool.submit(drip, slow.md_port), pool.submit(drip, slow.data_port)]
        floods = [flood(s3_port)]                   # one after the other while the drippers drip
        while not all(d.done() for d in drippers):
            time.sleep(0.1)
            floods.append(flood(s3_port))
        stop.set()
        durations = loop.result()
    for sent, answer, closed in floods:
        assert sent < 16 * MIB, f"{sent} bytes of a 100 MiB head went in before the answer"
        assert_refused(answer, closed, max_size=LIMITS.head_bytes)
    for d in drippers:
        elapsed, answer = d.result()
        assert HEADER_TIMEOUT - 0.5 <= elapsed <= HEADER_TIMEOUT + 5, elapsed
        assert_refused(answer, True, code="RequestTimeout", says="not complete within 4 seconds")
    assert len(durations) > 10 and max(durations) < 1.0, (len(durations), max(durations))
    assert rss.growth("s3") < 8 * MIB, rss.growth("s3")


def wait_closed(sock: socket.socket, bound: float) -> tuple[float, bytes]:
    """(seconds until the server closed the connection, what it sent meanwhile)."""
    started, data = time.monotonic(), b""
    sock.settimeout(bound)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except socket.timeout:
        pytest.fail(f"the connection was still open after {bound} s")
    return time.monotonic() - started, data


def test_a_connection_that_never_sends_is_closed_after_the_header_timeout(slow):
    with socket.create_connection(("127.0.0.1", slow.s3_ports[0])) as sock:
        elapsed, data = wait_closed(sock, HEADER_TIMEOUT + 5)
    assert data == b"" and elapsed >= HEADER_TIMEOUT - 0.5


@pytest.mark.parametrize("port", PORTS)
def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(slow, port):
    target, expected = TARGETS[port]
    with socket.create_connection(("127.0.0.1", port_of(slow, port))) as sock:
        sock.sendall(head(target, []))
        sock.settimeout(READ_TIMEOUT)
        answer = b""
        while not _whole(answer):
            answer += sock.recv(65536)
        assert status(answer) == expected
        elapsed, data = wait_closed(sock, IDLE_TIMEOUT + 5)
    assert data == b"" and elapsed >= IDLE_TIMEOUT - 0.5


def test_a_stalled_body_gets_request_timeout_and_stores_nothing(slow):
    s3 = slow.client()
    s3.create_bucket(Bucket="stall")
    before = data_files(slow)
    url = f"{slow.endpoint}/stall/key"
    with socket.create_connection(("127.0.0.1", slow.s3_ports[0])) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": "1000"}) + b"x" * 10)
        elapsed, answer = wait_closed(sock, BODY_TIMEOUT + 5)
    assert elapsed >= BODY_TIMEOUT - 0.5
    assert_refused(answer, True, code="RequestTimeout", says="within the timeout period")
    deadline = time.monotonic() + READ_TIMEOUT
    while data_files(slow) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert data_files(slow) == before                   # no object, no temporary file left behind
    assert "Contents" not in s3.list_objects_v2(Bucket="stall")


def test_a_slow_body_that_keeps_sending_is_not_cut_off(slow):
    s3 = slow.client()
    s3.create_bucket(Bucket="trickle")
    body = os.urandom(6)
    url = f"{slow.endpoint}/trickle/key"
    with socket.create_connection(("127.0.0.1", slow.s3_ports[0]), timeout=READ_TIMEOUT) as sock:
        sock.sendall(raw_request(url, "PUT", {"Content-Length": str(len(body))}))
        for byte in body:                                # 6 s in all, never BODY_TIMEOUT without a byte
            time.sleep(1.0)
            sock.sendall(bytes([byte]))
        answer = b""
        while not _whole(answer):
            answer += sock.recv(65536)
    assert status(answer) == 200, answer
    assert s3.get_object(Bucket="trickle", Key="key")["Body"].read() == body
