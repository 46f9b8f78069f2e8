"""The IAM Query API on the S3 port, through boto3's iam client: every family of calls, with AWS's
answers and errors (and raw HTTP for what an SDK would never send)."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.cluster import ACCESS_KEY, SECRET_KEY

_names = itertools.count()
ALLOW_ALL_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def iam_client(cluster, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, token: str | None = None):
    return boto3.client("iam", endpoint_url=cluster.endpoint, region_name="us-east-1", aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, aws_session_token=token)


def name(kind: str) -> str:
    return f"{kind}{next(_names)}"


def iam_error(call, **kwargs) -> tuple[int, str, str]:
    """(status, code, error type) of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"].get("Type", "")


def signed_post(cluster, body: str, service: str = "iam", access_key: str = ACCESS_KEY,
                secret_key: str = SECRET_KEY) -> httpx.Response:
    """A raw SigV4-signed form POST, for bodies no SDK would send."""
    request = AWSRequest("POST", cluster.endpoint + "/", data=body.encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(access_key, secret_key), service, "us-east-1").add_auth(request)
    return httpx.post(cluster.endpoint + "/", content=body.encode(), headers=dict(request.headers))


@pytest.fixture(scope="module")
def iam(cluster):
    return iam_client(cluster)


def test_users_are_created_read_listed_renamed_and_deleted(iam):
    user = name("alice")
    made = iam.create_user(UserName=user, Path="/team/", Tags=[{"Key": "dept", "Value": "eng"}])["User"]
    assert made["Arn"] == f"arn:aws:iam::123456789012:user/team/{user}"
    assert made["UserId"].startswith("AIDA") and len(made["UserId"]) == 21
    got = iam.get_user(UserName=user)["User"]
    assert got["UserId"] == made["UserId"] and got["Tags"] == [{"Key": "dept", "Value": "eng"}]
    assert user in [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]]
    assert user not in [u["UserName"] for u in iam.list_users(PathPrefix="/other/")["Users"]]
    assert iam_error(iam.create_user, UserName=user) == (409, "EntityAlreadyExists", "Sender")
    iam.update_user(UserName=user, NewUserName=user + "x", NewPath="/ops/")
    assert iam.get_user(UserName=user + "x")["User"]["Arn"].endswith(f":user/ops/{user}x")
    assert iam_error(iam.get_user, UserName=user) == (404, "NoSuchEntity", "Sender")
    iam.delete_user(UserName=user + "x")
    assert iam_error(iam.delete_user, UserName=user + "x") == (404, "NoSuchEntity", "Sender")


def test_the_root_caller_is_its_account(iam):
    assert iam.get_user()["User"]["Arn"] == "arn:aws:iam::123456789012:root"


def test_names_and_paths_are_validated(iam):
    assert iam_error(iam.create_user, UserName="bad/name")[:2] == (400, "ValidationError")
    assert iam_error(iam.create_user, UserName="x" * 65)[:2] == (400, "ValidationError")
    assert iam_error(iam.create_user, UserName=name("u"), Path="no-slashes")[:2] == (400, "ValidationError")


def test_paging_with_max_items_and_marker(iam):
    prefix = f"/page{next(_names)}/"
    users = sorted(name("p") for _ in range(3))
    for user in users:
        iam.create_user(UserName=user, Path=prefix)
    first = iam.list_users(PathPrefix=prefix, MaxItems=2)
    assert [u["UserName"] for u in first["Users"]] == users[:2] and first["IsTruncated"]
    rest = iam.list_users(PathPrefix=prefix, MaxItems=2, Marker=first["Marker"])
    assert [u["UserName"] for u in rest["Users"]] == users[2:] and not rest["IsTruncated"]


