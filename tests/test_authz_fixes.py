"""Regression tests for the security review's authorization findings: each attack as it was
reported, the refusal S3 gives, and proof that nothing changed. Two accounts (BART owns the
buckets, LISA is account 2) and anonymous requests (botocore UNSIGNED, or raw HTTP)."""
from __future__ import annotations

import httpx
import pytest
from botocore import UNSIGNED

from s3front import acl_model as A
from s3front.routing import DELETE_VERSION, OWNER, READ, READ_ACP, WRITE, WRITE_ACP, resolve
from shared.config import DEFAULT_ACCOUNTS
from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error
from tests.signing import send_v4

BART, LISA = DEFAULT_ACCOUNTS
ALL_USERS_READ = {"Grantee": {"Type": "Group", "URI": A.ALL_USERS}, "Permission": "READ"}


@pytest.fixture(scope="module")
def lisa(cluster):
    return cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)


@pytest.fixture(scope="module")
def anon(cluster):
    return cluster.client(signature_version=UNSIGNED)


@pytest.fixture
def open_versioned(s3, bucket):
    """A public-read-write, versioned bucket with two versions of BART's object "k"."""
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    return bucket, v1, v2


def stored_versions(s3, bucket: str) -> tuple[list[str], int]:
    """(ids of the object versions, number of delete markers) in a bucket."""
    listing = s3.list_object_versions(Bucket=bucket)
    return sorted(v["VersionId"] for v in listing.get("Versions", [])), len(listing.get("DeleteMarkers", []))


# -- the permission table --------------------------------------------------------------------------

@pytest.mark.parametrize("method, key, query, permission", [
    ("DELETE", "k", {"versionId": "v"}, DELETE_VERSION),     # s3:DeleteObjectVersion: bucket owner
    ("DELETE", "k", {}, WRITE),                              # a delete marker: WRITE on the bucket
    ("GET", None, {"location": ""}, OWNER),                  # GetBucketLocation: owner only
    ("GET", None, {"session": ""}, OWNER),
    ("GET", "k", {"tagging": ""}, OWNER),                    # no ACL permission maps to tagging
    ("PUT", "k", {"tagging": ""}, OWNER),
    ("DELETE", "k", {"tagging": ""}, OWNER),
    ("GET", "k", {"legal-hold": ""}, OWNER),
    ("PUT", "k", {"legal-hold": ""}, OWNER),
    ("GET", "k", {"retention": ""}, OWNER),
    ("PUT", "k", {"retention": ""}, OWNER),
    ("POST", "k", {"restore": ""}, OWNER),
    ("PUT", "k", {"renameObject": ""}, OWNER),
    ("GET", "k", {"acl": "", "versionId": "v"}, READ_ACP),   # a version's ACL: the version's own ACL
    ("PUT", "k", {"acl": "", "versionId": "v"}, WRITE_ACP),
    ("GET", "k", {"versionId": "v"}, READ),                  # s3:GetObjectVersion: READ on the object
    ("GET", None, {"versions": ""}, READ),                   # s3:ListBucketVersions: READ on the bucket
    ("GET", None, {"uploads": ""}, READ),
    ("PUT", "k", {}, WRITE),
])
def test_permission_table_grants_what_the_aws_acl_mapping_grants(method, key, query, permission):
    assert resolve(method, "b", key, query, {}).permission == permission


def test_only_the_bucket_owner_holding_write_deletes_versions():
    public = A.canned_acl("public-read-write", "o")
    assert A.allowed(public, "o", "o", A.DELETE_VERSION)
    assert A.allowed(public, "o", "x", A.WRITE) and not A.allowed(public, "o", "x", A.DELETE_VERSION)
    assert not A.allowed(public, "o", None, A.DELETE_VERSION)
    assert not A.allowed([A.user("o", "READ")], "o", "o", A.DELETE_VERSION)     # the owner gave up WRITE


# -- finding 4: deleting versions ------------------------------------------------------------------

def test_delete_object_with_a_version_id_is_the_bucket_owners(s3, lisa, anon, open_versioned):
    bucket, v1, v2 = open_versioned
    assert s3_error(lisa.delete_object, Bucket=bucket, Key="k", VersionId=v1) == (403, "AccessDenied")
    assert s3_error(lisa.delete_object, Bucket=bucket, Key="k", VersionId="null") == (403, "AccessDenied")
    assert s3_error(anon.delete_object, Bucket=bucket, Key="k", VersionId=v2) == (403, "AccessDenied")
    assert stored_versions(s3, bucket) == (sorted([v1, v2]), 0)
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)          # the bucket owner still can
    assert stored_versions(s3, bucket) == ([v2], 0)


