"""What an account holds beyond its users' policies, as AWS has it: case-insensitive names, path
prefixes, OpenID Connect providers, the account summary, the root's own extra keys, AWS managed
policies, and ACL grants to an account that its IAM users use across accounts."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from s3front.iam import parse_identity_policy
from s3front.iam_api import aws_managed
from tests.cluster import ACCESS_KEY, SECRET_KEY
from tests.expect import s3_error
from tests.test_iam_access import allow, client_of, new_user, policy
from tests.test_iam_api import iam_client, iam_error, name

ALT_KEY, ALT_SECRET = "accessKey2", "verySecretKey2"
ALT_CANONICAL_ID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"


@pytest.fixture(scope="module")
def iam(cluster):
    return iam_client(cluster)


def test_names_are_case_insensitive_and_listed_in_case_insensitive_order(iam):
    base = name("case")
    created = iam.create_user(UserName=base + "U1", Path="/cases/")["User"]
    assert iam_error(iam.create_user, UserName=base + "u1")[:2] == (409, "EntityAlreadyExists")
    assert iam.get_user(UserName=base + "u1")["User"] == created
    for suffix in ("aa", "Ab", "ac"):
        iam.create_user(UserName=base + suffix, Path="/cases/")
    listed = [u["UserName"] for u in iam.list_users(PathPrefix="/cases")["Users"]]
    assert listed == [base + s for s in ("aa", "Ab", "ac", "U1")]
    paged = [u["UserName"] for page in iam.get_paginator("list_users").paginate(
        PathPrefix="/cases/", PaginationConfig={"PageSize": 1}) for u in page["Users"]]
    assert paged == listed
    iam.update_user(UserName=base + "u1", NewUserName=base + "u1")      # a rename that changes only the case
    assert iam.get_user(UserName=base + "U1")["User"]["UserName"] == base + "u1"
    for suffix in ("aa", "Ab", "ac", "U1"):
        iam.delete_user(UserName=base + suffix.upper())
    assert iam.list_users(PathPrefix="/cases")["Users"] == []
    group = name("Grp")
    iam.create_group(GroupName=group)
    assert iam_error(iam.create_group, GroupName=group.lower())[:2] == (409, "EntityAlreadyExists")
    iam.delete_group(GroupName=group.upper())


def test_openid_connect_providers(iam):
    url = f"https://{name('idp')}.example.com/realm"
    thumb = "3768084dfb3d2b68b7897bf5f565da8efEXAMPLE"
    arn = iam.create_open_id_connect_provider(Url=url, ClientIDList=["app"], ThumbprintList=[thumb])[
        "OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::123456789012:oidc-provider/{url[len('https://'):]}"
    assert arn in [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert iam_error(iam.create_open_id_connect_provider, Url=url, ThumbprintList=[thumb])[1] == "EntityAlreadyExists"
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="other")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=["a" * 40])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert (got["Url"], got["ClientIDList"], got["ThumbprintList"]) == (url, ["other"], ["a" * 40])
    assert iam_error(iam.create_open_id_connect_provider, Url="ftp://x", ThumbprintList=[thumb])[1] == \
        "ValidationError"
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert iam_error(iam.get_open_id_connect_provider, OpenIDConnectProviderArn=arn)[:2] == (404, "NoSuchEntity")
    assert iam_error(iam.delete_open_id_connect_provider, OpenIDConnectProviderArn=arn)[1] == "NoSuchEntity"


def test_the_account_summary_counts_and_is_an_iam_permission(cluster, iam):
    before = iam.get_account_summary()["SummaryMap"]
    user, key = new_user(iam)
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert {"Groups", "UsersQuota", "GroupsQuota", "AccessKeysPerUserQuota"} <= set(after)
    as_user = iam_client(cluster, key["AccessKeyId"], key["SecretAccessKey"])
    assert iam_error(as_user.get_account_summary)[:2] == (403, "AccessDenied")
    iam.put_user_policy(UserName=user, PolicyName="sum", PolicyDocument=policy(allow("iam:GetAccountSummary", "*")))
    assert as_user.get_account_summary()["SummaryMap"]["Users"] == after["Users"]


def test_an_account_root_makes_and_drops_its_own_extra_keys(cluster, iam):
    created = iam.create_access_key()["AccessKey"]
    assert created["Status"] == "Active" and len(created["SecretAccessKey"]) == 40
    root = client_of(cluster, created)
    bucket = name("rootkeys")
    root.create_bucket(Bucket=bucket)       # the root's: owned by the account, as with its first key
    assert bucket in [b["Name"] for b in cluster.client().list_buckets()["Buckets"]]
    assert created["AccessKeyId"] in [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]]
    iam.update_access_key(AccessKeyId=created["AccessKeyId"], Status="Inactive")
    assert s3_error(root.list_buckets)[1] == "InvalidAccessKeyId"
    iam.delete_access_key(AccessKeyId=created["AccessKeyId"])
    assert iam_error(iam.delete_access_key, AccessKeyId=created["AccessKeyId"])[1] == "NoSuchEntity"
    cluster.client().delete_bucket(Bucket=bucket)


def test_every_aws_managed_policy_is_a_valid_identity_policy():
    for policy_name, record in aws_managed.POLICIES.items():
        parse_identity_policy(record.doc["versions"]["v1"]["document"], policy_name)


def test_aws_managed_policies_attach_by_arn_and_cannot_be_changed(cluster, iam):
    s3 = cluster.client()
    bucket = name("managed")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    user, key = new_user(iam)
    arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    reader = client_of(cluster, key)
    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert s3_error(reader.put_object, Bucket=bucket, Key="k2", Body=b"x")[1] == "AccessDenied"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == "AmazonS3ReadOnlyAccess"
    assert arn in [p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]]
    assert arn not in [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert iam_error(iam.delete_policy, PolicyArn=arn)[1] == "InvalidInput"
    assert iam_error(iam.attach_user_policy, UserName=user, PolicyArn="arn:aws:iam::aws:policy/NoSuch")[1] == \
        "NoSuchEntity"
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert s3_error(reader.get_object, Bucket=bucket, Key="k")[1] == "AccessDenied"


def test_an_acl_grant_to_an_account_serves_its_users_across_accounts_with_their_policies(cluster):
    owner, alt_iam = cluster.client(), iam_client(cluster, ALT_KEY, ALT_SECRET)
    bucket = name("xacct")
    owner.create_bucket(Bucket=bucket)
    owner.put_object(Bucket=bucket, Key="k", Body=b"v")
    owner.put_bucket_acl(Bucket=bucket, GrantRead=f"id={ALT_CANONICAL_ID}",
                         GrantFullControl="id=79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be")
    user, key = new_user(alt_iam)
    alt_user = client_of(cluster, key)
    assert s3_error(alt_user.list_objects, Bucket=bucket)[1] == "AccessDenied"     # its own policies: none
    alt_iam.put_user_policy(UserName=user, PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow("s3:*", "*")]}))
    assert [o["Key"] for o in alt_user.list_objects(Bucket=bucket)["Contents"]] == ["k"]
    with pytest.raises(ClientError):            # the grant is READ on the bucket: no writes
        alt_user.put_object(Bucket=bucket, Key="k2", Body=b"x")
    same_account_user, same_key = new_user(iam_client(cluster, ACCESS_KEY, SECRET_KEY))
    # within the owner's account, the owner's FULL_CONTROL grant is not a user's: its policies decide
    assert s3_error(client_of(cluster, same_key).list_objects, Bucket=bucket)[1] == "AccessDenied"