def test_access_keys_at_most_two_and_a_user_with_keys_cannot_go(iam):
    user = name("k")
    iam.create_user(UserName=user)
    one = iam.create_access_key(UserName=user)["AccessKey"]
    assert one["AccessKeyId"].startswith("AKIA") and len(one["SecretAccessKey"]) == 40 and one["Status"] == "Active"
    iam.create_access_key(UserName=user)
    assert iam_error(iam.create_access_key, UserName=user)[:2] == (409, "LimitExceeded")
    assert iam_error(iam.delete_user, UserName=user)[:2] == (409, "DeleteConflict")
    iam.update_access_key(UserName=user, AccessKeyId=one["AccessKeyId"], Status="Inactive")
    listed = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    assert listed[one["AccessKeyId"]] == "Inactive" and len(listed) == 2
    assert iam.get_access_key_last_used(AccessKeyId=one["AccessKeyId"])["UserName"] == user
    assert iam_error(iam.update_access_key, UserName=user, AccessKeyId=one["AccessKeyId"],
                     Status="Sleeping")[:2] == (400, "ValidationError")
    for key in listed:
        iam.delete_access_key(UserName=user, AccessKeyId=key)
    assert iam_error(iam.delete_access_key, UserName=user, AccessKeyId=one["AccessKeyId"])[:2] == \
        (404, "NoSuchEntity")
    iam.delete_user(UserName=user)


def test_groups_members_and_conflicts(iam):
    user, group = name("gm"), name("grp")
    iam.create_user(UserName=user)
    made = iam.create_group(GroupName=group, Path="/g/")["Group"]
    assert made["Arn"] == f"arn:aws:iam::123456789012:group/g/{group}" and made["GroupId"].startswith("AGPA")
    assert iam_error(iam.create_group, GroupName=group)[:2] == (409, "EntityAlreadyExists")
    iam.add_user_to_group(GroupName=group, UserName=user)
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in [g["GroupName"] for g in iam.list_groups()["Groups"]]
    assert iam_error(iam.delete_group, GroupName=group)[:2] == (409, "DeleteConflict")
    assert iam_error(iam.delete_user, UserName=user)[:2] == (409, "DeleteConflict")
    assert iam_error(iam.add_user_to_group, GroupName=group, UserName="nobody")[:2] == (404, "NoSuchEntity")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    assert iam_error(iam.remove_user_from_group, GroupName=group, UserName=user)[:2] == (404, "NoSuchEntity")
    assert iam.list_groups_for_user(UserName=user)["Groups"] == []
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)
    assert iam_error(iam.get_group, GroupName=group)[:2] == (404, "NoSuchEntity")


def test_managed_policies_versions_and_attachments(iam):
    policy_name, user, group = name("pol"), name("pu"), name("pg")
    arn = iam.create_policy(PolicyName=policy_name, PolicyDocument=json.dumps(ALLOW_ALL_S3),
                            Description="all of s3")["Policy"]["Arn"]
    assert arn == f"arn:aws:iam::123456789012:policy/{policy_name}"
    assert iam_error(iam.create_policy, PolicyName=policy_name,
                     PolicyDocument=json.dumps(ALLOW_ALL_S3))[:2] == (409, "EntityAlreadyExists")
    second = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(second), SetAsDefault=True)
    assert version["PolicyVersion"]["VersionId"] == "v2" and version["PolicyVersion"]["IsDefaultVersion"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == second
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v2", "v1"]
    assert iam_error(iam.delete_policy_version, PolicyArn=arn, VersionId="v2")[:2] == (409, "DeleteConflict")
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert iam_error(iam.get_policy_version, PolicyArn=arn, VersionId="v2")[:2] == (404, "NoSuchEntity")
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(second))
    assert iam_error(iam.create_policy_version, PolicyArn=arn,
                     PolicyDocument=json.dumps(second))[:2] == (409, "LimitExceeded")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == \
        [{"PolicyName": policy_name, "PolicyArn": arn}]
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"][0]["PolicyArn"] == arn
    assert arn in [p["Arn"] for p in iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]]
    assert iam_error(iam.delete_policy, PolicyArn=arn)[:2] == (409, "DeleteConflict")
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    assert iam_error(iam.detach_user_policy, UserName=user, PolicyArn=arn)[:2] == (404, "NoSuchEntity")
    for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
    iam.delete_policy(PolicyArn=arn)
    assert iam_error(iam.get_policy, PolicyArn=arn)[:2] == (404, "NoSuchEntity")
    assert iam_error(iam.attach_user_policy, UserName=user,
                     PolicyArn="arn:aws:iam::aws:policy/NoSuchManagedPolicy")[:2] == (404, "NoSuchEntity")


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_inline_policies_of_users_groups_and_roles(iam, kind):
    holder = name(kind)
    word = kind.capitalize()
    if kind == "role":
        iam.create_role(RoleName=holder, AssumeRolePolicyDocument=json.dumps(trust_account()))
    else:
        getattr(iam, f"create_{kind}")(**{f"{word}Name": holder})
    named = {f"{word}Name": holder}
    getattr(iam, f"put_{kind}_policy")(**named, PolicyName="s3", PolicyDocument=json.dumps(ALLOW_ALL_S3))
    got = getattr(iam, f"get_{kind}_policy")(**named, PolicyName="s3")
    assert got["PolicyDocument"] == ALLOW_ALL_S3 and got[f"{word}Name"] == holder
    assert getattr(iam, f"list_{kind}_policies")(**named)["PolicyNames"] == ["s3"]
    assert iam_error(getattr(iam, f"delete_{kind}"), **named)[:2] == (409, "DeleteConflict")
    getattr(iam, f"delete_{kind}_policy")(**named, PolicyName="s3")
    assert iam_error(getattr(iam, f"get_{kind}_policy"), **named, PolicyName="s3")[:2] == (404, "NoSuchEntity")
    getattr(iam, f"delete_{kind}")(**named)


