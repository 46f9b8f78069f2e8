"""ListObjects v1/v2, ListBuckets, GetBucketLocation and HeadBucket details, checked against AWS's rules."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest

from tests.expect import s3_error, xml_error
from tests.signing import send_v4

NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
KEYS = ["a", "b/1", "b/2", "c/x/1", "d"]


@pytest.fixture
def filled(s3, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def raw_list(s3, bucket: str, query: str):
    return send_v4("GET", f"{s3.meta.endpoint_url}/{bucket}?{query}")


def test_v1_marker_paging_without_delimiter_has_no_next_marker(s3, filled):
    page = s3.list_objects(Bucket=filled, MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["a", "b/1"] and page["IsTruncated"] is True
    assert "NextMarker" not in page and page["Marker"] == ""
    page = s3.list_objects(Bucket=filled, Marker="b/1", MaxKeys=10)
    assert [o["Key"] for o in page["Contents"]] == ["b/2", "c/x/1", "d"] and page["IsTruncated"] is False
    assert page["Marker"] == "b/1"
    assert page["Contents"][0]["Owner"]["ID"]          # v1 always shows the owner


def test_v1_next_marker_with_delimiter(s3, filled):
    page = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["a"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/"]
    assert page["IsTruncated"] is True and page["NextMarker"] == "b/"
    rest = s3.list_objects(Bucket=filled, Delimiter="/", Marker=page["NextMarker"])
    assert [o["Key"] for o in rest["Contents"]] == ["d"] and [p["Prefix"] for p in rest["CommonPrefixes"]] == ["c/"]
    assert rest["IsTruncated"] is False and "NextMarker" not in rest


def test_v2_token_is_opaque_and_round_trips(s3, filled):
    seen, token = [], None
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=filled, MaxKeys=2, **kwargs)
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [o["Key"] for o in page.get("Contents", [])]
        if token:
            assert page["ContinuationToken"] == token
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        token = page["NextContinuationToken"]
        assert token not in KEYS
    assert seen == KEYS


def test_v2_start_after_fetch_owner_and_key_count(s3, filled):
    page = s3.list_objects_v2(Bucket=filled, StartAfter="b", Delimiter="/")     # before b/, not inside it
    assert page["StartAfter"] == "b"
    assert [o["Key"] for o in page["Contents"]] == ["d"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/", "c/"]
    assert page["KeyCount"] == 3
    assert "Owner" not in page["Contents"][0]
    owned = s3.list_objects_v2(Bucket=filled, FetchOwner=True)
    assert all(o["Owner"]["ID"] for o in owned["Contents"])


def test_v2_token_wins_over_start_after(s3, filled):
    first = s3.list_objects_v2(Bucket=filled, MaxKeys=3)
    page = s3.list_objects_v2(Bucket=filled, StartAfter="a", ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in page["Contents"]] == ["c/x/1", "d"]


@pytest.mark.parametrize("token", ["garbage", "YWJj", "Yjox"])
def test_bad_continuation_token(s3, filled, token):
    resp = raw_list(s3, filled, f"list-type=2&continuation-token={token}")
    assert xml_error(resp) == (400, "InvalidArgument")


def test_max_keys_zero(s3, filled):
    for call in (s3.list_objects, s3.list_objects_v2):
        page = call(Bucket=filled, MaxKeys=0)
        assert page["MaxKeys"] == 0 and page["IsTruncated"] is False and "Contents" not in page


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "99999999999"])
def test_bad_max_keys(s3, filled, value):
    assert xml_error(raw_list(s3, filled, f"max-keys={value}")) == (400, "InvalidArgument")
    assert xml_error(raw_list(s3, filled, f"list-type=2&max-keys={value}")) == (400, "InvalidArgument")


def test_max_keys_above_1000_is_capped_but_echoed(s3, bucket):
    keys = [f"k{i:04d}" for i in range(1001)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b""), keys))
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)
    assert page["MaxKeys"] == 5000 and page["KeyCount"] == 1000 and page["IsTruncated"] is True
    v1 = s3.list_objects(Bucket=bucket, MaxKeys=1500)
    assert v1["MaxKeys"] == 1500 and len(v1["Contents"]) == 1000 and v1["IsTruncated"] is True
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[:1000]]})
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[1000:]]})


ODD_KEYS = ["sp ace/1", "plus+/2", "per%cent", "ctl\x01char", "astral\U0001F600", "amp&lt<>"]


def test_encoding_type_url(s3, bucket):
    for key in ODD_KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    # boto3 asks for url encoding itself and decodes the answer.
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted(ODD_KEYS)
    assert sorted(o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]) == sorted(ODD_KEYS)
    resp = raw_list(s3, bucket, "list-type=2&encoding-type=url&delimiter=%2F")
    root = ElementTree.fromstring(resp.content)
    assert root.findtext("s3:EncodingType", namespaces=NS) == "url"
    keys = [e.text for e in root.findall("s3:Contents/s3:Key", NS)]
    prefixes = [e.text for e in root.findall("s3:CommonPrefixes/s3:Prefix", NS)]
    assert "sp%20ace/" in prefixes and "plus%2B/" in prefixes and "per%25cent" in keys
    assert "ctl%01char" in keys and "astral%F0%9F%98%80" in keys
    assert sorted(unquote(k) for k in keys + prefixes) == sorted(["sp ace/", "plus+/", "per%cent", "ctl\x01char",
                                                                  "astral\U0001F600", "amp&lt<>"])


def test_unknown_encoding_type(s3, filled):
    assert xml_error(raw_list(s3, filled, "encoding-type=base64")) == (400, "InvalidArgument")
    assert xml_error(raw_list(s3, filled, "list-type=2&encoding-type=xml")) == (400, "InvalidArgument")


def test_invalid_list_type(s3, filled):
    assert xml_error(raw_list(s3, filled, "list-type=3")) == (400, "InvalidArgument")


def test_listing_a_missing_bucket(s3):
    assert s3_error(s3.list_objects_v2, Bucket="no-such-bucket-listing") == (404, "NoSuchBucket")


def test_list_buckets_paging_and_prefix(s3, bucket):
    names = [f"{bucket}-lb{i}" for i in range(3)]
    for name in names:
        s3.create_bucket(Bucket=name)
    try:
        everything = s3.list_buckets()
        assert set(names) <= {b["Name"] for b in everything["Buckets"]}
        assert "ContinuationToken" not in everything
        page = s3.list_buckets(Prefix=f"{bucket}-lb", MaxBuckets=2)
        assert [b["Name"] for b in page["Buckets"]] == names[:2] and page["Prefix"] == f"{bucket}-lb"
        assert all(b["BucketRegion"] == "us-east-1" for b in page["Buckets"])
        rest = s3.list_buckets(Prefix=f"{bucket}-lb", MaxBuckets=2, ContinuationToken=page["ContinuationToken"])
        assert [b["Name"] for b in rest["Buckets"]] == names[2:] and "ContinuationToken" not in rest
        assert [b["Name"] for b in s3.list_buckets(BucketRegion="us-east-1", Prefix=f"{bucket}-lb")["Buckets"]] == names
        assert s3.list_buckets(BucketRegion="eu-west-1", Prefix=f"{bucket}-lb")["Buckets"] == []
    finally:
        for name in names:
            s3.delete_bucket(Bucket=name)


@pytest.mark.parametrize("query", ["max-buckets=0", "max-buckets=10001", "max-buckets=x", "continuation-token=zz"])
def test_list_buckets_bad_arguments(s3, query):
    assert xml_error(send_v4("GET", f"{s3.meta.endpoint_url}/?{query}")) == (400, "InvalidArgument")


def test_bucket_location_and_head_bucket(s3, bucket):
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None     # us-east-1 is empty
    head = s3.head_bucket(Bucket=bucket)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3_error(s3.head_bucket, Bucket="no-such-bucket-head") == (404, "404")


@pytest.mark.parametrize("list_type", ["", "list-type=2&"])
def test_empty_delimiter_is_no_delimiter(s3, filled, list_type):
    root = ElementTree.fromstring(raw_list(s3, filled, f"{list_type}delimiter=").content)
    assert root.find("s3:Delimiter", NS) is None and root.find("s3:CommonPrefixes", NS) is None
    assert [e.text for e in root.findall("s3:Contents/s3:Key", NS)] == KEYS


def test_empty_continuation_token_lists_from_the_start(s3, filled):
    page = s3.list_objects_v2(Bucket=filled, ContinuationToken="")
    assert page["ContinuationToken"] == "" and [o["Key"] for o in page["Contents"]] == KEYS


def test_v1_prefix_is_echoed_unencoded_v2_encoded(s3, filled):
    """AWS url-encodes Prefix in v2 answers only (botocore decodes it only there)."""
    assert s3.list_objects(Bucket=filled, Prefix="\n")["Prefix"] == "\n"
    assert s3.list_objects_v2(Bucket=filled, Prefix="\n")["Prefix"] == "\n"
    v1 = ElementTree.fromstring(raw_list(s3, filled, "encoding-type=url&prefix=a%20b").content)
    v2 = ElementTree.fromstring(raw_list(s3, filled, "list-type=2&encoding-type=url&prefix=a%20b").content)
    assert v1.findtext("s3:Prefix", namespaces=NS) == "a b"
    assert v2.findtext("s3:Prefix", namespaces=NS) == "a%20b"
