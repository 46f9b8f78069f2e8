"""The scripted sequence every target type is tested with, and the records it must produce.

Rules: everything under `docs/` (created, removed, tagging) to one rule; `*.log` PUTs to another.
The sequence: PUT, a PUT the filters leave out, copy, multipart, overwrite, tagging put and
delete, delete, then in a versioned bucket a delete marker and its removal, and a `.log` PUT.
"""
from __future__ import annotations

from tests.notify_servers import put_rules, queue_rule

DOCS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectTagging:*"]


def configure(s3, bucket: str, arn: str) -> None:
    put_rules(s3, bucket, queue_rule(arn, DOCS, "docs", prefix="docs/"),
              queue_rule(arn, ["s3:ObjectCreated:Put"], "logs", suffix=".log"))


def run_script(s3, bucket: str) -> tuple[list[tuple[str, str, str]], str]:
    """Run the sequence: (eventName, encoded key, configurationId) of each event it must make, and the marker id."""
    s3.put_object(Bucket=bucket, Key="docs/a b.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="other/b.txt", Body=b"left out")
    s3.copy_object(Bucket=bucket, Key="docs/c.txt", CopySource={"Bucket": bucket, "Key": "docs/a b.txt"})
    up = s3.create_multipart_upload(Bucket=bucket, Key="docs/m.bin")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="docs/m.bin", UploadId=up, PartNumber=1, Body=b"m" * 100)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="docs/m.bin", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    s3.put_object(Bucket=bucket, Key="docs/a b.txt", Body=b"hello again")
    s3.put_object_tagging(Bucket=bucket, Key="docs/a b.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    s3.delete_object_tagging(Bucket=bucket, Key="docs/a b.txt")
    s3.delete_object(Bucket=bucket, Key="docs/c.txt")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    marker = s3.delete_object(Bucket=bucket, Key="docs/m.bin")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="docs/m.bin", VersionId=marker)
    s3.put_object(Bucket=bucket, Key="app.log", Body=b"log line")
    return [("ObjectCreated:Put", "docs/a+b.txt", "docs"), ("ObjectCreated:Copy", "docs/c.txt", "docs"),
            ("ObjectCreated:CompleteMultipartUpload", "docs/m.bin", "docs"),
            ("ObjectCreated:Put", "docs/a+b.txt", "docs"), ("ObjectTagging:Put", "docs/a+b.txt", "docs"),
            ("ObjectTagging:Delete", "docs/a+b.txt", "docs"), ("ObjectRemoved:Delete", "docs/c.txt", "docs"),
            ("ObjectRemoved:DeleteMarkerCreated", "docs/m.bin", "docs"),
            ("ObjectRemoved:Delete", "docs/m.bin", "docs"), ("ObjectCreated:Put", "app.log", "logs")], marker


def check_records(records: list[dict], expected: list[tuple[str, str, str]], bucket: str, marker: str) -> None:
    """The records of the sequence, in order, with AWS's fields."""
    got = [(r["eventName"], r["s3"]["object"]["key"], r["s3"]["configurationId"]) for r in records]
    assert got == expected
    for r in records:
        assert r["eventVersion"] == "2.1" and r["eventSource"] == "aws:s3" and r["awsRegion"] == "us-east-1"
        assert r["s3"]["bucket"]["name"] == bucket and r["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
        assert r["userIdentity"]["principalId"] and r["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
        assert r["responseElements"]["x-amz-request-id"]
        assert r["eventTime"].endswith("Z")
    first, copy, mpu, again = records[0]["s3"]["object"], records[1]["s3"]["object"], records[2], records[3]
    assert first["size"] == 5 and first["eTag"] == "5d41402abc4b2a76b9719d911017c592"
    assert "versionId" not in first           # the bucket was not versioned yet
    assert copy["eTag"] == first["eTag"]
    assert mpu["s3"]["object"]["eTag"].endswith("-1") and mpu["s3"]["object"]["size"] == 100
    assert again["s3"]["object"]["size"] == 11
    removed = records[6]["s3"]["object"]
    assert "size" not in removed and "eTag" not in removed
    assert records[7]["s3"]["object"]["versionId"] == marker and records[8]["s3"]["object"]["versionId"] == marker
    # The sequencer orders the events of one key.
    same_key = [r["s3"]["object"]["sequencer"] for r in records if r["s3"]["object"]["key"] == "docs/a+b.txt"]
    assert same_key == sorted(same_key) and len(set(same_key)) == len(same_key)
