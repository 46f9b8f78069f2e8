"""Object Lock through boto3: a bucket created with it, default retention, retention and legal hold
on PUT and after, and every way to delete a protected version refused (by the metadata daemon)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import s3_error


def later(seconds: int = 3600) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


@pytest.fixture
def locked(s3):
    name = f"lock-{time.monotonic_ns()}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    # Only unprotected versions can go; protected ones die with the test cluster.
    for v in s3.list_object_versions(Bucket=name).get("Versions", []):
        try:
            s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
        except Exception:       # noqa: BLE001 - compliance or legal hold: left behind
            pass


def test_a_lock_bucket_is_versioned_for_good(s3, locked):
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]["ObjectLockEnabled"] == \
        "Enabled"
    assert s3_error(s3.put_bucket_versioning, Bucket=locked,
                    VersioningConfiguration={"Status": "Suspended"}) == (409, "InvalidBucketState")


def test_lock_requests_on_an_ordinary_bucket_are_refused(s3, bucket):
    assert s3_error(s3.get_object_lock_configuration, Bucket=bucket) == (404, "ObjectLockConfigurationNotFoundError")
    assert s3_error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                    ObjectLockRetainUntilDate=later()) == (400, "InvalidRequest")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3_error(s3.get_object_retention, Bucket=bucket, Key="k") == (400, "InvalidRequest")


def test_governance_protects_until_bypassed(s3, locked):
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=later())["VersionId"]
    head = s3.head_object(Bucket=locked, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert s3.get_object_retention(Bucket=locked, Key="k", VersionId=vid)["Retention"]["Mode"] == "GOVERNANCE"
    assert s3_error(s3.delete_object, Bucket=locked, Key="k", VersionId=vid) == (403, "AccessDenied")
    result = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "k", "VersionId": vid}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    # Shortening it needs the bypass, too.
    assert s3_error(s3.put_object_retention, Bucket=locked, Key="k", VersionId=vid,
                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(60)}) == (403, "AccessDenied")
    s3.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert s3.list_object_versions(Bucket=locked).get("Versions") is None


def test_compliance_cannot_be_bypassed_or_shortened(s3, locked):
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                        ObjectLockRetainUntilDate=later())["VersionId"]
    assert s3_error(s3.delete_object, Bucket=locked, Key="k", VersionId=vid,
                    BypassGovernanceRetention=True) == (403, "AccessDenied")
    assert s3_error(s3.put_object_retention, Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True,
                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later()}) == (403, "AccessDenied")
    s3.put_object_retention(Bucket=locked, Key="k", VersionId=vid,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later(7200)})
    # A delete without a version id only stacks a delete marker: the version stays.
    s3.delete_object(Bucket=locked, Key="k")
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=locked)["Versions"]] == [vid]


def test_a_legal_hold_protects_until_lifted(s3, locked):
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert s3.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"]["Status"] == "ON"
    assert s3_error(s3.delete_object, Bucket=locked, Key="k", VersionId=vid,
                    BypassGovernanceRetention=True) == (403, "AccessDenied")
    s3.put_object_legal_hold(Bucket=locked, Key="k", VersionId=vid, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=locked, Key="k", VersionId=vid)


def test_the_default_retention_applies_to_new_versions(s3, locked):
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    rule = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]["Rule"]
    assert rule["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x")["VersionId"]
    until = s3.get_object_retention(Bucket=locked, Key="k")["Retention"]["RetainUntilDate"]
    assert timedelta(hours=23) < until - datetime.now(timezone.utc) <= timedelta(days=1)
    assert s3_error(s3.delete_object, Bucket=locked, Key="k", VersionId=vid) == (403, "AccessDenied")


def test_another_account_may_not_bypass(cluster, s3, locked):
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=later())["VersionId"]
    s3.put_bucket_acl(Bucket=locked, ACL="public-read-write")
    lisa = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    assert s3_error(lisa.delete_object, Bucket=locked, Key="k", VersionId=vid,
                    BypassGovernanceRetention=True) == (403, "AccessDenied")
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=locked)["Versions"]] == [vid]


@pytest.mark.parametrize("headers, code", [
    ({"ObjectLockMode": "GOVERNANCE"}, "InvalidArgument"),                      # no date
    ({"ObjectLockMode": "FOREVER", "ObjectLockRetainUntilDate": later()}, "InvalidArgument"),
    ({"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": later(-3600)}, "InvalidArgument"),
])
def test_bad_lock_headers(s3, locked, headers, code):
    assert s3_error(s3.put_object, Bucket=locked, Key="k", Body=b"x", **headers) == (400, code)
    assert s3.list_object_versions(Bucket=locked).get("Versions") is None
