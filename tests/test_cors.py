"""Bucket CORS with real clients: Put/Get/DeleteBucketCors through boto3, preflights and Origin through raw HTTP."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.signing import send_v4

RULES = [
    {"ID": "pages", "AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "HEAD"],
     "AllowedHeaders": ["x-amz-*", "content-type"], "ExposeHeaders": ["ETag", "x-amz-meta-a"],
     "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]},
]


def error_of(exc: ClientError) -> tuple[int, str, str]:
    return (exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"],
            exc.response["Error"]["Message"])


def code_of(resp: httpx.Response) -> str:
    return ET.fromstring(resp.content).findtext("Code")


@pytest.fixture
def cors_bucket(s3, bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<html/>")
    return bucket


def options(cluster, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.request("OPTIONS", f"{cluster.endpoint}{path}", headers=headers)


# -- Put / Get / Delete ----------------------------------------------------------------------------
def test_no_configuration_is_404(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert error_of(exc.value) == (404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")


def test_put_get_delete_round_trip(s3, bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0] == RULES[0]
    assert got[1] == {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}
    assert s3.delete_bucket_cors(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert error_of(exc.value)[1] == "NoSuchCORSConfiguration"


def test_unsupported_method_is_refused(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
    assert error_of(exc.value)[:2] == (400, "InvalidRequest")


def test_two_wildcards_in_an_origin_are_refused(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["*.a.*"], "AllowedMethods": ["GET"]}]})
    assert error_of(exc.value)[:2] == (400, "InvalidRequest")


@pytest.mark.parametrize("body", [
    b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
    b"<CORSConfiguration></CORSConfiguration>",
    b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
    b"<Bogus/></CORSRule></CORSConfiguration>",
    b"<CORSConfiguration><CORSRule>",
])
def test_malformed_bodies(cluster, bucket, body):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}?cors", body)
    assert resp.status_code == 400
    assert code_of(resp) == "MalformedXML"


# -- preflight ------------------------------------------------------------------------------------------
def test_preflight_allowed(cluster, cors_bucket):
    resp = options(cluster, f"/{cors_bucket}/page.html", {
        "Origin": "https://www.example.com", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "X-Amz-Date, Content-Type"})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "https://www.example.com"
    assert resp.headers["access-control-allow-methods"] == "GET, HEAD"
    assert resp.headers["access-control-allow-headers"] == "x-amz-date, content-type"
    assert resp.headers["access-control-expose-headers"] == "ETag, x-amz-meta-a"
    assert resp.headers["access-control-max-age"] == "600"
    assert "Origin" in resp.headers["vary"]


def test_preflight_wildcard_rule_answers_star(cluster, cors_bucket):
    resp = options(cluster, f"/{cors_bucket}/new", {"Origin": "http://anywhere",
                                                    "Access-Control-Request-Method": "PUT"})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["access-control-allow-methods"] == "PUT"


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.org", "Access-Control-Request-Method": "GET"},                  # origin
    {"Origin": "https://www.example.com", "Access-Control-Request-Method": "DELETE"},       # method
    {"Origin": "https://www.example.com", "Access-Control-Request-Method": "GET",
     "Access-Control-Request-Headers": "authorization"},                                    # header
])
def test_preflight_refused(cluster, cors_bucket, headers):
    resp = options(cluster, f"/{cors_bucket}/page.html", headers)
    assert resp.status_code == 403
    assert code_of(resp) == "AccessForbidden"
    assert "access-control-allow-origin" not in resp.headers


def test_preflight_without_configuration_is_refused(cluster, bucket):
    resp = options(cluster, f"/{bucket}", {"Origin": "http://a", "Access-Control-Request-Method": "GET"})
    assert resp.status_code == 403
    assert code_of(resp) == "AccessForbidden"


def test_preflight_without_origin(cluster, cors_bucket):
    resp = options(cluster, f"/{cors_bucket}/page.html", {"Access-Control-Request-Method": "GET"})
    assert resp.status_code == 400
    root = ET.fromstring(resp.content)
    assert root.findtext("Code") == "BadRequest"
    assert root.findtext("Message") == "Insufficient information. Origin request header needed."


def test_preflight_on_a_presigned_url_needs_no_valid_signature(cluster, s3, cors_bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": cors_bucket, "Key": "page.html"})
    resp = httpx.request("OPTIONS", url, headers={"Origin": "https://a.example.com",
                                                  "Access-Control-Request-Method": "GET"})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "https://a.example.com"


# -- Origin on ordinary requests ---------------------------------------------------------------------
def test_get_with_allowed_origin_has_cors_headers(cluster, s3, cors_bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": cors_bucket, "Key": "page.html"})
    resp = httpx.get(url, headers={"Origin": "https://www.example.com"})
    assert resp.status_code == 200
    assert resp.content == b"<html/>"
    assert resp.headers["access-control-allow-origin"] == "https://www.example.com"
    assert resp.headers["access-control-allow-methods"] == "GET, HEAD"
    assert resp.headers["access-control-expose-headers"] == "ETag, x-amz-meta-a"


def test_get_with_other_origin_or_none_has_no_cors_headers(cluster, s3, cors_bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": cors_bucket, "Key": "page.html"})
    for headers in ({"Origin": "https://evil.org"}, {}):
        resp = httpx.get(url, headers=headers)
        assert resp.status_code == 200
        assert "access-control-allow-origin" not in resp.headers


def test_error_answer_carries_cors_headers(cluster, cors_bucket):
    # An anonymous PUT is refused, but the page's script may still read why.
    resp = httpx.put(f"{cluster.endpoint}/{cors_bucket}/x", content=b"", headers={"Origin": "http://z"})
    assert resp.status_code == 403
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["access-control-allow-methods"] == "PUT"


# -- a copy answers with the CORS rules of the bucket it addresses, not of its source ---------------
SOURCE_RULES = [{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"], "ExposeHeaders": ["x-source"]}]
DESTINATION_RULES = [{"AllowedOrigins": ["https://dst.example"], "AllowedMethods": ["PUT"],
                      "ExposeHeaders": ["x-destination"]}]


@pytest.fixture
def copy_pair(s3, bucket):
    """(source, destination): two buckets with different CORS rules, the source holding "k"."""
    destination = f"{bucket}-dst"
    s3.create_bucket(Bucket=destination)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": SOURCE_RULES})
    s3.put_bucket_cors(Bucket=destination, CORSConfiguration={"CORSRules": DESTINATION_RULES})
    s3.put_object(Bucket=bucket, Key="k", Body=b"copied")
    yield bucket, destination
    for obj in s3.list_objects_v2(Bucket=destination).get("Contents", []):
        s3.delete_object(Bucket=destination, Key=obj["Key"])
    for upload in s3.list_multipart_uploads(Bucket=destination).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=destination, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=destination)


def _cors_headers(resp: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k.startswith("access-control-")}


def test_copy_object_answers_with_the_destination_buckets_cors(cluster, s3, copy_pair):
    source, destination = copy_pair
    url, copy = f"{cluster.endpoint}/{destination}/copy", {"x-amz-copy-source": f"/{source}/k"}
    resp = send_v4("PUT", url, headers={**copy, "Origin": "https://dst.example"})
    assert resp.status_code == 200
    assert _cors_headers(resp) == {"access-control-allow-origin": "https://dst.example",
                                   "access-control-allow-methods": "PUT",
                                   "access-control-allow-credentials": "true",
                                   "access-control-expose-headers": "x-destination"}
    # an origin only the source's rules allow gets nothing from the destination
    resp = send_v4("PUT", url, headers={**copy, "Origin": "https://elsewhere.example"})
    assert resp.status_code == 200 and _cors_headers(resp) == {}
    assert s3.get_object(Bucket=destination, Key="copy")["Body"].read() == b"copied"


def test_upload_part_copy_answers_with_the_destination_buckets_cors(cluster, s3, copy_pair):
    source, destination = copy_pair
    upload = s3.create_multipart_upload(Bucket=destination, Key="mpu")["UploadId"]
    url = f"{cluster.endpoint}/{destination}/mpu?partNumber=1&uploadId={upload}"
    copy = {"x-amz-copy-source": f"/{source}/k"}
    resp = send_v4("PUT", url, headers={**copy, "Origin": "https://dst.example"})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "https://dst.example"
    assert resp.headers["access-control-expose-headers"] == "x-destination"
    resp = send_v4("PUT", url, headers={**copy, "Origin": "https://elsewhere.example"})
    assert resp.status_code == 200 and _cors_headers(resp) == {}
