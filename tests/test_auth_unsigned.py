"""Headers a signature does not cover change nothing: every x-amz-* header and host must be signed (SigV4 header,
presigned and aws-chunked); SigV2 signs them by construction; the Authorization header is parsed strictly.

Regressions of an outside security review: a presigned PUT turned into a public copy of a private object,
grants added to a presigned upload, captured requests replayed with added headers.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import os
import time
from xml.etree import ElementTree

import httpx
import pytest
from awscrt import checksums

from s3front.auth import sigv4
from s3front.routing import BUCKET, OBJECT, OPERATIONS, SERVICE, Row
from shared.errors import S3Error
from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error, xml_error
from tests.signing import EMPTY_SHA256, presign_v4, send_chunked, sign_v4
from tests.test_auth_sigv2 import v2_headers, v2_query

SECRET = b"the private object"
NOT_SIGNED = "There were headers present in the request which were not signed"
AUTH = "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request{0}SignedHeaders=host;x-amz-date{0}Signature=ab"
_names = itertools.count()


def not_signed(resp: httpx.Response) -> list[str]:
    """The HeadersNotSigned of an answer that must be 403 AccessDenied for unsigned headers."""
    root = ElementTree.fromstring(resp.content)
    assert (resp.status_code, root.findtext("Code"), root.findtext("Message")) == (403, "AccessDenied", NOT_SIGNED)
    return root.findtext("HeadersNotSigned").split(", ")


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def put_headers(url: str, body: bytes, **kwargs) -> dict[str, str]:
    return sign_v4("PUT", url, {"Content-Length": str(len(body))}, sha256(body), **kwargs)


@pytest.fixture
def private(s3, bucket):
    """A private bucket holding a private object, secret.txt."""
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=SECRET)
    return bucket


@pytest.fixture
def presigner(cluster):
    return cluster.client(signature_version="s3v4")


def assert_private_and_unchanged(cluster, s3, bucket: str, key: str, body: bytes | None) -> None:
    """`key` holds `body` (or does not exist when None), and nobody but its owner may read it."""
    anonymous = httpx.get(f"{cluster.endpoint}/{bucket}/{key}")
    assert anonymous.status_code in (403, 404) and SECRET not in anonymous.content
    if body is None:
        assert s3_error(s3.get_object, Bucket=bucket, Key=key) == (404, "NoSuchKey")
        return
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert grants[0]["Grantee"]["ID"] == s3.list_buckets()["Owner"]["ID"]


# -- the findings, as reported -------------------------------------------------------------------

def test_presigned_put_cannot_become_a_public_copy(cluster, s3, presigner, private):
    url = presigner.generate_presigned_url("put_object", Params={"Bucket": private, "Key": "inbox/u"}, ExpiresIn=600)
    resp = httpx.put(url, headers={"x-amz-copy-source": f"/{private}/secret.txt", "x-amz-acl": "public-read"})
    assert sorted(not_signed(resp)) == ["x-amz-acl", "x-amz-copy-source"]
    assert_private_and_unchanged(cluster, s3, private, "inbox/u", None)
    assert httpx.put(url, content=b"upload").status_code == 200     # the URL itself was good


def test_presigned_put_cannot_grant_another_account(cluster, s3, presigner, private):
    alt = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    alt_id = alt.list_buckets()["Owner"]["ID"]
    url = presigner.generate_presigned_url("put_object", Params={"Bucket": private, "Key": "secret.txt"},
                                           ExpiresIn=600)
    resp = httpx.put(url, content=b"overwritten", headers={"x-amz-grant-full-control": f'id="{alt_id}"'})
    assert not_signed(resp) == ["x-amz-grant-full-control"]
    assert_private_and_unchanged(cluster, s3, private, "secret.txt", SECRET)
    assert s3_error(alt.get_object, Bucket=private, Key="secret.txt") == (403, "AccessDenied")


@pytest.mark.parametrize("extra", [{"x-amz-acl": "public-read"}, {"x-amz-copy-source": "/{bucket}/secret.txt"},
                                   {"x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'}],
                         ids=["acl", "copy-source", "grant-read"])
def test_replayed_request_with_an_added_header_is_refused(cluster, s3, private, extra):
    url, body = f"{cluster.endpoint}/{private}/inbox/replay", b"first"
    captured = put_headers(url, body)
    assert httpx.put(url, headers=captured, content=body).status_code == 200
    added = {k: v.format(bucket=private) for k, v in extra.items()}
    assert not_signed(httpx.put(url, headers={**captured, **added}, content=body)) == list(added)
    assert_private_and_unchanged(cluster, s3, private, "inbox/replay", body)


def test_signed_request_sent_to_another_virtual_hosted_bucket(cluster, s3, private):
    other = f"other-{os.getpid()}-{next(_names)}"
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=other, Key="secret.txt", Body=b"other's object")
    port = cluster.s3_ports[0]
    body = b"vhost"
    headers = put_headers(f"http://{private}.localhost:{port}/inbox/v", body)
    resp = httpx.put(f"{cluster.endpoint}/inbox/v", content=body, headers={**headers, "Host": f"{other}.localhost:{port}"})
    assert xml_error(resp) == (403, "SignatureDoesNotMatch")
    assert s3_error(s3.get_object, Bucket=other, Key="inbox/v") == (404, "NoSuchKey")
    url = presign_v4("GET", f"http://{private}.localhost:{port}/secret.txt")
    query = url.split("?", 1)[1]
    moved = httpx.get(f"{cluster.endpoint}/secret.txt?{query}", headers={"Host": f"{other}.localhost:{port}"})
    assert xml_error(moved) == (403, "SignatureDoesNotMatch")
    good = httpx.get(f"{cluster.endpoint}/secret.txt?{query}", headers={"Host": f"{private}.localhost:{port}"})
    assert good.content == SECRET
    s3.delete_object(Bucket=other, Key="secret.txt")
    s3.delete_bucket(Bucket=other)


def test_authorization_without_commas_is_malformed(cluster, s3, private):
    url, body = f"{cluster.endpoint}/{private}/inbox/commas", b"x"
    headers = put_headers(url, body)
    spaced = headers["Authorization"].replace(", ", " ")
    resp = httpx.put(url, content=body, headers={**headers, "Authorization": spaced})
    assert xml_error(resp) == (400, "AuthorizationHeaderMalformed")
    assert_private_and_unchanged(cluster, s3, private, "inbox/commas", None)
    tight = headers["Authorization"].replace(", ", ",")      # as s3cmd writes it: accepted
    assert httpx.put(url, content=body, headers={**headers, "Authorization": tight}).status_code == 200


# -- host --------------------------------------------------------------------------------------

def test_unsigned_host_is_refused_in_the_header_form(cluster, s3, private):
    url, body = f"{cluster.endpoint}/{private}/inbox/host", b"h"
    headers = put_headers(url, body, left_out=frozenset(["host"]))
    assert "host" not in headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert not_signed(httpx.put(url, content=body, headers=headers)) == ["host"]
    assert_private_and_unchanged(cluster, s3, private, "inbox/host", None)


def test_unsigned_host_is_refused_in_a_presigned_url(cluster, private):
    url = presign_v4("GET", f"{cluster.endpoint}/{private}/secret.txt", left_out=frozenset(["host"]))
    assert "X-Amz-SignedHeaders=&" in url
    resp = httpx.get(url)
    assert not_signed(resp) == ["host"] and SECRET not in resp.content


# -- what S3 lets go unsigned: x-amz-content-sha256, whose value is signed anyway --------------------

def test_unsigned_content_sha256_is_accepted_and_still_binds(cluster, s3, private):
    url, body = f"{cluster.endpoint}/{private}/inbox/sha", b"payload"
    headers = put_headers(url, body, left_out=frozenset(["x-amz-content-sha256"]))
    assert "x-amz-content-sha256" not in headers["Authorization"]
    assert httpx.put(url, content=body, headers=headers).status_code == 200
    changed = {**headers, "X-Amz-Content-SHA256": sigv4.UNSIGNED_PAYLOAD}
    assert xml_error(httpx.put(url, content=b"another", headers=changed)) == (403, "SignatureDoesNotMatch")
    assert s3.get_object(Bucket=private, Key="inbox/sha")["Body"].read() == body


def test_presigned_put_with_an_unsigned_content_sha256(cluster, s3, presigner, private):
    url = presigner.generate_presigned_url("put_object", Params={"Bucket": private, "Key": "inbox/p"}, ExpiresIn=60)
    wrong = httpx.put(url, content=b"body", headers={"x-amz-content-sha256": sha256(b"body")})
    assert xml_error(wrong) == (403, "SignatureDoesNotMatch")     # S3 signs the header's value in its place
    ok = httpx.put(url, content=b"body", headers={"x-amz-content-sha256": sigv4.UNSIGNED_PAYLOAD})
    assert ok.status_code == 200, ok.text


def test_presigned_url_with_signed_amz_headers_still_works(cluster, presigner, private):
    url = presigner.generate_presigned_url("put_object", ExpiresIn=60,
                                           Params={"Bucket": private, "Key": "inbox/acl", "ACL": "public-read"})
    assert "x-amz-acl" in url
    assert httpx.put(url, content=b"open", headers={"x-amz-acl": "public-read"}).status_code == 200
    assert httpx.get(f"{cluster.endpoint}/{private}/inbox/acl").content == b"open"


# -- aws-chunked streams and SigV2 -------------------------------------------------------------

@pytest.mark.parametrize("mode", ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                                  "STREAMING-UNSIGNED-PAYLOAD-TRAILER"])
def test_streaming_upload_with_an_unsigned_header(cluster, s3, private, mode):
    chunks = [os.urandom(9000), b"tail"]
    crc = base64.b64encode(checksums.crc32(b"".join(chunks)).to_bytes(4, "big")).decode()
    trailers = {"x-amz-checksum-crc32": crc} if mode.endswith("TRAILER") else None
    url = f"{cluster.endpoint}/{private}/inbox/stream"
    resp = send_chunked(url, chunks, mode, trailers, unsigned={"x-amz-acl": "public-read"})
    assert not_signed(resp) == ["x-amz-acl"]
    assert_private_and_unchanged(cluster, s3, private, "inbox/stream", None)
    assert send_chunked(url, chunks, mode, trailers).status_code == 200


def test_sigv2_signs_every_amz_header(cluster, s3, private):
    resource, body = f"/{private}/inbox/v2", b"v2"
    headers = v2_headers("PUT", resource)
    extra = {"x-amz-acl": "public-read", "x-amz-copy-source": f"/{private}/secret.txt"}
    resp = httpx.put(cluster.endpoint + resource, content=body, headers={**headers, **extra})
    assert xml_error(resp) == (403, "SignatureDoesNotMatch")
    expires = int(time.time()) + 60
    url = f"{cluster.endpoint}{resource}?{v2_query('PUT', resource, expires)}"
    assert xml_error(httpx.put(url, content=body, headers=extra)) == (403, "SignatureDoesNotMatch")
    assert_private_and_unchanged(cluster, s3, private, "inbox/v2", None)
    assert httpx.put(url, content=body).status_code == 200


# -- every operation of the routing table ------------------------------------------------------------

SELECTOR_VALUES = {"uploadId": "upload1", "partNumber": "1", "id": "config1", "list-type": "2"}
EXTRA = {"x-amz-acl": "public-read"}


def _target(row: Row, bucket: str) -> tuple[str, dict[str, str]]:
    """The path and query selecting `row`, and the (signed) header it needs."""
    path = {SERVICE: "/", BUCKET: f"/{bucket}", OBJECT: f"/{bucket}/key"}[row.target]
    query = "&".join(f"{q}={SELECTOR_VALUES.get(q, '')}" for q in row.query)
    return path + (f"?{query}" if query else ""), ({row.header: f"/{bucket}/src"} if row.header else {})


def _signed(form: str, method: str, url: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    if form == "presigned":
        return presign_v4(method, url, headers), headers
    return url, sign_v4(method, url, {"Content-Length": "0", **headers}, EMPTY_SHA256)


def _answer(resp: httpx.Response) -> tuple[int, str | None]:
    return resp.status_code, ElementTree.fromstring(resp.content).findtext("Code") if resp.content else None


@pytest.mark.parametrize("form", ["header", "presigned"])
@pytest.mark.parametrize("row", OPERATIONS, ids=lambda r: f"{r.operation}-{r.method}-{r.target}-{'+'.join(r.query)}")
def test_every_operation_refuses_an_unsigned_header(cluster, s3, row, form):
    # A bucket that does not exist: any handler would answer NoSuchBucket (or create it), so
    # AccessDenied proves authentication refused the request before anything read or wrote metadata.
    bucket = f"nobucket-{os.getpid()}-{next(_names)}"
    path, headers = _target(row, bucket)
    url, signed = _signed(form, row.method, cluster.endpoint + path, headers)
    if row.method == "OPTIONS":
        # A CORS preflight is never authenticated, on AWS as here: a signature or an added header
        # makes no difference to its answer.
        preflight = {"Origin": "https://example.com", "Access-Control-Request-Method": "GET"}
        anonymous = httpx.request("OPTIONS", cluster.endpoint + path, headers=preflight)
        resp = httpx.request("OPTIONS", url, headers={**signed, **preflight, **EXTRA})
        assert _answer(resp) == _answer(anonymous) and b"HeadersNotSigned" not in resp.content
        return
    resp = httpx.request(row.method, url, headers={**signed, **EXTRA})
    if row.method == "HEAD":
        assert resp.status_code == 403        # no body to name the header: compare with the same request unaltered
        assert httpx.request(row.method, url, headers=signed).status_code == 404      # NoSuchBucket
    else:
        assert not_signed(resp) == list(EXTRA)
    if row.target != SERVICE:
        assert s3_error(s3.head_bucket, Bucket=bucket) == (404, "404")


# -- the pure functions ------------------------------------------------------------------------

@pytest.mark.parametrize("separator", [", ", ",", ",   ", " , "])
def test_parse_authorization_accepts_commas(separator):
    signed = sigv4.parse_authorization(AUTH.format(separator), "20250101T000000Z")
    assert signed.credential.access_key == "AK" and signed.signed_headers == ["host", "x-amz-date"]
    assert signed.signature == "ab"


MALFORMED = {
    "spaces-only": AUTH.format(" "),                                         # the finding
    "field-missing": AUTH.format(", ").replace(", Signature=ab", ""),
    "field-twice": AUTH.format(", ") + ", Signature=cd",
    "unknown-field": AUTH.format(", ") + ", Extra=1",
    "empty-field": AUTH.format(", ") + ",",
    "space-in-value": AUTH.format(", ").replace("Signature=ab", "Signature=a b"),
    "no-fields": "AWS4-HMAC-SHA256 ",
}


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
def test_parse_authorization_refuses_malformed_headers(header):
    with pytest.raises(S3Error) as err:
        sigv4.parse_authorization(header, "20250101T000000Z")
    assert (err.value.status, err.value.code) == (400, "AuthorizationHeaderMalformed")


def test_unsigned_headers_names_amz_headers_and_host():
    headers = {"host": "h", "x-amz-date": "d", "x-amz-acl": "private", "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
               "x-amzn-trace-id": "t", "content-type": "text/plain", "x-amz-meta-a": "1"}
    assert sigv4.unsigned_headers(headers, ["host", "x-amz-date"]) == ["x-amz-acl", "x-amz-meta-a"]
    assert sigv4.unsigned_headers(headers, ["x-amz-acl", "x-amz-date", "x-amz-meta-a"]) == ["host"]
    assert sigv4.unsigned_headers({"x-amz-date": "d"}, ["x-amz-date"]) == ["host"]     # no Host at all
    assert sigv4.unsigned_headers(headers, [""]) == ["host", "x-amz-date", "x-amz-acl", "x-amz-meta-a"]
    assert sigv4.unsigned_headers(headers, ["host", "x-amz-acl", "x-amz-date", "x-amz-meta-a"]) == []


def test_check_signed_headers_is_access_denied_naming_them():
    sigv4.check_signed_headers({"host": "h", "x-amz-date": "d"}, ["host", "x-amz-date"])
    with pytest.raises(S3Error) as err:
        sigv4.check_signed_headers({"host": "h", "x-amz-acl": "a", "x-amz-tagging": "t"}, ["host"])
    assert (err.value.status, err.value.code, err.value.message) == (403, "AccessDenied", NOT_SIGNED)
    assert err.value.fields == {"HeadersNotSigned": "x-amz-acl, x-amz-tagging"}