@pytest.mark.parametrize("document", [
    "not json", "{}", json.dumps({"Version": "2012-10-17", "Statement": []}),
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:NoSuchThing",
                                                        "Resource": "*"}]}),
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                        "Action": "s3:GetObject", "Resource": "*"}]}),
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                        "Resource": "not-an-arn"}]}),
])
def test_malformed_policy_documents_are_refused_and_nothing_is_stored(iam, document):
    policy_name, user = name("bad"), name("bu")
    assert iam_error(iam.create_policy, PolicyName=policy_name, PolicyDocument=document)[:2] == \
        (400, "MalformedPolicyDocument")
    assert policy_name not in [p["PolicyName"] for p in iam.list_policies()["Policies"]]
    iam.create_user(UserName=user)
    assert iam_error(iam.put_user_policy, UserName=user, PolicyName="p", PolicyDocument=document)[:2] == \
        (400, "MalformedPolicyDocument")
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []
    iam.delete_user(UserName=user)


def _big_policy(chars: int) -> str:
    resources = [f"arn:aws:s3:::bucket-{i:05d}/*" for i in range(chars // 26 + 1)]
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                               "Resource": resources}]})


def test_oversized_policies_exceed_the_limits(iam):
    user = name("big")
    iam.create_user(UserName=user)
    assert iam_error(iam.create_policy, PolicyName=name("big"), PolicyDocument=_big_policy(6200))[:2] == \
        (409, "LimitExceeded")
    iam.put_user_policy(UserName=user, PolicyName="a", PolicyDocument=_big_policy(1000))
    # the 2,048 characters hold for all of a user's inline policies together
    assert iam_error(iam.put_user_policy, UserName=user, PolicyName="b", PolicyDocument=_big_policy(1100))[:2] == \
        (409, "LimitExceeded")
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["a"]
    iam.delete_user_policy(UserName=user, PolicyName="a")
    iam.delete_user(UserName=user)


def trust_account(account: str = "123456789012") -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}


