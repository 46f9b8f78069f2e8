"""ACLs with boto3 and raw anonymous HTTP: canned ACLs, grant headers, policies, who may do what."""
from __future__ import annotations

import httpx
import pytest

from s3front import acl_model as A
from shared.config import DEFAULT_ACCOUNTS
from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error, xml_error
from tests.signing import send_v4

BART, LISA = DEFAULT_ACCOUNTS
POLICY_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@pytest.fixture(scope="module")
def lisa(cluster):
    return cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)


@pytest.fixture
def anon(cluster):
    with httpx.Client(base_url=cluster.endpoint) as client:
        yield client


def grants(acl: dict) -> set[tuple]:
    """A response's grants as (type, id or uri, permission), in no order."""
    return {(g["Grantee"]["Type"], g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"])
            for g in acl["Grants"]}


def owner_full(account=BART) -> tuple:
    return ("CanonicalUser", account.canonical_id, "FULL_CONTROL")


# -- the pure model ---------------------------------------------------------------------------------

def test_canned_acls_give_the_grants_aws_lists():
    assert A.canned_acl("private", "o") == [A.user("o", "FULL_CONTROL")]
    assert A.canned_acl("public-read-write", "o") == [A.group(A.ALL_USERS, "READ"), A.group(A.ALL_USERS, "WRITE"),
                                                      A.user("o", "FULL_CONTROL")]
    assert A.canned_acl("bucket-owner-read", "o", "b")[-1] == A.user("b", "READ")
    assert A.canned_acl("bucket-owner-full-control", "o", "o") == [A.user("o", "FULL_CONTROL")]


def test_allowed_follows_grants_and_keeps_the_owner_in_control_of_the_acl():
    public = A.canned_acl("public-read", "o")
    assert A.allowed(public, "o", None, "READ") and not A.allowed(public, "o", None, "WRITE")
    authenticated = A.canned_acl("authenticated-read", "o")
    assert A.allowed(authenticated, "o", "x", "READ") and not A.allowed(authenticated, "o", None, "READ")
    assert not A.allowed([], "o", "o", "READ") and A.allowed([], "o", "o", "WRITE_ACP")
    assert not A.allowed(None, "o", "x", "OWNER") and A.allowed(None, "o", "o", "OWNER")


def test_grant_headers_name_users_by_id_and_email():
    headers = {"x-amz-grant-read": f'id="{LISA.canonical_id}", uri="{A.ALL_USERS}"',
               "x-amz-grant-full-control": f"emailAddress={BART.email}"}
    acl = A.header_acl(headers, BART.canonical_id, DEFAULT_ACCOUNTS)
    assert acl == [A.user(LISA.canonical_id, "READ"), A.group(A.ALL_USERS, "READ"),
                   A.user(BART.canonical_id, "FULL_CONTROL")]


# -- buckets ------------------------------------------------------------------------------------------

def test_default_bucket_acl_is_the_owner_alone(s3, bucket):
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"] == {"ID": BART.canonical_id, "DisplayName": BART.name}
    assert grants(acl) == {owner_full()}
    assert acl["Grants"][0]["Grantee"]["DisplayName"] == BART.name


def test_canned_bucket_acl_opens_listing_to_anonymous_requests(s3, bucket, anon):
    assert xml_error(anon.get(f"/{bucket}")) == (403, "AccessDenied")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert grants(s3.get_bucket_acl(Bucket=bucket)) == {owner_full(), ("Group", A.ALL_USERS, "READ")}
    assert anon.get(f"/{bucket}").status_code == 200
    assert anon.get(f"/{bucket}", params={"list-type": "2"}).status_code == 200
    assert xml_error(anon.put(f"/{bucket}/k", content=b"x")) == (403, "AccessDenied")


def test_public_read_write_bucket_takes_anonymous_writes(s3, bucket, anon):
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    assert anon.put(f"/{bucket}/anon", content=b"hello").status_code == 200
    listed = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
    assert listed[0]["Owner"]["ID"] == A.ANONYMOUS_ID
    # the object is the anonymous writer's: its ACL lets only that owner read it
    assert s3_error(s3.get_object, Bucket=bucket, Key="anon") == (403, "AccessDenied")


def test_bad_canned_acl_is_invalid_argument(s3, cluster, bucket):
    assert s3_error(s3.create_bucket, Bucket=f"{bucket}-x", ACL="public-ready") == (400, "InvalidArgument")
    mangled = cluster.client()          # a client of its own: the hook must not outlive this test

    def canned(params, **_):
        params["headers"]["x-amz-acl"] = "public-ready"

    mangled.meta.events.register("before-call.s3.PutBucketAcl", canned)
    assert s3_error(mangled.put_bucket_acl, Bucket=bucket, ACL="private") == (400, "InvalidArgument")


def test_policy_round_trip_with_grants_by_id_and_email(s3, bucket, lisa):
    assert s3_error(lisa.list_objects_v2, Bucket=bucket) == (403, "AccessDenied")
    policy = {"Owner": {"ID": BART.canonical_id},
              "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": BART.canonical_id}, "Permission": "FULL_CONTROL"},
                         {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": LISA.email},
                          "Permission": "READ"}]}
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert grants(acl) == {owner_full(), ("CanonicalUser", LISA.canonical_id, "READ")}
    assert {g["Grantee"]["DisplayName"] for g in acl["Grants"]} == {BART.name, LISA.name}
    assert lisa.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert s3_error(lisa.put_object, Bucket=bucket, Key="k", Body=b"x") == (403, "AccessDenied")
    assert s3_error(lisa.get_bucket_acl, Bucket=bucket) == (403, "AccessDenied")


