"""Browser POST uploads: the multipart/form-data body read as a stream, and the success answers."""
from __future__ import annotations

import asyncio
import time
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterable

import boto3
import httpx
import pytest
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from s3front.post_form import FormDecoder, boundary_of, object_key, read_form, success_response
from s3front.post_policy import authenticate, parse_policy
from s3front.tagging import parse_tagging
from shared.errors import S3Error


def form_body(fields: list[tuple[str, str]], file: bytes | None, filename: str = "foo.txt",
              after: list[tuple[str, str]] = ()) -> tuple[bytes, str]:
    """A multipart/form-data body as httpx writes it (fields first, then the file), and its Content-Type."""
    files = [("file", (filename, file))] if file is not None else []
    files += [(name, (None, value)) for name, value in after]
    request = httpx.Request("POST", "http://h/bkt", files=[(n, (None, v)) for n, v in fields] + files)
    return request.read(), request.headers["content-type"]


async def chunks(data: bytes, sizes: Iterable[int] = ()) -> AsyncIterator[bytes]:
    """`data` in pieces of the given sizes (then the rest)."""
    pos = 0
    for size in sizes:
        if pos >= len(data):
            break
        yield data[pos:pos + size]
        pos += size
    if pos < len(data):
        yield data[pos:]


async def read_all(body: AsyncIterator[bytes], content_type: str, **kwargs):
    form = await read_form(body, content_type, **kwargs)
    data = b"".join([chunk async for chunk in form.file])
    return form, data


def run(coro):
    return asyncio.run(coro)


def error(coro) -> S3Error:
    with pytest.raises(S3Error) as info:
        run(coro)
    return info.value


# -- reading forms ----------------------------------------------------------------------------------
def test_fields_and_file():
    body, ctype = form_body([("kEy", "foo.txt"), ("AcL", "private"), ("Content-Type", "text/plain")], b"bar")
    form, data = run(read_all(chunks(body), ctype))
    assert form.fields == {"key": "foo.txt", "acl": "private", "content-type": "text/plain"}
    assert (data, form.filename, form.file_content_type) == (b"bar", "foo.txt", "text/plain")


def test_fields_after_the_file_are_ignored():
    body, ctype = form_body([("key", "k")], b"data", after=[("acl", "public-read"), ("x-amz-meta-a", "b")])
    form, data = run(read_all(chunks(body, [7] * 1000), ctype))
    assert form.fields == {"key": "k"} and data == b"data"


def test_repeated_fields():
    body, ctype = form_body([("x-amz-meta-a", "1"), ("X-Amz-Meta-A", "2"), ("acl", "private"), ("acl", "public-read")], b"")
    form, data = run(read_all(chunks(body), ctype))
    assert form.fields == {"x-amz-meta-a": "1,2", "acl": "public-read"} and data == b""


def test_utf8_field_values_and_filename():
    body, ctype = form_body([("key", "clé/中文"), ("x-amz-meta-n", "ü")], b"x", filename="résumé.txt")
    form, _ = run(read_all(chunks(body), ctype))
    assert form.fields["key"] == "clé/中文" and form.filename == "résumé.txt"


def test_file_with_boundary_like_bytes():
    body, ctype = form_body([("key", "k")], b"\r\n--\r\n--" + b"-" * 100 + b"\r\n\r\n")
    _, data = run(read_all(chunks(body, [1] * len(body)), ctype))
    assert data == b"\r\n--\r\n--" + b"-" * 100 + b"\r\n\r\n"


@pytest.mark.parametrize("content_type, code", [
    (None, "PreconditionFailed"),
    ("application/x-www-form-urlencoded", "PreconditionFailed"),
    ("multipart/form-data", "MalformedPOSTRequest"),
    ("multipart/form-data; boundary=" + "b" * 71, "MalformedPOSTRequest"),
])
def test_content_types(content_type, code):
    err = error(read_all(chunks(b""), content_type))
    assert err.code == code
    if code == "PreconditionFailed":
        assert (err.status, err.fields) == (412, {"Condition": "Bucket POST must be of the enclosure-type multipart/form-data"})


def test_boundary():
    assert boundary_of('multipart/form-data; boundary="abc def"') == b"abc def"


def test_no_file_part():
    body, ctype = form_body([("key", "k"), ("acl", "private")], None)
    err = error(read_all(chunks(body), ctype))
    assert (err.code, err.message, err.fields) == ("InvalidArgument", "POST requires exactly one file upload per request.",
                                                   {"ArgumentName": "file", "ArgumentValue": "0"})


@pytest.mark.parametrize("cut", [10, 60, -20, -10, -3])
def test_truncated_bodies(cut):
    """A body that stops before the file part is complete is MalformedPOSTRequest, never a file."""
    body, ctype = form_body([("key", "k")], b"0123456789" * 3)
    assert error(read_all(chunks(body[:cut], [5] * 100), ctype)).code == "MalformedPOSTRequest"