def test_roles_with_trust_policies(iam):
    role = name("role")
    made = iam.create_role(RoleName=role, Path="/svc/", AssumeRolePolicyDocument=json.dumps(trust_account()),
                           MaxSessionDuration=7200, Description="d", Tags=[{"Key": "a", "Value": "b"}])["Role"]
    assert made["Arn"] == f"arn:aws:iam::123456789012:role/svc/{role}" and made["RoleId"].startswith("AROA")
    got = iam.get_role(RoleName=role)["Role"]
    assert got["AssumeRolePolicyDocument"] == trust_account() and got["MaxSessionDuration"] == 7200
    assert got["Tags"] == [{"Key": "a", "Value": "b"}]
    assert role in [r["RoleName"] for r in iam.list_roles(PathPrefix="/svc/")["Roles"]]
    other = trust_account("123456789013")
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(other))
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == other
    iam.update_role(RoleName=role, MaxSessionDuration=3600)
    assert iam.get_role(RoleName=role)["Role"]["MaxSessionDuration"] == 3600
    for bad in (ALLOW_ALL_S3, {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                                      "Action": "sts:AssumeRole", "Resource": "*"}]}):
        assert iam_error(iam.update_assume_role_policy, RoleName=role, PolicyDocument=json.dumps(bad))[:2] == \
            (400, "MalformedPolicyDocument")
    iam.delete_role(RoleName=role)
    assert iam_error(iam.get_role, RoleName=role)[:2] == (404, "NoSuchEntity")


def test_user_tags(iam):
    user = name("tag")
    iam.create_user(UserName=user)
    iam.tag_user(UserName=user, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.untag_user(UserName=user, TagKeys=["a"])
    assert iam.list_user_tags(UserName=user)["Tags"] == [{"Key": "b", "Value": "2"}]
    iam.delete_user(UserName=user)


def test_errors_are_iam_shaped_in_raw_http(cluster):
    unknown = signed_post(cluster, "Action=FlyToTheMoon&Version=2010-05-08")
    assert unknown.status_code == 400
    assert unknown.text.startswith('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')
    assert "<Type>Sender</Type><Code>InvalidAction</Code>" in unknown.text and "<RequestId>" in unknown.text
    missing = signed_post(cluster, "Version=2010-05-08")
    assert missing.status_code == 400 and "<Code>MissingAction</Code>" in missing.text
    no_name = signed_post(cluster, "Action=CreateUser&Version=2010-05-08")
    assert no_name.status_code == 400 and "<Code>ValidationError</Code>" in no_name.text
    bad_key = signed_post(cluster, "Action=ListUsers&Version=2010-05-08", access_key="AKIANOSUCHKEY0000000")
    assert bad_key.status_code == 403 and "<Code>InvalidClientTokenId</Code>" in bad_key.text
    short = signed_post(cluster, "Action=CreateRole&Version=2010-05-08&RoleName=short&MaxSessionDuration=60&"
                        "AssumeRolePolicyDocument=" + quote(json.dumps(trust_account())))
    assert short.status_code == 400 and "<Code>ValidationError</Code>" in short.text
    bad_sig = signed_post(cluster, "Action=ListUsers&Version=2010-05-08", secret_key="wrong")
    assert bad_sig.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in bad_sig.text


def test_a_body_that_does_not_match_its_signature_is_refused(cluster):
    body = "Action=ListUsers&Version=2010-05-08"
    request = AWSRequest("POST", cluster.endpoint + "/", data=body.encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "iam", "us-east-1").add_auth(request)
    tampered = httpx.post(cluster.endpoint + "/", content=b"Action=CreateUser&Version=2010-05-08&UserName=evil",
                          headers={k: v for k, v in request.headers.items() if k.lower() != "content-length"})
    assert tampered.status_code == 403 and "SignatureDoesNotMatch" in tampered.text
    assert hashlib.sha256(body.encode()).hexdigest() not in tampered.text


def test_the_aws_cli_speaks_iam_and_sts_unchanged(cluster, tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"}
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(var, None)

    def aws(*args: str) -> dict:
        done = subprocess.run([str(Path(sys.executable).parent / "aws"), *args, "--endpoint-url", cluster.endpoint,
                               "--output", "json"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}
    user = name("cliuser")
    assert aws("iam", "create-user", "--user-name", user)["User"]["UserName"] == user
    assert user in [u["UserName"] for u in aws("iam", "list-users")["Users"]]
    aws("iam", "delete-user", "--user-name", user)
    assert aws("sts", "get-caller-identity")["Account"] == "123456789012"
