"""Versioning through the S3 API with real clients: the rules of design.md §5.6 with their exact headers,
and PutBucketVersioning / GetBucketVersioning (ListObjectVersions is in test_versioning_listing.py)."""
from __future__ import annotations

import re

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.signing import send_v4

HEX_VID = re.compile(r"^[0-9a-f]{54}$")
MISSING_VID = ("00000000000001000000RG001  ").encode().hex()      # well-formed, never issued


def headers_of(resp: dict) -> dict[str, str]:
    return resp["ResponseMetadata"]["HTTPHeaders"]


def error_of(exc: ClientError) -> tuple[int, str, dict[str, str]]:
    meta = exc.response["ResponseMetadata"]
    return meta["HTTPStatusCode"], exc.response["Error"]["Code"], meta["HTTPHeaders"]


def signed(cluster, method: str, path: str, body: bytes = b"", query: str = "") -> httpx.Response:
    """A raw signed request, for bodies and parameters that boto3 would not send."""
    return send_v4(method, f"{cluster.endpoint}{path}" + (f"?{query}" if query else ""), body)


def enable(s3, bucket: str, status: str = "Enabled") -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def put(s3, bucket: str, key: str, body: bytes) -> dict[str, str]:
    return headers_of(s3.put_object(Bucket=bucket, Key=key, Body=body))


# -- PutBucketVersioning / GetBucketVersioning ---------------------------------------------------
def test_never_versioned_bucket_has_empty_configuration(s3, cluster, bucket):
    resp = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in resp and "MFADelete" not in resp
    raw = signed(cluster, "GET", f"/{bucket}", query="versioning")
    assert raw.status_code == 200 and b"<Status>" not in raw.content
    assert b"<VersioningConfiguration" in raw.content


@pytest.mark.parametrize("sequence", [["Enabled", "Suspended", "Enabled"], ["Suspended"], ["Suspended", "Enabled"]])
def test_versioning_status_round_trips(s3, bucket, sequence):
    for status in sequence:
        enable(s3, bucket, status)
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == status


VERSIONING_XML = '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{}</VersioningConfiguration>'


@pytest.mark.parametrize("body, status, code", [
    (b"", 400, "MissingRequestBodyError"),
    (b"   \n  ", 400, "MalformedXML"),
    (b"<VersioningConfiguration><Status>Enabled</Status>", 400, "MalformedXML"),
    (VERSIONING_XML.format("<Status>Foo</Status>").encode(), 400, "MalformedXML"),
    (VERSIONING_XML.format("<Status>enabled</Status>").encode(), 400, "MalformedXML"),
    (VERSIONING_XML.format("<Status> Enabled </Status>").encode(), 400, "MalformedXML"),
    (VERSIONING_XML.format("<Status>Enabled</Status><Status>Suspended</Status>").encode(), 400, "MalformedXML"),
    (VERSIONING_XML.format("<Status>Enabled</Status><Foo>bar</Foo>").encode(), 400, "MalformedXML"),
    (VERSIONING_XML.format("<Status>Enabled</Status><MfaDelete>disabled</MfaDelete>").encode(), 400, "MalformedXML"),
    (VERSIONING_XML.format("").encode(), 400, "IllegalVersioningConfigurationException"),
    (VERSIONING_XML.format("<Status></Status>").encode(), 400, "IllegalVersioningConfigurationException"),
])
def test_put_bucket_versioning_refuses_bad_bodies(s3, cluster, bucket, body, status, code):
    resp = signed(cluster, "PUT", f"/{bucket}", body, "versioning")
    assert resp.status_code == status
    assert f"<Code>{code}</Code>".encode() in resp.content
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_put_bucket_versioning_accepts_mfa_delete_disabled(s3, cluster, bucket):
    body = VERSIONING_XML.format("<Status>Enabled</Status><MfaDelete>Disabled</MfaDelete>").encode()
    assert signed(cluster, "PUT", f"/{bucket}", body, "versioning").status_code == 200
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_boto3_bad_status_is_malformed_xml(s3, bucket):
    with pytest.raises(ClientError) as exc:
        enable(s3, bucket, "Bogus")
    assert error_of(exc.value)[:2] == (400, "MalformedXML")