@pytest.mark.parametrize("body", [
    b"garbage",
    b"--B\r\nContent-Type: text/plain\r\n\r\nvalue\r\n--B--\r\n",                            # no Content-Disposition
    b'--B\r\nContent-Disposition: attachment; name="key"\r\n\r\nvalue\r\n--B--\r\n',
    b'--B\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--B--\r\n',                      # no name
    b'--B\r\nContent-Disposition: form-data; name="key"\r\n\r\n\xff\xfe\r\n--B--\r\n',        # not UTF-8
])
def test_malformed_bodies(body):
    assert error(read_all(chunks(body), "multipart/form-data; boundary=B")).code == "MalformedPOSTRequest"


def test_fields_before_the_file_are_bounded():
    body, ctype = form_body([("x-amz-meta-big", "v" * 21_000)], b"x")
    err = error(read_all(chunks(body, [1000] * 100), ctype))
    assert (err.code, err.status) == ("MaxPostPreDataLengthExceededError", 400)
    body, ctype = form_body([("x-amz-meta-big", "v" * 19_000)], b"x")
    assert run(read_all(chunks(body), ctype))[1] == b"x"


def test_decoder_events_directly():
    body, ctype = form_body([("key", "k")], b"abc")
    decoder = FormDecoder(boundary_of(ctype))
    kinds = [type(e).__name__ for e in decoder.feed(body)]
    assert kinds == ["Field", "FileStart", "FileData", "FileEnd"] and decoder.end() == []


def test_file_stream_raises_when_cut_inside_the_file():
    body, ctype = form_body([("key", "k")], b"x" * 5000)

    async def go():
        form = await read_form(chunks(body[:3000], [100] * 100), ctype)
        got = bytearray()
        async for chunk in form.file:
            got += chunk
    assert error(go()).code == "MalformedPOSTRequest"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["key", "acl", "Content-Type", "x-amz-meta-a", "tagging", "policy"]),
                          st.text(max_size=40)), max_size=6),
       st.binary(max_size=3000), st.lists(st.integers(1, 400), max_size=60))
def test_any_chunking_gives_the_same_form(fields, file, sizes):
    body, ctype = form_body(fields, file)
    whole_form, whole = run(read_all(chunks(body), ctype))
    form, data = run(read_all(chunks(body, sizes), ctype))
    assert (form.fields, data) == (whole_form.fields, whole) and data == file
    expected: dict[str, str] = {}
    for name, value in fields:
        name = name.lower()
        expected[name] = expected[name] + "," + value if name.startswith("x-amz-meta-") and name in expected else value
    assert form.fields == expected


