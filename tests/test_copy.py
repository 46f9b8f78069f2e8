"""CopyObject with boto3 and raw HTTP: directives, self-copies, versions, source conditions, access, new data."""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import quote
from xml.etree import ElementTree

import pytest

from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error, s3_error_message, xml_error
from tests.signing import send_v4

SELF_COPY = ("This copy request is illegal because it is trying to copy an object to itself without changing "
             "the object's metadata, storage class, website redirect location or encryption attributes.")


@pytest.fixture
def source(s3, bucket):
    data = os.urandom(3 * 2**20 + 17)
    s3.put_object(Bucket=bucket, Key="src", Body=data, ContentType="text/plain", ContentLanguage="fr",
                  CacheControl="max-age=60", ContentDisposition="inline", Metadata={"color": "blue"})
    return data


def test_copy_keeps_bytes_and_metadata(s3, bucket, source):
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    etag = f'"{hashlib.md5(source).hexdigest()}"'
    assert result["CopyObjectResult"]["ETag"] == etag
    assert isinstance(result["CopyObjectResult"]["LastModified"], datetime)
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == source and got["ETag"] == etag
    assert got["ContentType"] == "text/plain" and got["ContentLanguage"] == "fr"
    assert got["CacheControl"] == "max-age=60" and got["ContentDisposition"] == "inline"
    assert got["Metadata"] == {"color": "blue"}


def test_copy_with_replace_takes_the_request_metadata(s3, bucket, source):
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   ContentType="application/json", Metadata={"shape": "round"})
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "application/json" and head["Metadata"] == {"shape": "round"}
    assert "ContentLanguage" not in head and "CacheControl" not in head


def test_copy_directive_copy_ignores_request_metadata(s3, bucket, source):
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", ContentType="image/png",
                   Metadata={"ignored": "yes"})
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"color": "blue"}


def test_unknown_metadata_directive_is_invalid_argument(s3, bucket, source):
    url = f"{s3.meta.endpoint_url}/{bucket}/dst"
    resp = send_v4("PUT", url, headers={"x-amz-copy-source": f"/{bucket}/src", "x-amz-metadata-directive": "MOVE"})
    assert xml_error(resp) == (400, "InvalidArgument")


def test_copy_onto_itself_needs_replace(s3, bucket, source):
    assert s3_error(s3.copy_object, Bucket=bucket, Key="src", CopySource=f"{bucket}/src") == \
        (400, "InvalidRequest")
    assert s3_error_message(s3.copy_object, Bucket=bucket, Key="src", CopySource=f"{bucket}/src") == SELF_COPY
    s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"color": "red"})
    got = s3.get_object(Bucket=bucket, Key="src")
    assert got["Metadata"] == {"color": "red"} and got["Body"].read() == source


def test_copy_onto_itself_changing_storage_class_is_allowed(s3, bucket, source):
    s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src", StorageClass="STANDARD_IA")
    head = s3.head_object(Bucket=bucket, Key="src")
    assert head["StorageClass"] == "STANDARD_IA" and head["Metadata"] == {"color": "blue"}


@pytest.mark.parametrize("key", ["with space", "plus+sign", "100%", "question?mark#hash", "caf\u00e9/\u6587\u4ef6",
                                 "emoji \U0001F600", "a/b//c"])
def test_copy_source_keys_are_url_decoded(s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=key, Body=b"payload " + key.encode())
    s3.copy_object(Bucket=bucket, Key=f"copy/{key}", CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key=f"copy/{key}")["Body"].read() == b"payload " + key.encode()


def test_raw_copy_source_with_leading_slash_and_result_xml(s3, bucket, source):
    url = f"{s3.meta.endpoint_url}/{bucket}/raw-dst"
    resp = send_v4("PUT", url, headers={"x-amz-copy-source": quote(f"/{bucket}/src")})
    assert resp.status_code == 200, resp.text
    root = ElementTree.fromstring(resp.content)
    assert root.tag.endswith("CopyObjectResult")
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    assert root.findtext("s3:ETag", namespaces=ns) == f'"{hashlib.md5(source).hexdigest()}"'
    assert root.findtext("s3:LastModified", namespaces=ns).endswith("Z")
    assert "x-amz-copy-source-version-id" not in resp.headers     # the source bucket is not versioned


@pytest.mark.parametrize("value", ["just-a-bucket", "/", f"{'x' * 3}/"])
def test_malformed_copy_source_is_invalid_argument(s3, bucket, value):
    url = f"{s3.meta.endpoint_url}/{bucket}/dst"
    assert xml_error(send_v4("PUT", url, headers={"x-amz-copy-source": value})) == (400, "InvalidArgument")


def test_missing_source_key_and_bucket(s3, bucket):
    assert s3_error(s3.copy_object, Bucket=bucket, Key="d", CopySource=f"{bucket}/nothing") == (404, "NoSuchKey")
    assert s3_error(s3.copy_object, Bucket=bucket, Key="d", CopySource="no-such-bucket-xyz/k") == \
        (404, "NoSuchBucket")