def test_anonymous_raw_delete_of_a_version_is_refused(cluster, s3, open_versioned):
    bucket, v1, v2 = open_versioned
    resp = httpx.delete(f"{cluster.endpoint}/{bucket}/k", params={"versionId": v1})
    assert resp.status_code == 403 and b"<Code>AccessDenied</Code>" in resp.content
    assert stored_versions(s3, bucket) == (sorted([v1, v2]), 0)


def test_a_write_grantee_still_places_delete_markers(s3, lisa, anon, open_versioned):
    bucket, v1, v2 = open_versioned
    assert lisa.delete_object(Bucket=bucket, Key="k")["DeleteMarker"] is True
    assert anon.delete_object(Bucket=bucket, Key="k")["DeleteMarker"] is True
    assert stored_versions(s3, bucket) == (sorted([v1, v2]), 2)
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v2)["Body"].read() == b"two"


def test_delete_objects_with_version_ids_is_the_bucket_owners(s3, lisa, anon, open_versioned):
    bucket, v1, v2 = open_versioned
    wanted = {"Objects": [{"Key": "k", "VersionId": v1}, {"Key": "k", "VersionId": v2}]}
    for client in (lisa, anon):
        result = client.delete_objects(Bucket=bucket, Delete=wanted)
        assert "Deleted" not in result
        assert sorted((e["Key"], e["VersionId"], e["Code"]) for e in result["Errors"]) == \
            sorted([("k", v1, "AccessDenied"), ("k", v2, "AccessDenied")])
    assert stored_versions(s3, bucket) == (sorted([v1, v2]), 0)
    # in one request, the entry without a version id still gets its delete marker
    mixed = lisa.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}, {"Key": "k", "VersionId": v1}]})
    assert [d["DeleteMarker"] for d in mixed["Deleted"]] == [True]
    assert [(e["VersionId"], e["Code"]) for e in mixed["Errors"]] == [(v1, "AccessDenied")]
    assert stored_versions(s3, bucket) == (sorted([v1, v2]), 1)
    done = s3.delete_objects(Bucket=bucket, Delete=wanted)         # the bucket owner still can
    assert sorted(d["VersionId"] for d in done["Deleted"]) == sorted([v1, v2]) and "Errors" not in done
    assert stored_versions(s3, bucket) == ([], 1)


# -- the same class: another account's multipart upload ---------------------------------------------

def _upload(client, bucket: str, key: str) -> str:
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"part")
    return upload


def _open_uploads(s3, bucket: str) -> list[str]:
    return sorted(u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def test_only_the_initiator_or_bucket_owner_aborts_or_lists_an_upload(s3, lisa, anon, bucket):
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    mine = _upload(s3, bucket, "bart")
    for client in (lisa, anon):
        assert s3_error(client.abort_multipart_upload, Bucket=bucket, Key="bart", UploadId=mine) == \
            (403, "AccessDenied")
        assert s3_error(client.list_parts, Bucket=bucket, Key="bart", UploadId=mine) == (403, "AccessDenied")
    assert _open_uploads(s3, bucket) == [mine]
    assert [p["Size"] for p in s3.list_parts(Bucket=bucket, Key="bart", UploadId=mine)["Parts"]] == [4]
    theirs = _upload(lisa, bucket, "lisa")
    assert len(lisa.list_parts(Bucket=bucket, Key="lisa", UploadId=theirs)["Parts"]) == 1
    assert s3_error(anon.abort_multipart_upload, Bucket=bucket, Key="lisa", UploadId=theirs) == (403, "AccessDenied")
    assert len(s3.list_parts(Bucket=bucket, Key="lisa", UploadId=theirs)["Parts"]) == 1   # the bucket owner
    s3.abort_multipart_upload(Bucket=bucket, Key="lisa", UploadId=theirs)
    assert _open_uploads(s3, bucket) == [mine]


# -- the same class: a specific version's ACL follows that version's ACL ----------------------------

def test_a_versions_acl_is_read_and_changed_by_that_versions_grants(s3, lisa, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=v1, GrantReadACP=f'id="{LISA.canonical_id}"',
                      GrantWriteACP=f'id="{LISA.canonical_id}"')
    assert lisa.get_object_acl(Bucket=bucket, Key="k", VersionId=v1)["Owner"]["ID"] == BART.canonical_id
    assert s3_error(lisa.get_object_acl, Bucket=bucket, Key="k", VersionId=v2) == (403, "AccessDenied")
    assert s3_error(lisa.put_object_acl, Bucket=bucket, Key="k", VersionId=v2, ACL="public-read") == \
        (403, "AccessDenied")
    assert s3_error(lisa.put_object_acl, Bucket=bucket, Key="k", ACL="public-read") == (403, "AccessDenied")
    grants = s3.get_object_acl(Bucket=bucket, Key="k", VersionId=v2)["Grants"]
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in grants] == [(BART.canonical_id, "FULL_CONTROL")]
    lisa.put_object_acl(Bucket=bucket, Key="k", VersionId=v1, ACL="public-read")
    assert {g["Permission"] for g in s3.get_object_acl(Bucket=bucket, Key="k", VersionId=v1)["Grants"]} == \
        {"READ", "FULL_CONTROL"}


