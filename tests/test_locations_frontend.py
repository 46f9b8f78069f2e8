"""Buckets and objects placed in data locations, end to end through the S3 API (boto3).

Every location is a real endpoint started here (tests/location_cluster.py): the cluster's data
daemon, its memory, a second data daemon, a moto server and a second Coffer (bucketMatch true and
false on each). What a test puts is checked where it landed, by asking the location itself.
"""
from __future__ import annotations

import hashlib
import itertools
import os

import pytest
from botocore.exceptions import ClientError

from tests.expect import s3_error, s3_error_message
from tests.location_cluster import HEALTHY, eventually, lc, s3  # noqa: F401 (lc, s3: fixtures)

MIB = 2**20
_names = itertools.count()


def new_bucket(s3, location: str | None = None, versioned: bool = False) -> str:
    name = f"loc-{os.getpid()}-{next(_names)}"
    if location in (None, "us-east-1"):
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": location})
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def landed(lc, before: dict[str, set[str]]) -> dict[str, int]:
    """How many keys each location gained since `before` (only those that changed)."""
    now = lc.stored_in(list(before))
    return {name: len(now[name] - before[name]) for name in before if now[name] - before[name]}


def snapshot(lc) -> dict[str, set[str]]:
    return lc.stored_in(HEALTHY)


def empty_bucket(s3, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=bucket)


# -- buckets -----------------------------------------------------------------------------------

@pytest.mark.parametrize("location", [n for n in HEALTHY if n != "us-east-1"])
def test_a_bucket_is_created_in_the_location_it_names(lc, s3, location):
    bucket = new_bucket(s3, location)
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == location
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == location
    s3.delete_bucket(Bucket=bucket)


def test_a_bucket_without_constraint_is_in_us_east_1(s3):
    bucket = new_bucket(s3)
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None      # AWS's empty answer
    s3.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("constraint, message", [
    ("eu-west-1", "'eu-west-1' is not a configured location"),
    ("us-east-1", "'us-east-1' is the default"),              # legacyAwsBehavior: as AWS refuses it
])
def test_a_location_constraint_must_name_a_configured_location(s3, constraint, message):
    name = f"loc-bad-{os.getpid()}-{next(_names)}"
    config = {"LocationConstraint": constraint}
    assert s3_error(s3.create_bucket, Bucket=name, CreateBucketConfiguration=config) == \
        (400, "InvalidLocationConstraint")
    assert message in s3_error_message(s3.create_bucket, Bucket=name, CreateBucketConfiguration=config)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# -- objects in each location ------------------------------------------------------------------

@pytest.mark.parametrize("location", HEALTHY)
def test_put_get_head_range_delete_in_each_location(lc, s3, location):
    bucket = new_bucket(s3, location)
    before = snapshot(lc)
    bodies = {"empty": b"", "one": b"x", "big": os.urandom(5 * MIB + 1)}
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    # Each non-empty body is one piece, in the bucket's location only (an empty object has no data).
    assert landed(lc, before) == {location: 2}
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)
    big = bodies["big"]
    for first, last in ((0, 0), (1, 5 * MIB), (5 * MIB, 5 * MIB)):
        got = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={first}-{last}")
        assert got["Body"].read() == big[first:last + 1] and got["ContentLength"] == last - first + 1
    assert s3.get_object(Bucket=bucket, Key="big", Range="bytes=-3")["Body"].read() == big[-3:]
    for key in bodies:
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
    assert eventually(lambda: not landed(lc, before)), landed(lc, before)   # the deletes reached the location


@pytest.mark.parametrize("location", HEALTHY)
def test_multipart_upload_with_5_mib_parts_in_each_location(lc, s3, location):
    bucket = new_bucket(s3, location)
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1000)]
    before = snapshot(lc)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=n,
                                                     Body=body)["ETag"]}
            for n, body in enumerate(parts, 1)]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": done})
    assert landed(lc, before) == {location: 3}
    whole = b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == whole
    got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MIB - 2}-{5 * MIB + 1}")["Body"].read()
    assert got == whole[5 * MIB - 2:5 * MIB + 2]             # a range across two parts
    assert s3.get_object(Bucket=bucket, Key="mp", PartNumber=3)["Body"].read() == parts[2]
    s3.delete_object(Bucket=bucket, Key="mp")
    s3.delete_bucket(Bucket=bucket)
    assert eventually(lambda: not landed(lc, before)), landed(lc, before)


