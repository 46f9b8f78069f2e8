"""IAM users' keys on the S3 API: they authenticate (SigV4, SigV2), and do only what their policies
allow; deny wins; deactivated, deleted and disabled keys are refused through every front-end;
service accounts are narrowed by their own policy."""
from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from tests.expect import s3_error
from tests.test_iam_api import iam_client, iam_error, name, signed_post


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resources) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def deny(actions, resources) -> dict:
    return {"Effect": "Deny", "Action": actions, "Resource": resources}


@pytest.fixture(scope="module")
def iam(cluster):
    return iam_client(cluster)


def new_user(iam, *inline: str) -> tuple[str, dict]:
    """A user with a key and the given inline policies: (name, key)."""
    user = name("acc")
    iam.create_user(UserName=user)
    for i, text in enumerate(inline):
        iam.put_user_policy(UserName=user, PolicyName=f"p{i}", PolicyDocument=text)
    return user, iam.create_access_key(UserName=user)["AccessKey"]


def client_of(cluster, key: dict, i: int = 0, **config):
    return cluster.client(key["AccessKeyId"], key["SecretAccessKey"], i=i, **config)


def refused_within(call, code: str, seconds: float = 3.0) -> bool:
    """Whether `call` fails with `code` within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            call()
        except ClientError as exc:
            if exc.response["Error"]["Code"] == code:
                return True
            raise
        time.sleep(0.1)
    return False


def test_a_policy_on_a_prefix_opens_that_prefix_and_nothing_else(cluster, iam, s3, bucket):
    s3.put_object(Bucket=bucket, Key="public/a", Body=b"shared")
    s3.put_object(Bucket=bucket, Key="private/b", Body=b"secret")
    _, key = new_user(iam, policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/public/*")))
    alice = client_of(cluster, key)
    assert alice.get_object(Bucket=bucket, Key="public/a")["Body"].read() == b"shared"
    assert s3_error(alice.get_object, Bucket=bucket, Key="private/b") == (403, "AccessDenied")
    assert s3_error(alice.put_object, Bucket=bucket, Key="public/c", Body=b"x") == (403, "AccessDenied")
    assert s3_error(alice.list_objects_v2, Bucket=bucket) == (403, "AccessDenied")
    assert s3_error(alice.list_buckets) == (403, "AccessDenied")
    assert s3_error(alice.delete_bucket, Bucket=bucket) == (403, "AccessDenied")


def test_a_user_without_policies_may_do_nothing_even_in_its_accounts_buckets(cluster, iam, bucket):
    _, key = new_user(iam)
    nobody = client_of(cluster, key)
    assert s3_error(nobody.head_bucket, Bucket=bucket) == (403, "403")
    assert s3_error(nobody.put_object, Bucket=bucket, Key="k", Body=b"x") == (403, "AccessDenied")
    assert s3_error(nobody.create_bucket, Bucket=name("nobodys-bucket")) == (403, "AccessDenied")


def test_deny_beats_allow_across_group_and_user_policies(cluster, iam, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    group = name("writers")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="all", PolicyDocument=policy(allow("s3:*", "*")))
    user, key = new_user(iam, policy(deny("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*")))
    iam.add_user_to_group(GroupName=group, UserName=user)
    bob = client_of(cluster, key)
    assert bob.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    bob.put_object(Bucket=bucket, Key="by-bob", Body=b"b")
    assert s3.get_object(Bucket=bucket, Key="by-bob")["Body"].read() == b"b"
    assert s3_error(bob.delete_object, Bucket=bucket, Key="by-bob") == (403, "AccessDenied")
    assert [o["Key"] for o in bob.list_objects_v2(Bucket=bucket)["Contents"]] == ["by-bob", "k"]


def test_managed_policies_attached_to_a_group_apply_to_its_members(cluster, iam, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    document = policy(allow(["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))
    arn = iam.create_policy(PolicyName=name("read"), PolicyDocument=document)["Policy"]["Arn"]
    group = name("readers")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    user, key = new_user(iam)
    iam.add_user_to_group(GroupName=group, UserName=user)
    carol = client_of(cluster, key)
    assert carol.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert carol.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    assert s3_error(carol.put_object, Bucket=bucket, Key="k2", Body=b"x") == (403, "AccessDenied")


def test_sigv2_signed_requests_of_a_user_work(cluster, iam, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    _, key = new_user(iam, policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    v2 = client_of(cluster, key, signature_version="s3")
    assert v2.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    assert s3_error(v2.put_object, Bucket=bucket, Key="k", Body=b"x") == (403, "AccessDenied")


def test_objects_a_user_writes_belong_to_its_account(cluster, iam, s3, bucket):
    _, key = new_user(iam, policy(allow("s3:PutObject", f"arn:aws:s3:::{bucket}/*")))
    client_of(cluster, key).put_object(Bucket=bucket, Key="mine", Body=b"x")
    owner = s3.get_object_acl(Bucket=bucket, Key="mine")["Owner"]
    assert owner["ID"] == s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]


def test_iam_calls_by_a_user_need_iam_permissions(cluster, iam):
    _, key = new_user(iam)
    user_iam = iam_client(cluster, key["AccessKeyId"], key["SecretAccessKey"])
    assert iam_error(user_iam.list_users) == (403, "AccessDenied", "Sender")
    admin, admin_key = new_user(iam, policy(allow("iam:*", "*")))
    admin_iam = iam_client(cluster, admin_key["AccessKeyId"], admin_key["SecretAccessKey"])
    assert admin in [u["UserName"] for u in admin_iam.list_users()["Users"]]
    assert admin_iam.get_user()["User"]["UserName"] == admin


def test_service_accounts_are_narrowed_by_their_policy_and_go_with_their_user(cluster, iam, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a/1", Body=b"1")
    s3.put_object(Bucket=bucket, Key="b/2", Body=b"2")
    user, _ = new_user(iam, policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    narrow = policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/a/*"))
    made = signed_post(cluster, f"Action=CreateServiceAccount&Version=2010-05-08&UserName={user}"
                                f"&Policy={quote(narrow)}")
    assert made.status_code == 200, made.text
    access = made.text.split("<AccessKeyId>")[1].split("<")[0]
    secret = made.text.split("<SecretAccessKey>")[1].split("<")[0]
    svc = cluster.client(access, secret)
    assert svc.get_object(Bucket=bucket, Key="a/1")["Body"].read() == b"1"
    assert s3_error(svc.get_object, Bucket=bucket, Key="b/2") == (403, "AccessDenied")   # the user may, the key not
    listed = signed_post(cluster, f"Action=ListServiceAccounts&Version=2010-05-08&UserName={user}")
    assert access in listed.text
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]["AccessKeyId"] != access
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    iam.delete_user_policy(UserName=user, PolicyName="p0")
    iam.delete_user(UserName=user)
    assert refused_within(lambda: svc.get_object(Bucket=bucket, Key="a/1"), "InvalidAccessKeyId")


def refused_now(call, code: str) -> bool:
    """Whether `call` fails with `code` at once."""
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"] == code
    return False


def test_deactivated_deleted_and_disabled_keys_are_refused_by_every_frontend_at_once(fresh_cluster):
    """Each front-end forgets what it cached of identities before an IAM change is acknowledged, so
    no front-end accepts a key a moment too long (nor refuses a re-enabled one)."""
    c = fresh_cluster(frontends=2)
    iam = iam_client(c)
    s3 = c.client()
    s3.create_bucket(Bucket="both")
    s3.put_object(Bucket="both", Key="k", Body=b"v")
    user, key = new_user(iam, policy(allow("s3:GetObject", "arn:aws:s3:::both/*")))
    clients = [client_of(c, key, i) for i in (0, 1)]
    for client in clients:
        assert client.get_object(Bucket="both", Key="k")["Body"].read() == b"v"
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    for client in clients:
        assert refused_now(lambda: client.get_object(Bucket="both", Key="k"), "InvalidAccessKeyId")
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Active")
    for client in clients:
        assert client.get_object(Bucket="both", Key="k")["Body"].read() == b"v"
    assert signed_post(c, f"Action=DisableUser&Version=2010-05-08&UserName={user}").status_code == 200
    for client in clients:
        assert refused_now(lambda: client.get_object(Bucket="both", Key="k"), "InvalidAccessKeyId")
    assert signed_post(c, f"Action=EnableUser&Version=2010-05-08&UserName={user}").status_code == 200
    assert clients[1].get_object(Bucket="both", Key="k")["Body"].read() == b"v"
    iam.put_user_policy(UserName=user, PolicyName="p1", PolicyDocument=policy(deny("s3:*", "*")))
    for client in clients:
        assert refused_now(lambda: client.get_object(Bucket="both", Key="k"), "AccessDenied")
    iam.delete_user_policy(UserName=user, PolicyName="p1")
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    for client in clients:
        assert refused_now(lambda: client.get_object(Bucket="both", Key="k"), "InvalidAccessKeyId")