def test_a_gigabyte_file_streams_in_flat_memory():
    """1 GiB through the form parser: generated lazily, never held, peak memory stays small."""
    head, ctype = form_body([("key", "big"), ("acl", "private")], b"")
    boundary = boundary_of(ctype)
    prefix = head[: head.rindex(b"\r\n--" + boundary + b"--")]     # everything up to the file's (empty) data
    piece = bytes(range(256)) * 1024                                # 256 KiB, \r and - included
    total = 1 << 30

    async def body() -> AsyncIterator[bytes]:
        yield prefix
        for _ in range(total // len(piece)):
            yield piece
        yield b"\r\n--" + boundary + b"--\r\n"

    async def consume() -> int:
        form = await read_form(body(), ctype)
        size = 0
        async for chunk in form.file:
            size += len(chunk)
        return size

    tracemalloc.start()
    try:
        size = run(consume())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == total
    assert peak < 8 * 2**20, f"peak {peak} bytes"


# -- from a boto3 presigned post to the upload's key ------------------------------------------------
def test_presigned_post_end_to_end():
    client = boto3.client("s3", aws_access_key_id="AKID", aws_secret_access_key="SECRET", region_name="us-east-1",
                          endpoint_url="http://127.0.0.1:1", config=Config(signature_version="s3v4"))
    post = client.generate_presigned_post("bkt", "user/${filename}", Conditions=[["content-length-range", 1, 100]])
    tagging = "<Tagging><TagSet><Tag><Key>0</Key><Value>0</Value></Tag></TagSet></Tagging>"
    body, ctype = form_body(list(post["fields"].items()), b"hello", filename="C:\\docs\\a.txt")
    form, data = run(read_all(chunks(body, [64] * 100), ctype))
    key = object_key(form.fields, form.filename)
    assert key == "user/a.txt"
    assert authenticate(form.fields, {"AKID": "SECRET"}.get) == "AKID"
    policy = parse_policy(form.fields["policy"])
    policy.check("bkt", {**form.fields, "key": key}, time.time())
    policy.check_size(len(data))
    assert parse_tagging(tagging.encode()) == {"0": "0"}


def test_object_key():
    assert object_key({"key": "${filename}"}, "foo.txt") == "foo.txt"        # s3-tests ..._set_key_from_filename
    assert object_key({"key": "a/${filename}"}, "/tmp/x/b.bin") == "a/b.bin"
    assert object_key({"key": "plain"}, None) == "plain"
    for fields in ({}, {"key": ""}):                                          # s3-tests ..._no_key_specified
        with pytest.raises(S3Error) as info:
            object_key(fields, "f")
        assert (info.value.code, info.value.status) == ("InvalidArgument", 400)


# -- the answers ------------------------------------------------------------------------------------
ETAG = '"37b51d194a7513e45b56f6524f2d51f2"'


@pytest.mark.parametrize("fields, status", [({}, 204), ({"success_action_status": "404"}, 204),
                                            ({"success_action_status": "200"}, 200),
                                            ({"success_action_redirect": "not a url"}, 204)])
def test_empty_answers(fields, status):
    got, headers, body = success_response(fields, "bkt", "foo.txt", ETAG, "http://h/bkt/foo.txt")
    assert (got, body, headers["ETag"], headers["Location"]) == (status, b"", ETAG, "http://h/bkt/foo.txt")


def test_201_post_response():
    """s3-tests test_post_object_set_success_code reads Key with an unqualified find()."""
    status, headers, body = success_response({"success_action_status": "201"}, "bkt", "a b.txt", ETAG, "http://h/bkt/a%20b.txt")
    root = ET.fromstring(body)
    assert status == 201 and headers["Content-Type"] == "application/xml"
    assert [(el.tag, el.text) for el in root] == [("Location", "http://h/bkt/a%20b.txt"), ("Bucket", "bkt"),
                                                 ("Key", "a b.txt"), ("ETag", ETAG)]
    assert root.find("Key").text == "a b.txt"


@pytest.mark.parametrize("url, expected", [
    ("http://h/bkt", 'http://h/bkt?bucket=bkt&key=foo.txt&etag=%2237b51d194a7513e45b56f6524f2d51f2%22'),
    ("https://h/done?x=1", 'https://h/done?x=1&bucket=bkt&key=foo.txt&etag=%2237b51d194a7513e45b56f6524f2d51f2%22'),
])
def test_redirect(url, expected):
    """s3-tests test_post_object_success_redirect_action: {url}?bucket=..&key=..&etag=%22..%22 by a 303."""
    for name in ("success_action_redirect", "redirect"):
        status, headers, body = success_response({name: url, "success_action_status": "201"}, "bkt", "foo.txt", ETAG, "l")
        assert (status, headers["Location"], body) == (303, expected, b"")


# -- the fields as PutObject headers, and the bounds ------------------------------------------------
def test_put_headers_are_the_fields_a_put_would_send_as_headers():
    from s3front.post_form import put_headers
    fields = {"key": "k", "acl": "public-read", "content-type": "text/plain", "cache-control": "no-cache",
              "x-amz-meta-a": "1", "x-amz-storage-class": "STANDARD", "x-amz-checksum-sha256": "v",
              "x-amz-credential": "AK/20260101/us-east-1/s3/aws4_request", "x-amz-signature": "s",
              "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-date": "20260101T000000Z", "policy": "p",
              "success_action_status": "201", "tagging": "<Tagging><TagSet><Tag><Key>b a</Key><Value>1+2</Value>"
                                                         "</Tag></TagSet></Tagging>"}
    assert put_headers(fields) == {"content-type": "text/plain", "cache-control": "no-cache", "x-amz-meta-a": "1",
                                   "x-amz-storage-class": "STANDARD", "x-amz-checksum-sha256": "v",
                                   "x-amz-acl": "public-read", "x-amz-tagging": "b%20a=1%2B2"}


def test_put_headers_refuse_a_bad_tagging_document():
    from s3front.post_form import put_headers
    with pytest.raises(S3Error) as info:
        put_headers({"tagging": "<Tagging><TagSet><Tag><Key>aws:k</Key><Value/></Tag></TagSet></Tagging>"})
    assert info.value.code == "InvalidTag"
    with pytest.raises(S3Error) as info:
        put_headers({"tagging": "not xml"})
    assert info.value.code == "MalformedXML"


def test_is_form_reads_the_media_type_only():
    from s3front.post_form import is_form
    assert is_form("multipart/form-data; boundary=x") and is_form("Multipart/Form-Data")
    assert not is_form("application/x-www-form-urlencoded") and not is_form(None)


def test_too_many_fields_before_the_file():
    body, ctype = form_body([(f"x-ignore-{i}", "") for i in range(20)], b"f")
    assert error(read_all(chunks(body), ctype, max_fields=10)).code == "MaxPostPreDataLengthExceededError"
    form, data = run(read_all(chunks(body), ctype, max_fields=21))
    assert len(form.fields) == 20 and data == b"f"