def test_an_upload_keeps_the_location_chosen_at_initiation(lc, s3):
    """The per-object header is given only to CreateMultipartUpload: every part still goes there."""
    bucket = new_bucket(s3, "mem")
    before = snapshot(lc)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"scal-location-constraint": "moto-prefix"},
                                     StorageClass="STANDARD_IA")["UploadId"]
    source = new_bucket(s3, "disk2")
    s3.put_object(Bucket=source, Key="src", Body=b"s" * (5 * MIB))
    first = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"a" * (5 * MIB))["ETag"]
    second = s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2,
                                 CopySource={"Bucket": source, "Key": "src"})["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first}, {"PartNumber": 2, "ETag": second}]})
    # The header wins over the class's location (coffer-prefix) and the bucket's (mem); the copy source is in disk2.
    assert landed(lc, before) == {"moto-prefix": 2, "disk2": 1}
    head = s3.head_object(Bucket=bucket, Key="mp")
    assert head["StorageClass"] == "STANDARD_IA" and head["Metadata"] == {"scal-location-constraint": "moto-prefix"}
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"a" * (5 * MIB) + b"s" * (5 * MIB)
    assert s3.list_objects_v2(Bucket=bucket)["Contents"][0]["StorageClass"] == "STANDARD_IA"
    for b in (bucket, source):
        empty_bucket(s3, b)


def test_a_part_for_an_upload_that_is_gone_stores_nothing(lc, s3):
    bucket = new_bucket(s3, "moto-match")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid)
    before = snapshot(lc)
    assert s3_error(s3.upload_part, Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"x") == \
        (404, "NoSuchUpload")
    assert landed(lc, before) == {}
    s3.delete_bucket(Bucket=bucket)


# -- the per-object header and storage classes ------------------------------------------------

def test_the_per_object_header_overrides_the_bucket_and_a_listing_spans_locations(lc, s3):
    bucket = new_bucket(s3, "coffer-match")
    before = snapshot(lc)
    placed = {"a-default": None, "b-moto": "moto-match", "c-disk2": "disk2", "d-mem": "mem"}
    for key, where in placed.items():
        meta = {"scal-location-constraint": where} if where else {}
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode(), Metadata=meta)
    assert landed(lc, before) == {"coffer-match": 1, "moto-match": 1, "disk2": 1, "mem": 1}
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == list(placed) and all(o["StorageClass"] == "STANDARD" for o in listed)
    for key in placed:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in placed]})
    assert eventually(lambda: not landed(lc, before)), landed(lc, before)
    s3.delete_bucket(Bucket=bucket)


def test_a_per_object_header_naming_no_location_is_refused_before_any_byte(lc, s3):
    bucket = new_bucket(s3)
    before = snapshot(lc)
    put = {"Bucket": bucket, "Key": "k", "Body": b"x", "Metadata": {"scal-location-constraint": "atlantis"}}
    assert s3_error(s3.put_object, **put) == (400, "InvalidArgument")
    assert "'atlantis' is not a configured location" in s3_error_message(s3.put_object, **put)
    assert s3_error(s3.create_multipart_upload, Bucket=bucket, Key="k",
                    Metadata={"scal-location-constraint": "atlantis"}) == (400, "InvalidArgument")
    assert landed(lc, before) == {} and "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("storage_class, location", [("STANDARD_IA", "coffer-prefix"), ("REDUCED_REDUNDANCY", "disk2"),
                                                     ("GLACIER", "mem"), ("STANDARD", "mem")])
def test_a_storage_class_picks_the_location_serving_it_and_is_reported(lc, s3, storage_class, location):
    """A class no location serves (GLACIER here) stays in the bucket's location, as S3 reports it."""
    bucket = new_bucket(s3, "mem", versioned=True)
    before = snapshot(lc)
    s3.put_object(Bucket=bucket, Key="k", Body=b"classy", StorageClass=storage_class)
    assert landed(lc, before) == {location: 1}
    head = s3.head_object(Bucket=bucket, Key="k")
    # S3 leaves x-amz-storage-class out for STANDARD; boto3 then shows no StorageClass.
    assert head.get("StorageClass", "STANDARD") == storage_class
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"classy"
    assert s3.list_objects_v2(Bucket=bucket)["Contents"][0]["StorageClass"] == storage_class
    assert s3.list_objects(Bucket=bucket)["Contents"][0]["StorageClass"] == storage_class
    assert s3.list_object_versions(Bucket=bucket)["Versions"][0]["StorageClass"] == storage_class
    empty_bucket(s3, bucket)


