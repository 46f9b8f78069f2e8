"""AWS Signature Version 2, signed here with HMAC-SHA1 (header and query forms), and s3cmd in v2 mode."""
from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import time
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest

from tests.cluster import ACCESS_KEY, SECRET_KEY
from tests.signing import bucket  # noqa: F401 - the bucket fixture

S3CMD = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "s3cmd"


def v2_signature(string_to_sign: str, secret: str = SECRET_KEY) -> str:
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def v2_headers(method: str, resource: str, headers: dict[str, str] | None = None, date: str | None = None,
               access_key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> dict[str, str]:
    """Headers with `Authorization: AWS key:sig`, the string to sign built as the AWS documentation says."""
    headers = dict(headers or {})
    if "x-amz-date" not in headers:
        headers["Date"] = date or formatdate(usegmt=True)
    lower = {k.lower(): v for k, v in headers.items()}
    amz = "".join(f"{k}:{lower[k]}\n" for k in sorted(lower) if k.startswith("x-amz-"))
    date_line = "" if "x-amz-date" in lower else lower["date"]
    to_sign = f"{method}\n{lower.get('content-md5', '')}\n{lower.get('content-type', '')}\n{date_line}\n{amz}{resource}"
    headers["Authorization"] = f"AWS {access_key}:{v2_signature(to_sign, secret)}"
    return headers


def v2_query(method: str, resource: str, expires: int) -> str:
    return urlencode({"AWSAccessKeyId": ACCESS_KEY, "Expires": str(expires),
                      "Signature": v2_signature(f"{method}\n\n\n{expires}\n{resource}")})


def _code(resp: httpx.Response) -> str:
    return resp.text.split("<Code>")[1].split("</Code>")[0]


def _message(resp: httpx.Response) -> str:
    return resp.text.split("<Message>")[1].split("</Message>")[0]


# -- header form ----------------------------------------------------------------------------------

def test_put_and_get_with_date(cluster, bucket):
    resource = f"/{bucket}/dir/hello%20world.txt"
    md5 = base64.b64encode(hashlib.md5(b"v2 body").digest()).decode()
    put = httpx.put(cluster.endpoint + resource, content=b"v2 body", headers=v2_headers("PUT", resource, {
        "Content-Type": "text/plain", "Content-MD5": md5, "x-amz-meta-colour": "blue"}))
    assert put.status_code == 200, put.text
    get = httpx.get(cluster.endpoint + resource, headers=v2_headers("GET", resource))
    assert get.status_code == 200 and get.content == b"v2 body"
    assert get.headers["x-amz-meta-colour"] == "blue" and get.headers["content-type"] == "text/plain"


def test_x_amz_date_replaces_date(cluster, bucket):
    resource = f"/{bucket}/amzdate"
    headers = v2_headers("PUT", resource, {"x-amz-date": formatdate(usegmt=True)})
    assert "Date" not in headers
    assert httpx.put(cluster.endpoint + resource, content=b"x", headers=headers).status_code == 200


def test_sub_resources_are_signed_other_parameters_are_not(cluster, bucket):
    headers = v2_headers("GET", f"/{bucket}?versioning")
    resp = httpx.get(f"{cluster.endpoint}/{bucket}?versioning", headers=headers)
    assert resp.status_code == 200 and "VersioningConfiguration" in resp.text
    resp = httpx.get(f"{cluster.endpoint}/{bucket}?prefix=a&max-keys=5", headers=v2_headers("GET", f"/{bucket}"))
    assert resp.status_code != 403


def test_response_overrides_are_signed(cluster, bucket):
    resource = f"/{bucket}/o"
    httpx.put(cluster.endpoint + resource, content=b"o", headers=v2_headers("PUT", resource))
    signed = f"{resource}?response-content-type=text/x-v2"
    resp = httpx.get(f"{cluster.endpoint}{resource}?response-content-type={quote('text/x-v2', safe='')}",
                     headers=v2_headers("GET", signed))
    assert resp.status_code == 200 and resp.headers["content-type"] == "text/x-v2"


def test_virtual_hosted_style_signs_the_bucket(cluster, bucket):
    port = cluster.s3_ports[0]
    headers = v2_headers("PUT", f"/{bucket}/vhost", {"Host": f"{bucket}.localhost:{port}"})
    resp = httpx.put(f"{cluster.endpoint}/vhost", content=b"v", headers=headers)
    assert resp.status_code == 200, resp.text
    get = httpx.get(f"{cluster.endpoint}/{bucket}/vhost", headers=v2_headers("GET", f"/{bucket}/vhost"))
    assert get.content == b"v"


def test_bad_signature(cluster, bucket):
    resource = f"/{bucket}/k"
    headers = v2_headers("PUT", resource, secret="wrong secret")
    resp = httpx.put(cluster.endpoint + resource, content=b"x", headers=headers)
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"
    assert "<StringToSign>" in resp.text


def test_signed_header_changed_in_flight(cluster, bucket):
    resource = f"/{bucket}/k"
    headers = v2_headers("PUT", resource, {"x-amz-meta-a": "1"})
    headers["x-amz-meta-a"] = "2"
    resp = httpx.put(cluster.endpoint + resource, content=b"x", headers=headers)
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"


def test_unknown_access_key(cluster, bucket):
    resource = f"/{bucket}/k"
    resp = httpx.get(cluster.endpoint + resource, headers=v2_headers("GET", resource, access_key="nobody"))
    assert resp.status_code == 403 and _code(resp) == "InvalidAccessKeyId"


def test_malformed_authorization(cluster, bucket):
    resp = httpx.get(f"{cluster.endpoint}/{bucket}", headers={"Authorization": "AWS no-colon",
                                                               "Date": formatdate(usegmt=True)})
    assert resp.status_code == 400 and _code(resp) == "InvalidArgument"


def test_missing_date(cluster, bucket):
    headers = v2_headers("GET", f"/{bucket}")
    del headers["Date"]
    resp = httpx.get(f"{cluster.endpoint}/{bucket}", headers=headers)
    assert resp.status_code == 403 and _code(resp) == "AccessDenied"


@pytest.mark.parametrize("offset", [-3600, 3600])
def test_clock_skew(cluster, bucket, offset):
    resource = f"/{bucket}/k"
    headers = v2_headers("GET", resource, date=formatdate(time.time() + offset, usegmt=True))
    resp = httpx.get(cluster.endpoint + resource, headers=headers)
    assert resp.status_code == 403 and _code(resp) == "RequestTimeTooSkewed"


# -- query form -----------------------------------------------------------------------------------------

def test_query_string_get_and_put(cluster, bucket):
    resource = f"/{bucket}/q"
    expires = int(time.time()) + 60
    put = httpx.put(f"{cluster.endpoint}{resource}?{v2_query('PUT', resource, expires)}", content=b"query")
    assert put.status_code == 200, put.text
    get = httpx.get(f"{cluster.endpoint}{resource}?{v2_query('GET', resource, expires)}")
    assert get.status_code == 200 and get.content == b"query"


def test_boto3_presigned_url_is_v2(s3, bucket):
    s3.put_object(Bucket=bucket, Key="b", Body=b"boto v2")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "b"}, ExpiresIn=60)
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    assert httpx.get(url).content == b"boto v2"


