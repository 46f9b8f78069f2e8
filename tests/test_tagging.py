"""Object and bucket tagging through boto3: each call, the x-amz-tagging header on PUT, copy and
multipart, x-amz-tagging-count, versions keeping their own tags, and AWS's refusals."""
from __future__ import annotations

import pytest

from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error


def tagset(d: dict[str, str]) -> dict:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in d.items()]}


def tags_of(s3, bucket: str, key: str, **kw) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key, **kw)["TagSet"]}


def test_object_tags_put_get_delete(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert tags_of(s3, bucket, "k") == {}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tagset({"colour": "blue", "size": "ü 1"}))
    assert tags_of(s3, bucket, "k") == {"colour": "blue", "size": "ü 1"}
    assert s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert tags_of(s3, bucket, "k") == {}
    assert "x-amz-tagging-count" not in s3.get_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]


def test_tags_on_put_copy_and_multipart(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1&b=two%20words")
    assert tags_of(s3, bucket, "src") == {"a": "1", "b": "two words"}
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "src"})
    assert tags_of(s3, bucket, "copied") == {"a": "1", "b": "two words"}
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "src"},
                   TaggingDirective="REPLACE", Tagging="c=3")
    assert tags_of(s3, bucket, "replaced") == {"c": "3"}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu", Tagging="m=u")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert tags_of(s3, bucket, "mpu") == {"m": "u"}


def test_each_version_keeps_its_tags(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="v=1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2", Tagging="v=2")["VersionId"]
    s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v1, Tagging=tagset({"v": "one"}))
    assert tags_of(s3, bucket, "k", VersionId=v1) == {"v": "one"}
    assert tags_of(s3, bucket, "k", VersionId=v2) == {"v": "2"}
    assert tags_of(s3, bucket, "k") == {"v": "2"}
    resp = s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert resp["VersionId"] == v1


@pytest.mark.parametrize("tags, code", [
    ({f"k{i}": "v" for i in range(11)}, "BadRequest"),
    ({"k" * 129: "v"}, "InvalidTag"),
    ({"k": "v" * 257}, "InvalidTag"),
    ({"aws:reserved": "v"}, "InvalidTag"),
])
def test_tags_aws_refuses(s3, bucket, tags, code):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3_error(s3.put_object_tagging, Bucket=bucket, Key="k", Tagging=tagset(tags)) == (400, code)
    assert tags_of(s3, bucket, "k") == {}


def test_a_bad_tagging_header_stores_nothing(s3, bucket):
    assert s3_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", Tagging="aws:x=1")[0] == 400
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_tagging_a_missing_key_and_a_strangers_attempt(cluster, s3, bucket):
    assert s3_error(s3.get_object_tagging, Bucket=bucket, Key="nope") == (404, "NoSuchKey")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    lisa = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    assert s3_error(lisa.put_object_tagging, Bucket=bucket, Key="k", Tagging=tagset({"a": "b"})) == \
        (403, "AccessDenied")
    assert tags_of(s3, bucket, "k") == {}


def test_bucket_tags(s3, bucket):
    assert s3_error(s3.get_bucket_tagging, Bucket=bucket) == (404, "NoSuchTagSet")
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tagset({"team": "storage", "cost": "42"}))
    got = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert got == {"team": "storage", "cost": "42"}
    assert s3_error(s3.put_bucket_tagging, Bucket=bucket,
                    Tagging=tagset({f"k{i}": "v" for i in range(51)})) == (400, "BadRequest")
    s3.delete_bucket_tagging(Bucket=bucket)
    assert s3_error(s3.get_bucket_tagging, Bucket=bucket) == (404, "NoSuchTagSet")