def test_an_unknown_storage_class_is_invalid_storage_class(lc, s3):
    bucket = new_bucket(s3)
    before = snapshot(lc)
    assert s3_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", StorageClass="FROZEN") == \
        (400, "InvalidStorageClass")
    assert s3_error(s3.create_multipart_upload, Bucket=bucket, Key="k", StorageClass="FROZEN") == \
        (400, "InvalidStorageClass")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    before = snapshot(lc)
    assert s3_error(s3.copy_object, Bucket=bucket, Key="k2", CopySource={"Bucket": bucket, "Key": "k"},
                    StorageClass="FROZEN") == (400, "InvalidStorageClass")
    assert landed(lc, before) == {} and [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    empty_bucket(s3, bucket)


# -- copies and versions -----------------------------------------------------------------------

@pytest.mark.parametrize("source_loc, dest_loc", [("moto-prefix", "disk2"), ("disk2", "coffer-match"),
                                                  ("coffer-prefix", "coffer-prefix"), ("mem", "moto-match"),
                                                  ("us-east-1", "coffer-prefix")])
def test_copy_within_and_across_locations(lc, s3, source_loc, dest_loc):
    source, dest = new_bucket(s3, source_loc), new_bucket(s3, dest_loc)
    body = os.urandom(MIB + 7)
    s3.put_object(Bucket=source, Key="src", Body=body)
    before = snapshot(lc)
    copied = s3.copy_object(Bucket=dest, Key="dst", CopySource={"Bucket": source, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    assert landed(lc, before) == {dest_loc: 1}
    s3.delete_object(Bucket=source, Key="src")           # the copy has bytes of its own
    assert s3.get_object(Bucket=dest, Key="dst")["Body"].read() == body
    # A copy may name its own location, like a PUT.
    s3.copy_object(Bucket=dest, Key="again", CopySource={"Bucket": dest, "Key": "dst"},
                   Metadata={"scal-location-constraint": "mem"}, MetadataDirective="REPLACE")
    assert s3.get_object(Bucket=dest, Key="again")["Body"].read() == body
    assert landed(lc, before).get("mem", 0) == 1 + (dest_loc == "mem")
    for b in (source, dest):
        empty_bucket(s3, b)


@pytest.mark.parametrize("location", ["coffer-prefix", "moto-match", "disk2"])
def test_versions_each_keep_their_bytes_and_deleting_one_deletes_only_its_data(lc, s3, location):
    bucket = new_bucket(s3, location, versioned=True)
    before = snapshot(lc)
    ids = [s3.put_object(Bucket=bucket, Key="k", Body=f"version {i}".encode())["VersionId"] for i in range(3)]
    assert landed(lc, before) == {location: 3}
    for i, vid in enumerate(ids):
        assert s3.get_object(Bucket=bucket, Key="k", VersionId=vid)["Body"].read() == f"version {i}".encode()
    s3.delete_object(Bucket=bucket, Key="k")               # a delete marker: every version's bytes stay
    assert landed(lc, before) == {location: 3}
    s3.delete_object(Bucket=bucket, Key="k", VersionId=ids[1])
    assert eventually(lambda: landed(lc, before) == {location: 2}), landed(lc, before)
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=ids[2])["Body"].read() == b"version 2"
    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions["Versions"]] == [ids[2], ids[0]]
    assert all(v["StorageClass"] == "STANDARD" for v in versions["Versions"])
    empty_bucket(s3, bucket)
    assert eventually(lambda: not landed(lc, before)), landed(lc, before)


def test_client_errors_from_remote_locations_are_s3_errors(lc, s3):
    bucket = new_bucket(s3, "moto-match")
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k", Range="bytes=20-30")
    assert err.value.response["Error"]["Code"] == "InvalidRange"
    empty_bucket(s3, bucket)