def test_only_the_owner_sets_versioning(cluster, bucket):
    other = cluster.client("accessKey2", "verySecretKey2")
    with pytest.raises(ClientError) as exc:
        enable(other, bucket)
    assert error_of(exc.value)[:2] == (403, "AccessDenied")


# -- the PUT table ---------------------------------------------------------------------------
def test_put_version_header_per_state(s3, bucket):
    assert "x-amz-version-id" not in put(s3, bucket, "k", b"never")
    enable(s3, bucket)
    assert HEX_VID.match(put(s3, bucket, "k", b"enabled")["x-amz-version-id"])
    enable(s3, bucket, "Suspended")
    # a Suspended bucket stores a null version and, as S3 does, names no version in the answer
    assert "x-amz-version-id" not in put(s3, bucket, "k", b"suspended")
    assert s3.head_object(Bucket=bucket, Key="k")["VersionId"] == "null"


def test_put_with_version_id_is_refused(cluster, bucket):
    resp = signed(cluster, "PUT", f"/{bucket}/k", b"x", f"versionId={MISSING_VID}")
    assert resp.status_code == 400 and b"<Code>InvalidArgument</Code>" in resp.content


def test_suspended_put_replaces_only_the_null_version(s3, bucket):
    put(s3, bucket, "k", b"null-1")
    enable(s3, bucket)
    v1 = put(s3, bucket, "k", b"v1")["x-amz-version-id"]
    enable(s3, bucket, "Suspended")
    put(s3, bucket, "k", b"null-2")
    listing = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in listing] == [("null", True), (v1, False)]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"null-2"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"v1"


# -- GET / HEAD with a version id -------------------------------------------------------------
def test_get_and_head_by_version(s3, bucket):
    enable(s3, bucket)
    v1 = put(s3, bucket, "k", b"one")["x-amz-version-id"]
    v2 = put(s3, bucket, "k", b"two")["x-amz-version-id"]
    got = s3.get_object(Bucket=bucket, Key="k", VersionId=v1)
    assert got["Body"].read() == b"one" and headers_of(got)["x-amz-version-id"] == v1
    assert headers_of(s3.head_object(Bucket=bucket, Key="k", VersionId=v2))["x-amz-version-id"] == v2
    assert headers_of(s3.get_object(Bucket=bucket, Key="k"))["x-amz-version-id"] == v2


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_bad_version_id_is_invalid_argument(cluster, bucket, method):
    for bad in ("abc", "7a" * 27, MISSING_VID[:-1] + "g", MISSING_VID[:-2]):
        resp = signed(cluster, method, f"/{bucket}/k", query=f"versionId={bad}")
        assert resp.status_code == 400
        if method != "HEAD":
            assert b"<Code>InvalidArgument</Code>" in resp.content


def test_missing_version_is_no_such_version(s3, bucket):
    enable(s3, bucket)
    put(s3, bucket, "k", b"x")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", VersionId=MISSING_VID)
    assert error_of(exc.value)[:2] == (404, "NoSuchVersion")
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k", VersionId=MISSING_VID)
    assert error_of(exc.value)[0] == 404


def test_null_version_of_a_never_versioned_object(s3, bucket):
    put(s3, bucket, "k", b"plain")
    got = s3.get_object(Bucket=bucket, Key="k", VersionId="null")
    assert got["Body"].read() == b"plain"
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_of(exc.value)[:2] == (404, "NoSuchKey")


# -- delete markers -----------------------------------------------------------------------------
def test_delete_creates_a_marker_and_hides_the_object(s3, bucket):
    enable(s3, bucket)
    v1 = put(s3, bucket, "k", b"one")["x-amz-version-id"]
    deleted = headers_of(s3.delete_object(Bucket=bucket, Key="k"))
    assert deleted["x-amz-delete-marker"] == "true"
    dm = deleted["x-amz-version-id"]
    assert HEX_VID.match(dm) and dm != v1
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=bucket, Key="k")
        status, code, headers = error_of(exc.value)
        assert status == 404 and code in ("NoSuchKey", "404")
        assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == dm
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=bucket, Key="k", VersionId=dm)
        status, code, headers = error_of(exc.value)
        assert status == 405 and code in ("MethodNotAllowed", "405")
        assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == dm
        assert "last-modified" in headers