def test_query_string_expired(cluster, bucket):
    resource = f"/{bucket}/q"
    resp = httpx.get(f"{cluster.endpoint}{resource}?{v2_query('GET', resource, int(time.time()) - 10)}")
    assert resp.status_code == 403 and _code(resp) == "AccessDenied" and _message(resp) == "Request has expired"


def test_query_string_bad_signature(cluster, bucket):
    resource = f"/{bucket}/q"
    query = v2_query("PUT", resource, int(time.time()) + 60)      # signed for PUT, used for GET
    resp = httpx.get(f"{cluster.endpoint}{resource}?{query}")
    assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch"


def test_query_string_without_expires(cluster, bucket):
    resp = httpx.get(f"{cluster.endpoint}/{bucket}/q?AWSAccessKeyId={ACCESS_KEY}&Signature=abc")
    assert resp.status_code == 403 and _code(resp) == "AccessDenied"


def test_header_and_query_together_are_refused(cluster, bucket):
    resource = f"/{bucket}/q"
    query = v2_query("GET", resource, int(time.time()) + 60)
    resp = httpx.get(f"{cluster.endpoint}{resource}?{query}", headers=v2_headers("GET", resource))
    assert resp.status_code == 400 and _code(resp) == "InvalidArgument"


# -- s3cmd ------------------------------------------------------------------------------------------------

def test_s3cmd_with_signature_v2(cluster, tmp_path):
    config = tmp_path / "s3cfg"
    host = f"127.0.0.1:{cluster.s3_ports[0]}"
    config.write_text(f"[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\nhost_base = {host}\n"
                      f"host_bucket = {host}\nuse_https = False\nsignature_v2 = True\n")
    src, dst = tmp_path / "up.bin", tmp_path / "down.bin"
    src.write_bytes(bytes(range(256)) * 400)
    name = f"s3://s3cmd-v2-{cluster.s3_ports[0]}"

    def s3cmd(*args: str) -> str:
        done = subprocess.run([str(S3CMD), "-c", str(config), "--no-progress", "--max-retries=1", *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    s3cmd("mb", name)
    s3cmd("put", str(src), f"{name}/dir/file.bin")
    s3cmd("get", f"{name}/dir/file.bin", str(dst))
    assert dst.read_bytes() == src.read_bytes()
    assert "dir/file.bin" in s3cmd("ls", "--recursive", name)
    assert name in s3cmd("ls")
    s3cmd("del", f"{name}/dir/file.bin")
    s3cmd("rb", name)
    assert name not in s3cmd("ls")


# -- botocore's signing habits and bad dates ----------------------------------------------------------

def test_bucket_path_signed_with_a_trailing_slash(cluster):
    """botocore signs a path-style bucket request as `/bucket/` though it sends `/bucket`."""
    name = f"v2-slash-{int(time.time() * 1000)}"
    resp = httpx.put(f"{cluster.endpoint}/{name}", headers=v2_headers("PUT", f"/{name}/"))
    assert resp.status_code == 200, resp.text
    resp = httpx.delete(f"{cluster.endpoint}/{name}", headers=v2_headers("DELETE", f"/{name}/"))
    assert resp.status_code == 204


def test_boto3_v2_client_creates_a_bucket(cluster):
    client = cluster.client(signature_version="s3")
    name = f"v2-boto-{int(time.time() * 1000)}"
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"v2")
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"v2"


@pytest.mark.parametrize("value", ["", "Tue, 07 Jul 1950 21:53:04 GMT", "Bad Date"])
def test_empty_invalid_or_pre_epoch_x_amz_date_is_access_denied(cluster, bucket, value):
    resource = f"/{bucket}/dated"
    headers = v2_headers("PUT", resource, {"x-amz-date": value})
    resp = httpx.put(cluster.endpoint + resource, content=b"x", headers=headers)
    assert resp.status_code == 403 and _code(resp) == "AccessDenied"


def test_user_agent_is_not_signed(cluster, bucket):
    resource = f"/{bucket}/ua"
    for agent in ("", "something/1.0"):
        headers = {**v2_headers("PUT", resource), "User-Agent": agent}
        assert httpx.put(cluster.endpoint + resource, content=b"x", headers=headers).status_code == 200
