"""DeleteObjects: boto3 for the normal cases, signed raw HTTP for headers and malformed bodies."""
from __future__ import annotations

import base64
import hashlib
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import pytest

from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error, xml_error
from tests.signing import send_v4

NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}


def delete_body(keys: list[str], quiet: bool = False) -> bytes:
    objects = "".join(f"<Object><Key>{escape(k)}</Key></Object>" for k in keys)
    return f"<Delete><Quiet>{str(quiet).lower()}</Quiet>{objects}</Delete>".encode()


def post_delete(s3, bucket: str, body: bytes, md5: bool = True, headers: dict | None = None):
    extra = dict(headers or {})
    if md5:
        extra["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
    return send_v4("POST", f"{s3.meta.endpoint_url}/{bucket}?delete", body, extra)


def test_delete_objects(s3, bucket):
    keys = ["a", "b/c", "with space", "plus+", "caf\u00e9", "  padded  "]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys + ["never-there"]]})
    assert sorted(d["Key"] for d in result["Deleted"]) == sorted(keys + ["never-there"])
    assert "Errors" not in result
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_quiet_mode_lists_only_errors(s3, bucket):
    s3.put_object(Bucket=bucket, Key="q", Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}, {"Key": "bad", "VersionId": "junk"}],
                                                      "Quiet": True})
    assert "Deleted" not in result
    assert result["Errors"] == [{"Key": "bad", "VersionId": "junk", "Code": "NoSuchVersion",
                                 "Message": "The specified version does not exist."}]
    assert s3_error(s3.head_object, Bucket=bucket, Key="q") == (404, "404")


def test_versions_and_delete_markers(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]
    marked = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})["Deleted"][0]
    assert marked["DeleteMarker"] is True and marked["DeleteMarkerVersionId"] not in (v1, v2)
    assert "VersionId" not in marked
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "k", "VersionId": v1}, {"Key": "k", "VersionId": marked["DeleteMarkerVersionId"]}]})
    by_version = {d["VersionId"]: d for d in result["Deleted"]}
    assert "DeleteMarker" not in by_version[v1]
    dm = by_version[marked["DeleteMarkerVersionId"]]
    assert dm["DeleteMarker"] is True and dm["DeleteMarkerVersionId"] == marked["DeleteMarkerVersionId"]
    # Removing the marker brought v2 back; v1 is gone.
    assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == v2
    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions.get("Versions", [])] == [v2] and not versions.get("DeleteMarkers")


def test_suspended_bucket_marker_is_null(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="s", Body=b"x")
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "s"}]})["Deleted"][0]
    assert deleted["DeleteMarker"] is True and deleted["DeleteMarkerVersionId"] == "null"


def test_invalid_version_id_is_a_per_key_error(s3, bucket):
    s3.put_object(Bucket=bucket, Key="fine", Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "fine"},
                                                                  {"Key": "fine", "VersionId": "zzz"}]})
    assert [d["Key"] for d in result["Deleted"]] == ["fine"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("fine", "NoSuchVersion")]


def test_a_thousand_keys(s3, bucket):
    keys = [f"k{i:04d}" for i in range(1000)]
    resp = post_delete(s3, bucket, delete_body(keys))
    assert resp.status_code == 200, resp.text
    root = ElementTree.fromstring(resp.content)
    assert root.tag == "{%s}DeleteResult" % NS["s3"]
    assert len(root.findall("s3:Deleted", NS)) == 1000


def test_more_than_a_thousand_keys_is_malformed_xml(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k0000", Body=b"x")
    resp = post_delete(s3, bucket, delete_body([f"k{i:04d}" for i in range(1001)]))
    assert xml_error(resp) == (400, "MalformedXML")
    assert s3.head_object(Bucket=bucket, Key="k0000")["ContentLength"] == 1


def test_content_md5_or_checksum_is_required(s3, bucket):
    body = delete_body(["x"])
    resp = post_delete(s3, bucket, body, md5=False)
    assert xml_error(resp) == (400, "InvalidRequest")
    assert ElementTree.fromstring(resp.content).findtext("Message") == \
        "Missing required header for this request: Content-MD5"
    crc = {"x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(body).digest()).decode()}
    assert post_delete(s3, bucket, body, md5=False, headers=crc).status_code == 200


def test_wrong_content_md5_is_bad_digest(s3, bucket):
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    resp = post_delete(s3, bucket, delete_body(["kept"]), md5=False, headers={"Content-MD5": wrong})
    assert xml_error(resp) == (400, "BadDigest")
    assert s3.head_object(Bucket=bucket, Key="kept")["ContentLength"] == 1


@pytest.mark.parametrize("body", [
    b"", b"not xml", b"<Delete>", b"<Other><Object><Key>a</Key></Object></Other>", b"<Delete></Delete>",
    b"<Delete><Object></Object></Delete>", b"<Delete><Object><Key></Key></Object></Delete>",
    b"<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>",
    b'<!DOCTYPE d [<!ENTITY e "x">]><Delete><Object><Key>&e;</Key></Object></Delete>',
])
def test_malformed_bodies(s3, bucket, body):
    assert xml_error(post_delete(s3, bucket, body)) == (400, "MalformedXML")


def test_too_long_key_is_a_per_key_error(s3, bucket):
    resp = post_delete(s3, bucket, delete_body(["k" * 1025, "ok"]))
    root = ElementTree.fromstring(resp.content)
    assert [e.findtext("s3:Code", namespaces=NS) for e in root.findall("s3:Error", NS)] == ["KeyTooLongError"]
    assert [d.findtext("s3:Key", namespaces=NS) for d in root.findall("s3:Deleted", NS)] == ["ok"]


def test_other_account_is_denied(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="mine", Body=b"x")
    lisa = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    assert s3_error(lisa.delete_objects, Bucket=bucket, Delete={"Objects": [{"Key": "mine"}]}) == \
        (403, "AccessDenied")
    assert s3.head_object(Bucket=bucket, Key="mine")["ContentLength"] == 1


def test_missing_bucket(s3):
    assert s3_error(s3.delete_objects, Bucket="no-such-bucket-for-delete",
                    Delete={"Objects": [{"Key": "a"}]}) == (404, "NoSuchBucket")
