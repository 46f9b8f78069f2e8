"""ListObjectVersions through real clients: XML shape, IsLatest, delete markers, markers and paging
(boto3, raw HTTP, aws CLI)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cluster import ACCESS_KEY, SECRET_KEY
from tests.test_versioning_api import MISSING_VID, enable, put, signed

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def raw_entries(cluster, bucket: str, query: str = "") -> tuple[list[tuple], ET.Element]:
    """(tag, Key, VersionId, IsLatest) of every entry in document order, and the parsed document."""
    resp = signed(cluster, "GET", f"/{bucket}", query="versions" + (f"&{query}" if query else ""))
    assert resp.status_code == 200, resp.text
    root = ET.fromstring(resp.content)
    entries = [(el.tag.removeprefix(S3_NS), el.findtext(f"{S3_NS}Key"), el.findtext(f"{S3_NS}VersionId"),
                el.findtext(f"{S3_NS}IsLatest")) for el in root if el.tag in (f"{S3_NS}Version", f"{S3_NS}DeleteMarker")]
    return entries, root


@pytest.fixture
def history(s3, bucket):
    """A bucket whose keys have null versions, several versions and delete markers, in interleaved order."""
    put(s3, bucket, "ab", b"null-ab")
    put(s3, bucket, "dir/x", b"x")
    enable(s3, bucket)
    for body in (b"a1", b"a2", b"a3"):
        put(s3, bucket, "a", body)
    s3.delete_object(Bucket=bucket, Key="a")
    put(s3, bucket, "a/b", b"ab1")
    put(s3, bucket, "ab", b"ab-v")
    put(s3, bucket, "dir/y", b"y")
    enable(s3, bucket, "Suspended")
    put(s3, bucket, "sp ace+%", b"s")
    enable(s3, bucket)
    put(s3, bucket, "sp ace+%", b"s2")
    return bucket


def test_full_listing_shape(s3, cluster, history):
    entries, root = raw_entries(cluster, history)
    assert [(t, k, lat) for t, k, _, lat in entries] == [
        ("DeleteMarker", "a", "true"), ("Version", "a", "false"), ("Version", "a", "false"),
        ("Version", "a", "false"), ("Version", "a/b", "true"), ("Version", "ab", "true"),
        ("Version", "ab", "false"), ("Version", "dir/x", "true"), ("Version", "dir/y", "true"),
        ("Version", "sp ace+%", "true"), ("Version", "sp ace+%", "false")]
    assert [vid for _, k, vid, _ in entries if k in ("ab", "sp ace+%")][1::2] == ["null", "null"]
    assert root.findtext(f"{S3_NS}IsTruncated") == "false" and root.findtext(f"{S3_NS}MaxKeys") == "1000"
    assert root.find(f"{S3_NS}NextKeyMarker") is None
    tags = [el.tag.removeprefix(S3_NS) for el in root]
    assert tags[:6] == ["Name", "Prefix", "KeyMarker", "VersionIdMarker", "MaxKeys", "IsTruncated"]
    version = root.find(f"{S3_NS}Version")
    assert [el.tag.removeprefix(S3_NS) for el in version] == [
        "Key", "VersionId", "IsLatest", "LastModified", "ETag", "Size", "Owner", "StorageClass"]
    marker = root.find(f"{S3_NS}DeleteMarker")
    assert [el.tag.removeprefix(S3_NS) for el in marker] == ["Key", "VersionId", "IsLatest", "LastModified", "Owner"]
    listing = s3.list_object_versions(Bucket=history)
    assert {v["ETag"] for v in listing["Versions"] if v["Key"] == "dir/x"} == {'"9dd4e461268c8034f5c8564e155c67a6"'}


def test_paging_one_entry_at_a_time_reproduces_the_listing(s3, cluster, history):
    full, _ = raw_entries(cluster, history)
    paged: list[tuple] = []
    kwargs: dict = {}
    while True:
        page = s3.list_object_versions(Bucket=history, MaxKeys=1, **kwargs)
        got = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(got) == 1
        e = got[0]
        paged.append(("DeleteMarker" if "ETag" not in e else "Version", e["Key"], e["VersionId"],
                      "true" if e["IsLatest"] else "false"))
        if not page["IsTruncated"]:
            break
        assert page["NextKeyMarker"] == e["Key"] and page["NextVersionIdMarker"] == e["VersionId"]
        kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert paged == full


def test_paginator_with_prefix_and_delimiter(s3, history):
    pages = list(s3.get_paginator("list_object_versions").paginate(
        Bucket=history, Delimiter="/", PaginationConfig={"PageSize": 2}))
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    keys = [v["Key"] for page in pages for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    assert prefixes == ["a/", "dir/"]
    assert sorted(set(keys)) == ["a", "ab", "sp ace+%"] and "dir/x" not in keys
    under = s3.list_object_versions(Bucket=history, Prefix="dir/")
    assert [v["Key"] for v in under["Versions"]] == ["dir/x", "dir/y"] and under["Prefix"] == "dir/"


def test_key_marker_without_version_marker_skips_the_key(s3, history):
    page = s3.list_object_versions(Bucket=history, KeyMarker="ab")
    assert page["KeyMarker"] == "ab"
    assert [v["Key"] for v in page["Versions"]][0] == "dir/x"


def test_version_id_marker_null_resumes_after_the_null_version(s3, history):
    page = s3.list_object_versions(Bucket=history, KeyMarker="ab", VersionIdMarker="null")
    assert page["VersionIdMarker"] == "null"
    assert [v["Key"] for v in page["Versions"]][0] == "dir/x"


def test_encoding_type_url(cluster, history):
    entries, root = raw_entries(cluster, history, "encoding-type=url&prefix=sp%20&key-marker=a")
    assert {k for _, k, _, _ in entries} == {"sp%20ace%2B%25"}
    assert root.findtext(f"{S3_NS}EncodingType") == "url" and root.findtext(f"{S3_NS}Prefix") == "sp%20"


def test_max_keys_zero_and_truncation_markers(cluster, history):
    entries, root = raw_entries(cluster, history, "max-keys=0")
    assert entries == [] and root.findtext(f"{S3_NS}IsTruncated") == "false"
    entries, root = raw_entries(cluster, history, "max-keys=2")
    assert root.findtext(f"{S3_NS}IsTruncated") == "true"
    assert root.findtext(f"{S3_NS}NextKeyMarker") == "a"
    assert root.findtext(f"{S3_NS}NextVersionIdMarker") == entries[-1][2]


@pytest.mark.parametrize("query, message", [
    ("version-id-marker=" + MISSING_VID, "A version-id marker cannot be specified without a key marker."),
    ("key-marker=a&version-id-marker=", "A version-id marker cannot be empty."),
    ("key-marker=a&version-id-marker=nonexistent-version-id", "Invalid version id specified"),
    ("max-keys=-1", None),
    ("encoding-type=xml", None),
])
def test_bad_listing_parameters(cluster, bucket, query, message):
    resp = signed(cluster, "GET", f"/{bucket}", query="versions&" + query)
    assert resp.status_code == 400 and b"<Code>InvalidArgument</Code>" in resp.content
    if message:
        assert f"<Message>{message}</Message>".encode() in resp.content
        assert b"<ArgumentName>version-id-marker</ArgumentName>" in resp.content


def test_aws_cli_list_object_versions(s3, cluster, history, tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    aws = str(Path(sys.executable).with_name("aws"))
    out = subprocess.run([aws, "s3api", "list-object-versions", "--bucket", history, "--endpoint-url",
                          cluster.endpoint, "--page-size", "1", "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    cli = json.loads(out.stdout)
    listing = s3.list_object_versions(Bucket=history)
    for kind in ("Versions", "DeleteMarkers"):
        assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in cli[kind]] == \
               [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listing[kind]]