def test_delete_marker_even_for_a_missing_key(s3, bucket):
    enable(s3, bucket)
    deleted = headers_of(s3.delete_object(Bucket=bucket, Key="ghost"))
    assert deleted["x-amz-delete-marker"] == "true" and HEX_VID.match(deleted["x-amz-version-id"])
    markers = s3.list_object_versions(Bucket=bucket)["DeleteMarkers"]
    assert [(m["Key"], m["IsLatest"]) for m in markers] == [("ghost", True)]


def test_suspended_delete_writes_a_null_marker(s3, bucket):
    enable(s3, bucket)
    v1 = put(s3, bucket, "k", b"one")["x-amz-version-id"]
    enable(s3, bucket, "Suspended")
    deleted = headers_of(s3.delete_object(Bucket=bucket, Key="k"))
    assert deleted["x-amz-delete-marker"] == "true" and deleted["x-amz-version-id"] == "null"
    listing = s3.list_object_versions(Bucket=bucket)
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [("null", True)]
    assert [(v["VersionId"], v["IsLatest"]) for v in listing["Versions"]] == [(v1, False)]


def test_never_versioned_delete_has_no_version_headers(s3, bucket):
    put(s3, bucket, "k", b"x")
    deleted = headers_of(s3.delete_object(Bucket=bucket, Key="k"))
    assert "x-amz-delete-marker" not in deleted and "x-amz-version-id" not in deleted


# -- DELETE with a version id ------------------------------------------------------------------
def test_delete_latest_version_promotes_the_previous(s3, bucket):
    enable(s3, bucket)
    v1 = put(s3, bucket, "k", b"one")["x-amz-version-id"]
    v2 = put(s3, bucket, "k", b"two")["x-amz-version-id"]
    deleted = headers_of(s3.delete_object(Bucket=bucket, Key="k", VersionId=v2))
    assert deleted["x-amz-version-id"] == v2 and "x-amz-delete-marker" not in deleted
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"one" and headers_of(got)["x-amz-version-id"] == v1
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]] == [v1]


def test_delete_an_older_version_keeps_the_latest(s3, bucket):
    enable(s3, bucket)
    v1 = put(s3, bucket, "k", b"one")["x-amz-version-id"]
    v2 = put(s3, bucket, "k", b"two")["x-amz-version-id"]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]] == [v2]


def test_deleting_the_marker_restores_the_object(s3, bucket):
    enable(s3, bucket)
    put(s3, bucket, "k", b"one")
    dm = headers_of(s3.delete_object(Bucket=bucket, Key="k"))["x-amz-version-id"]
    deleted = headers_of(s3.delete_object(Bucket=bucket, Key="k", VersionId=dm))
    assert deleted["x-amz-delete-marker"] == "true" and deleted["x-amz-version-id"] == dm
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"


def test_deleting_the_last_version_removes_the_key(s3, bucket):
    enable(s3, bucket)
    v1 = put(s3, bucket, "k", b"one")["x-amz-version-id"]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    status, code, headers = error_of(exc.value)
    assert (status, code) == (404, "NoSuchKey") and headers["x-amz-delete-marker"] == "false"
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)


def test_delete_of_a_missing_version_succeeds(s3, bucket):
    enable(s3, bucket)
    put(s3, bucket, "k", b"one")
    deleted = s3.delete_object(Bucket=bucket, Key="k", VersionId=MISSING_VID)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert headers_of(deleted)["x-amz-version-id"] == MISSING_VID
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"


def test_missing_key_in_unversioned_bucket_says_it_is_no_delete_marker(s3, bucket):
    s3.put_object(Bucket=bucket, Key="frodo.txt", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="frodo.txt")
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="frodo.txt")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert info.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "false"
