"""STS on the S3 port: GetCallerIdentity, GetSessionToken, AssumeRole (trust policies, durations,
session policies) and temporary credentials (token required, verified, expired)."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
from botocore.config import Config
import httpx
import orjson
import pytest

from s3front.iam_api.sealing import TOKENS_LABEL, derive, seal
from tests.cluster import ACCESS_KEY, ALT_ACCESS_KEY, ALT_SECRET_KEY, SECRET, SECRET_KEY, s3_client
from tests.expect import s3_error, xml_error
from tests.test_iam_access import allow, new_user, policy
from tests.test_iam_api import iam_client, iam_error, name

ACCOUNT = "123456789012"


def sts_client(cluster, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, token: str | None = None):
    return boto3.client("sts", endpoint_url=cluster.endpoint, region_name="us-east-1", aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, aws_session_token=token)


def session_s3(cluster, creds: dict, i: int = 0):
    """An S3 client signing with temporary credentials (and their token)."""
    return s3_client(f"http://127.0.0.1:{cluster.s3_ports[i]}", creds["AccessKeyId"], creds["SecretAccessKey"])\
        if not creds.get("SessionToken") else boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{cluster.s3_ports[i]}", region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"])


def trust(principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def iam(cluster):
    return iam_client(cluster)


@pytest.fixture(scope="module")
def reader_role(iam, cluster):
    """A role that may read every object, whose trust policy names the account."""
    role = name("reader")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:root"))
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=policy(
        allow(["s3:GetObject", "s3:ListBucket"], "*")))
    return f"arn:aws:iam::{ACCOUNT}:role/{role}"


def test_get_caller_identity_of_a_root_and_of_a_user(cluster, iam):
    me = sts_client(cluster).get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)
    user, key = new_user(iam)
    them = sts_client(cluster, key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    assert them["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{user}" and them["UserId"].startswith("AIDA")


def test_session_tokens_carry_their_users_permissions(cluster, iam, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    _, key = new_user(iam, policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    creds = sts_client(cluster, key["AccessKeyId"], key["SecretAccessKey"]).get_session_token(
        DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    session = session_s3(cluster, creds)
    assert session.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert s3_error(session.put_object, Bucket=bucket, Key="k", Body=b"x") == (403, "AccessDenied")
    who = sts_client(cluster, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert who.get_caller_identity()["Arn"].endswith(":user/" + key["UserName"])


def test_a_roots_session_token_acts_as_the_root(cluster, s3, bucket):
    creds = sts_client(cluster).get_session_token()["Credentials"]
    session = session_s3(cluster, creds)
    session.put_object(Bucket=bucket, Key="root-session", Body=b"r")
    assert s3.get_object(Bucket=bucket, Key="root-session")["Body"].read() == b"r"


def test_assume_role_needs_the_users_own_permission_when_the_trust_names_the_account(cluster, iam, reader_role):
    _, key = new_user(iam)
    sts = sts_client(cluster, key["AccessKeyId"], key["SecretAccessKey"])
    assert iam_error(sts.assume_role, RoleArn=reader_role, RoleSessionName="s1")[:2] == (403, "AccessDenied")
    _, key2 = new_user(iam, policy(allow("sts:AssumeRole", reader_role)))
    sts2 = sts_client(cluster, key2["AccessKeyId"], key2["SecretAccessKey"])
    got = sts2.assume_role(RoleArn=reader_role, RoleSessionName="s2")
    assert got["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{reader_role.split('/')[-1]}/s2"
    assert got["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_a_trust_naming_the_user_suffices_and_the_role_decides(cluster, iam, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    user, key = new_user(iam)
    role = name("direct")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/{user}"))
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=policy(allow("s3:GetObject", "*")))
    creds = sts_client(cluster, key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="direct")["Credentials"]
    session = session_s3(cluster, creds)
    assert session.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert s3_error(session.put_object, Bucket=bucket, Key="k", Body=b"x") == (403, "AccessDenied")
    _, stranger = new_user(iam, policy(allow("sts:AssumeRole", "*")))
    assert iam_error(sts_client(cluster, stranger["AccessKeyId"], stranger["SecretAccessKey"]).assume_role,
                     RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="xx")[:2] == (403, "AccessDenied")


def test_a_session_policy_narrows_the_role(cluster, s3, bucket, reader_role):
    s3.put_object(Bucket=bucket, Key="a/1", Body=b"1")
    s3.put_object(Bucket=bucket, Key="b/2", Body=b"2")
    narrow = policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/a/*"))
    got = sts_client(cluster).assume_role(RoleArn=reader_role, RoleSessionName="narrow", Policy=narrow)
    assert got["PackedPolicySize"] > 0
    session = session_s3(cluster, got["Credentials"])
    assert session.get_object(Bucket=bucket, Key="a/1")["Body"].read() == b"1"
    assert s3_error(session.get_object, Bucket=bucket, Key="b/2") == (403, "AccessDenied")


def test_managed_session_policies_narrow_the_role_too(cluster, iam, s3, bucket, reader_role):
    s3.put_object(Bucket=bucket, Key="a/1", Body=b"1")
    s3.put_object(Bucket=bucket, Key="b/2", Body=b"2")
    arn = iam.create_policy(PolicyName=name("only-b"), PolicyDocument=policy(
        allow("s3:GetObject", f"arn:aws:s3:::{bucket}/b/*")))["Policy"]["Arn"]
    creds = sts_client(cluster).assume_role(RoleArn=reader_role, RoleSessionName="managed",
                                            PolicyArns=[{"arn": arn}])["Credentials"]
    session = session_s3(cluster, creds)
    assert session.get_object(Bucket=bucket, Key="b/2")["Body"].read() == b"2"
    assert s3_error(session.get_object, Bucket=bucket, Key="a/1") == (403, "AccessDenied")
    assert iam_error(sts_client(cluster).assume_role, RoleArn=reader_role, RoleSessionName="nope",
                     PolicyArns=[{"arn": arn + "-gone"}])[:2] == (400, "InvalidParameterValue")


def test_another_account_assumes_a_role_its_trust_names(cluster, iam, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"shared")
    role = name("partner")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust("arn:aws:iam::123456789013:root"))
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=policy(allow("s3:GetObject", "*")))
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    creds = sts_client(cluster, ALT_ACCESS_KEY, ALT_SECRET_KEY).assume_role(
        RoleArn=arn, RoleSessionName="lisa")["Credentials"]
    assert session_s3(cluster, creds).get_object(Bucket=bucket, Key="k")["Body"].read() == b"shared"
    untrusted = name("mine")
    iam.create_role(RoleName=untrusted, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:root"))
    assert iam_error(sts_client(cluster, ALT_ACCESS_KEY, ALT_SECRET_KEY).assume_role,
                     RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{untrusted}", RoleSessionName="nope")[:2] == \
        (403, "AccessDenied")


def test_durations_and_session_names_are_bounded(cluster, reader_role):
    sts = sts_client(cluster)
    assert iam_error(sts.assume_role, RoleArn=reader_role, RoleSessionName="long",
                     DurationSeconds=7200)[:2] == (400, "ValidationError")
    assert iam_error(sts.assume_role, RoleArn=reader_role, RoleSessionName="bad name!")[:2] == \
        (400, "ValidationError")
    assert iam_error(sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nobody",
                     RoleSessionName="xx")[:2] == (403, "AccessDenied")
    assert iam_error(sts.assume_role, RoleArn=reader_role, RoleSessionName="pp",
                     Policy="{not json")[:2] == (400, "MalformedPolicyDocument")


def _forged(access_key: str, secret: str, expires: int) -> str:
    """A token as a front-end seals it (the tests know the cluster secret), for times no test can wait for."""
    body = {"ak": access_key, "sk": secret, "exp": expires, "acct": ACCOUNT, "kind": "root", "name": "", "path": "/",
            "id": "", "session": "", "policies": []}
    return seal(derive(SECRET, TOKENS_LABEL), orjson.dumps(body), access_key.encode())


def test_temporary_credentials_need_their_token_and_expire(cluster, bucket):
    creds = sts_client(cluster).get_session_token()["Credentials"]
    bare = s3_client(cluster.endpoint, creds["AccessKeyId"], creds["SecretAccessKey"])
    assert s3_error(bare.list_objects_v2, Bucket=bucket) == (403, "InvalidAccessKeyId")
    other = sts_client(cluster).get_session_token()["Credentials"]
    mixed = {**creds, "SessionToken": other["SessionToken"]}
    assert s3_error(session_s3(cluster, mixed).list_objects_v2, Bucket=bucket) == (400, "InvalidToken")
    tampered = {**creds, "SessionToken": creds["SessionToken"][:-4] + "AAAA"}
    assert s3_error(session_s3(cluster, tampered).list_objects_v2, Bucket=bucket) == (400, "InvalidToken")
    live = {"AccessKeyId": "ASIATESTTESTTEST0001", "SecretAccessKey": "s" * 40,
            "SessionToken": _forged("ASIATESTTESTTEST0001", "s" * 40, int(time.time()) + 60)}
    assert session_s3(cluster, live).list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    expired = {**live, "SessionToken": _forged(live["AccessKeyId"], live["SecretAccessKey"], int(time.time()) - 1)}
    assert s3_error(session_s3(cluster, expired).list_objects_v2, Bucket=bucket) == (400, "ExpiredToken")
    assert iam_error(sts_client(cluster, expired["AccessKeyId"], expired["SecretAccessKey"],
                                expired["SessionToken"]).get_caller_identity)[:2] == (403, "ExpiredToken")


def test_a_presigned_url_of_a_session_carries_its_token(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"signed")
    creds = sts_client(cluster).get_session_token()["Credentials"]
    for version in ("s3", "s3v4"):
        signer = boto3.client("s3", endpoint_url=cluster.endpoint, region_name="us-east-1",
                              aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                              aws_session_token=creds["SessionToken"], config=Config(signature_version=version))
        url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
        assert "x-amz-security-token" in url.lower()
        assert httpx.get(url).content == b"signed"
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "x-amz-security-token"]
        assert xml_error(httpx.get(urlunsplit(parts._replace(query=urlencode(query))))) == \
            (403, "InvalidAccessKeyId")


def test_session_credentials_work_on_every_frontend_and_after_a_restart(fresh_cluster):
    c = fresh_cluster(frontends=2)
    c.client().create_bucket(Bucket="roam")
    creds = sts_client(c).get_session_token()["Credentials"]
    for i in (0, 1):
        assert session_s3(c, creds, i).list_objects_v2(Bucket="roam")["KeyCount"] == 0
    c.kill("s3-1")
    c.start_frontend(1)
    assert session_s3(c, creds, 1).list_objects_v2(Bucket="roam")["KeyCount"] == 0
