"""Object details: stored content headers, response-* overrides, metadata and key limits, odd keys, virtual hosts."""
from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest

from tests.cluster import s3_client
from tests.expect import s3_error

CONTENT_HEADERS = {"ContentType": "text/csv", "ContentEncoding": "gzip",
                   "ContentDisposition": 'attachment; filename="a.csv"', "ContentLanguage": "de-DE",
                   "CacheControl": "no-cache"}


def test_content_headers_are_stored_and_returned(s3, bucket):
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    s3.put_object(Bucket=bucket, Key="h", Body=b"a,b", Expires=expires, **CONTENT_HEADERS)
    for answer in (s3.head_object(Bucket=bucket, Key="h"), s3.get_object(Bucket=bucket, Key="h")):
        for name, value in CONTENT_HEADERS.items():
            assert answer[name] == value, name
        assert answer["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"


def test_default_content_type(s3, bucket):
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="plain")["ContentType"] == "binary/octet-stream"


def test_response_overrides_on_get(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="image/png", ResponseContentLanguage="fr",
                        ResponseCacheControl="max-age=1", ResponseContentDisposition="inline",
                        ResponseContentEncoding="identity", ResponseExpires=datetime(2031, 1, 1, tzinfo=timezone.utc))
    assert got["ContentType"] == "image/png" and got["ContentLanguage"] == "fr"
    assert got["CacheControl"] == "max-age=1" and got["ContentDisposition"] == "inline"
    assert got["ContentEncoding"] == "identity"
    assert got["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 01 Jan 2031 00:00:00 GMT"
    # The stored headers are unchanged.
    assert s3.head_object(Bucket=bucket, Key="o")["ContentType"] == "text/plain"


def test_user_metadata_limit(s3, bucket):
    # 2 KB counts the names (without x-amz-meta-) and the values.
    s3.put_object(Bucket=bucket, Key="fits", Body=b"", Metadata={"k": "v" * 2047})
    assert s3_error(s3.put_object, Bucket=bucket, Key="big", Body=b"", Metadata={"k": "v" * 2048}) == \
        (400, "MetadataTooLarge")
    assert s3_error(s3.put_object, Bucket=bucket, Key="big", Body=b"",
                    Metadata={f"n{i}": "v" * 100 for i in range(21)}) == (400, "MetadataTooLarge")
    assert s3_error(s3.head_object, Bucket=bucket, Key="big") == (404, "404")


def test_key_length_limit(s3, bucket):
    longest = "k" * 1024
    s3.put_object(Bucket=bucket, Key=longest, Body=b"x")
    assert s3.get_object(Bucket=bucket, Key=longest)["Body"].read() == b"x"
    assert s3_error(s3.put_object, Bucket=bucket, Key="k" * 1025, Body=b"x") == (400, "KeyTooLongError")
    # The limit is in UTF-8 bytes: 342 three-byte characters are 1026 bytes.
    assert s3_error(s3.put_object, Bucket=bucket, Key="\u6587" * 342, Body=b"x") == (400, "KeyTooLongError")
    s3.put_object(Bucket=bucket, Key="\u6587" * 341, Body=b"x")


ODD_KEYS = ["with space", "plus+plus", "percent%20literal", "question?mark", "hash#tag", "caf\u00e9",
            "\u65e5\u672c\u8a9e/\u30d5\u30a1\u30a4\u30eb", "emoji\U0001F680", "trailing/", "//leading", "semi;colon",
            "amp&and=eq", "tilde~star*", "quote'\"", "back\\slash", " padded ", "dots/../x", "tab\tkey"]


def test_arbitrary_utf8_keys_are_stored_verbatim(s3, bucket):
    for i, key in enumerate(ODD_KEYS):
        s3.put_object(Bucket=bucket, Key=key, Body=str(i).encode())
    for i, key in enumerate(ODD_KEYS):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == str(i).encode(), key
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(ODD_KEYS, key=lambda k: k.encode())


@pytest.fixture
def resolve_localhost_subdomains(monkeypatch):
    """Make `<bucket>.localhost` resolve to 127.0.0.1 in this process, as a wildcard DNS record would."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_virtual_hosted_style(cluster, s3, bucket, resolve_localhost_subdomains):
    vhost = s3_client(f"http://localhost:{cluster.s3_ports[0]}", s3={"addressing_style": "virtual"})
    hosts = []
    vhost.meta.events.register("before-send.s3", lambda request, **_: hosts.append(request.url.split("/")[2]))
    vhost.put_object(Bucket=bucket, Key="dir/v host+key", Body=b"virtual", ContentType="text/x-v")
    got = vhost.get_object(Bucket=bucket, Key="dir/v host+key")
    assert got["Body"].read() == b"virtual" and got["ContentType"] == "text/x-v"
    assert s3.get_object(Bucket=bucket, Key="dir/v host+key")["Body"].read() == b"virtual"   # same object
    assert [o["Key"] for o in vhost.list_objects_v2(Bucket=bucket)["Contents"]] == ["dir/v host+key"]
    assert vhost.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    vhost.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "dir/v host+key"})
    deleted = vhost.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "dir/v host+key"}, {"Key": "copied"}]})
    assert len(deleted["Deleted"]) == 2
    assert s3_error(vhost.get_object, Bucket=bucket, Key="copied") == (404, "NoSuchKey")
    assert set(hosts) == {f"{bucket}.localhost:{cluster.s3_ports[0]}"}