def test_source_of_another_account_is_access_denied(cluster, s3, bucket):
    lisa = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    theirs = f"{bucket}-lisa"
    lisa.create_bucket(Bucket=theirs)
    try:
        lisa.put_object(Bucket=theirs, Key="secret", Body=b"not yours")
        assert s3_error(s3.copy_object, Bucket=bucket, Key="stolen", CopySource=f"{theirs}/secret") == \
            (403, "AccessDenied")
        assert s3_error(s3.get_object, Bucket=bucket, Key="stolen") == (404, "NoSuchKey")
    finally:
        lisa.delete_object(Bucket=theirs, Key="secret")
        lisa.delete_bucket(Bucket=theirs)


def test_copy_has_its_own_data(s3, bucket, source):
    """Deleting or overwriting the source never touches the copy's bytes (no shared data keys)."""
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src")
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/dst")
    s3.put_object(Bucket=bucket, Key="src", Body=b"overwritten")
    s3.delete_object(Bucket=bucket, Key="dst")
    assert s3.get_object(Bucket=bucket, Key="dst2")["Body"].read() == source


def test_copy_of_an_empty_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    result = s3.copy_object(Bucket=bucket, Key="empty-copy", CopySource=f"{bucket}/empty")
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"").hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="empty-copy")["Body"].read() == b""


def test_copy_keeps_a_checksum(s3, bucket):
    s3.put_object(Bucket=bucket, Key="summed", Body=b"checksum me", ChecksumAlgorithm="SHA256")
    result = s3.copy_object(Bucket=bucket, Key="summed-copy", CopySource=f"{bucket}/summed")
    expected = s3.head_object(Bucket=bucket, Key="summed", ChecksumMode="ENABLED")["ChecksumSHA256"]
    assert result["CopyObjectResult"]["ChecksumSHA256"] == expected
    assert s3.head_object(Bucket=bucket, Key="summed-copy", ChecksumMode="ENABLED")["ChecksumSHA256"] == expected


def test_copy_versions(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="doc", Body=b"two")
    result = s3.copy_object(Bucket=bucket, Key="doc", CopySource={"Bucket": bucket, "Key": "doc", "VersionId": v1})
    assert result["CopySourceVersionId"] == v1
    assert result["VersionId"] not in (None, "null", v1)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"
    latest = s3.copy_object(Bucket=bucket, Key="other", CopySource=f"{bucket}/doc")
    assert latest["CopySourceVersionId"] == result["VersionId"]


def test_copy_of_a_delete_marker(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    marker = s3.delete_object(Bucket=bucket, Key="gone")["VersionId"]
    assert s3_error(s3.copy_object, Bucket=bucket, Key="d", CopySource=f"{bucket}/gone") == (404, "NoSuchKey")
    assert s3_error(s3.copy_object, Bucket=bucket, Key="d",
                    CopySource={"Bucket": bucket, "Key": "gone", "VersionId": marker}) == (400, "InvalidRequest")


def test_invalid_source_version_id(s3, bucket, source):
    assert s3_error(s3.copy_object, Bucket=bucket, Key="d",
                    CopySource={"Bucket": bucket, "Key": "src", "VersionId": "not-a-version"}) == \
        (400, "InvalidArgument")


def test_copy_source_conditions(s3, bucket, source):
    etag = s3.head_object(Bucket=bucket, Key="src")["ETag"]
    src = f"{bucket}/src"
    past, future = datetime.now(timezone.utc) - timedelta(days=1), datetime.now(timezone.utc) + timedelta(days=1)
    s3.copy_object(Bucket=bucket, Key="d1", CopySource=src, CopySourceIfMatch=etag)
    s3.copy_object(Bucket=bucket, Key="d2", CopySource=src, CopySourceIfNoneMatch='"0123"')
    s3.copy_object(Bucket=bucket, Key="d3", CopySource=src, CopySourceIfModifiedSince=past)
    s3.copy_object(Bucket=bucket, Key="d4", CopySource=src, CopySourceIfUnmodifiedSince=future)
    failing = [{"CopySourceIfMatch": '"0123"'}, {"CopySourceIfNoneMatch": etag},
               {"CopySourceIfModifiedSince": future}, {"CopySourceIfUnmodifiedSince": past}]
    for condition in failing:
        assert s3_error(s3.copy_object, Bucket=bucket, Key="nope", CopySource=src, **condition) == \
            (412, "PreconditionFailed"), condition
    assert s3_error(s3.get_object, Bucket=bucket, Key="nope") == (404, "NoSuchKey")
    # AWS: if-match true and if-unmodified-since false together still copy.
    s3.copy_object(Bucket=bucket, Key="d5", CopySource=src, CopySourceIfMatch=etag, CopySourceIfUnmodifiedSince=past)


def test_conditional_copy_destination(s3, bucket, source):
    s3.copy_object(Bucket=bucket, Key="once", CopySource=f"{bucket}/src", IfNoneMatch="*")
    assert s3_error(s3.copy_object, Bucket=bucket, Key="once", CopySource=f"{bucket}/src", IfNoneMatch="*") == \
        (412, "PreconditionFailed")


def test_copy_to_another_bucket(s3, bucket, source):
    other = f"{bucket}-other"
    s3.create_bucket(Bucket=other)
    try:
        s3.copy_object(Bucket=other, Key="moved", CopySource=f"{bucket}/src")
        assert s3.get_object(Bucket=other, Key="moved")["Body"].read() == source
    finally:
        s3.delete_object(Bucket=other, Key="moved")
        s3.delete_bucket(Bucket=other)