# -- finding 8: GetBucketLocation ----------------------------------------------------------------------

def test_get_bucket_location_is_the_owners_not_a_readers(s3, lisa, anon, bucket):
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert lisa.list_objects_v2(Bucket=bucket)["KeyCount"] == 0          # READ does list the bucket
    assert s3_error(lisa.get_bucket_location, Bucket=bucket) == (403, "AccessDenied")
    assert s3_error(anon.get_bucket_location, Bucket=bucket) == (403, "AccessDenied")
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None


# -- finding 8: at most 100 grants ---------------------------------------------------------------------

def _policy(grants: int) -> dict:
    return {"Owner": {"ID": BART.canonical_id}, "Grants": [ALL_USERS_READ] * grants}


def _grant_header(grantees: int) -> str:
    return ", ".join([f'uri="{A.ALL_USERS}"'] * grantees)


def test_a_bucket_acl_of_5000_grants_is_malformed(s3, bucket):
    assert s3_error(s3.put_bucket_acl, Bucket=bucket, AccessControlPolicy=_policy(5000)) == (400, "MalformedACLError")
    assert s3_error(s3.put_bucket_acl, Bucket=bucket, AccessControlPolicy=_policy(101)) == (400, "MalformedACLError")
    assert s3_error(s3.put_bucket_acl, Bucket=bucket, GrantRead=_grant_header(101)) == (400, "MalformedACLError")
    assert [g["Permission"] for g in s3.get_bucket_acl(Bucket=bucket)["Grants"]] == ["FULL_CONTROL"]
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=_policy(100))          # the limit itself is fine
    assert len(s3.get_bucket_acl(Bucket=bucket)["Grants"]) == 100


def test_object_acls_and_grant_headers_past_100_grants_are_malformed(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3_error(s3.put_object_acl, Bucket=bucket, Key="k", AccessControlPolicy=_policy(5000)) == \
        (400, "MalformedACLError")
    assert s3_error(s3.put_object_acl, Bucket=bucket, Key="k", GrantRead=_grant_header(101)) == \
        (400, "MalformedACLError")
    assert [g["Permission"] for g in s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]] == ["FULL_CONTROL"]
    assert s3_error(s3.put_object, Bucket=bucket, Key="new", Body=b"x", GrantRead=_grant_header(101)) == \
        (400, "MalformedACLError")
    assert s3_error(s3.head_object, Bucket=bucket, Key="new") == (404, "404")
    assert s3_error(s3.create_bucket, Bucket=f"{bucket}-many", GrantRead=_grant_header(101)) == \
        (400, "MalformedACLError")
    assert s3_error(s3.head_bucket, Bucket=f"{bucket}-many") == (404, "404")


def test_the_grant_limit_error_says_what_was_wrong(cluster, bucket):
    resp = send_v4("PUT", f"{cluster.endpoint}/{bucket}?acl", headers={"x-amz-grant-read": _grant_header(150)})
    assert resp.status_code == 400
    assert b"at most 100 grants" in resp.content and b"has 150" in resp.content