def test_policy_errors_are_the_ones_aws_sends(s3, cluster, bucket):
    unknown_email = {"Owner": {"ID": BART.canonical_id}, "Grants": [
        {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "nobody@example.invalid"},
         "Permission": "READ"}]}
    assert s3_error(s3.put_bucket_acl, Bucket=bucket, AccessControlPolicy=unknown_email) == \
        (400, "UnresolvableGrantByEmailAddress")
    unknown_id = {"Owner": {"ID": BART.canonical_id},
                  "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "_foo"}, "Permission": "READ"}]}
    assert s3_error(s3.put_bucket_acl, Bucket=bucket, AccessControlPolicy=unknown_id) == (400, "InvalidArgument")
    url = f"{cluster.endpoint}/{bucket}?acl"
    assert xml_error(send_v4("PUT", url, b"<AccessControlPolicy><Owner/>")) == (400, "MalformedACLError")
    bad_permission = (f"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>{BART.canonical_id}</ID>"
                      "</Grantee><Permission>ALL</Permission></Grant></AccessControlList></AccessControlPolicy>")
    assert xml_error(send_v4("PUT", url, bad_permission.encode())) == (400, "MalformedACLError")
    assert xml_error(send_v4("PUT", url, b"<x/>", {"x-amz-acl": "private"})) == (400, "UnexpectedContent")


def test_owner_keeps_control_of_a_bucket_acl_that_grants_nothing(s3, bucket):
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": {"ID": BART.canonical_id}, "Grants": []})
    assert s3.get_bucket_acl(Bucket=bucket)["Grants"] == []
    assert s3_error(s3.list_objects_v2, Bucket=bucket) == (403, "AccessDenied")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_expected_bucket_owner_must_match(s3, bucket):
    s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=BART.account_id)
    assert s3_error(s3.list_objects_v2, Bucket=bucket, ExpectedBucketOwner=LISA.account_id) == (403, "AccessDenied")


# -- objects ------------------------------------------------------------------------------------------

def test_public_read_object_is_readable_anonymously(s3, bucket, anon):
    s3.put_object(Bucket=bucket, Key="open", Body=b"data", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="closed", Body=b"data")
    assert anon.get(f"/{bucket}/open").content == b"data"
    assert anon.head(f"/{bucket}/open").status_code == 200
    assert xml_error(anon.get(f"/{bucket}/closed")) == (403, "AccessDenied")
    # without READ on the bucket, a missing key is no one else's business
    assert xml_error(anon.get(f"/{bucket}/missing")) == (403, "AccessDenied")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert xml_error(anon.get(f"/{bucket}/missing")) == (404, "NoSuchKey")


def test_second_account_reads_with_a_grant_and_not_without(s3, bucket, lisa):
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    assert s3_error(lisa.get_object, Bucket=bucket, Key="k") == (403, "AccessDenied")
    s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'id="{LISA.canonical_id}"')
    assert grants(s3.get_object_acl(Bucket=bucket, Key="k")) == {("CanonicalUser", LISA.canonical_id, "READ")}
    assert lisa.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    assert s3_error(lisa.get_object_acl, Bucket=bucket, Key="k") == (403, "AccessDenied")
    assert s3_error(lisa.delete_object, Bucket=bucket, Key="k") == (403, "AccessDenied")


def test_authenticated_read_needs_a_signature(s3, bucket, lisa, anon):
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", ACL="authenticated-read")
    assert lisa.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    assert xml_error(anon.get(f"/{bucket}/k")) == (403, "AccessDenied")


def test_bucket_owner_full_control_of_an_object_written_by_another_account(s3, bucket, lisa):
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    lisa.put_object(Bucket=bucket, Key="theirs", Body=b"x")
    assert s3_error(s3.get_object, Bucket=bucket, Key="theirs") == (403, "AccessDenied")
    lisa.put_object(Bucket=bucket, Key="theirs", Body=b"x", ACL="bucket-owner-full-control")
    acl = lisa.get_object_acl(Bucket=bucket, Key="theirs")
    assert acl["Owner"]["ID"] == LISA.canonical_id
    assert grants(acl) == {owner_full(LISA), owner_full(BART)}
    assert s3.get_object(Bucket=bucket, Key="theirs")["Body"].read() == b"x"


def test_copy_and_multipart_apply_the_requested_acl(s3, bucket, anon):
    s3.put_object(Bucket=bucket, Key="src", Body=b"copied")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, ACL="public-read")
    assert anon.get(f"/{bucket}/dst").content == b"copied"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu", ACL="public-read")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload, PartNumber=1, Body=b"parts")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert anon.get(f"/{bucket}/mpu").content == b"parts"


def test_versioned_object_acl_is_per_version(s3, bucket, anon):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=first, ACL="public-read")
    assert ("Group", A.ALL_USERS, "READ") in grants(s3.get_object_acl(Bucket=bucket, Key="k", VersionId=first))
    assert grants(s3.get_object_acl(Bucket=bucket, Key="k", VersionId=second)) == {owner_full()}
    assert anon.get(f"/{bucket}/k", params={"versionId": first}).content == b"one"
    assert xml_error(anon.get(f"/{bucket}/k")) == (403, "AccessDenied")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")       # the latest version
    assert anon.get(f"/{bucket}/k").content == b"two"


def test_object_acl_of_a_missing_key(s3, bucket):
    assert s3_error(s3.get_object_acl, Bucket=bucket, Key="nope") == (404, "NoSuchKey")
    assert s3_error(s3.put_object_acl, Bucket=bucket, Key="nope", ACL="private") == (404, "NoSuchKey")
