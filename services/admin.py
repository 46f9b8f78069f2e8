"""`coffer admin`: manage users, groups, policies, service accounts, anonymous access, notification
targets and the KMS keys of SSE-KMS (`coffer admin kms key create|list|info|disable|enable`), as MinIO's
`mc admin user|group|policy|svcacct|config` and `mc anonymous` do, over the IAM API of any front-end.

It speaks AWS's IAM API (boto3's iam client; Coffer's own actions, service accounts and user
status, through the same signed Query protocol) and S3's bucket policy calls, with an account's
root keys, so it works against a remote cluster as well as a local one.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from xml.etree import ElementTree

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from s3front.iam import LEVELS, anonymous_level, canned_policy_json, parse_bucket_policy
from services import admin_notify as N
from services.admin_kms import add_kms_commands
from services.admin_output import table

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
REGION = "us-east-1"


class AdminError(Exception):
    """A refused call: the server's code and message."""


class Admin:
    """The clients of one endpoint and key pair."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.credentials = Credentials(access_key, secret_key)
        session = dict(endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=access_key,
                       aws_secret_access_key=secret_key)
        self.iam = boto3.client("iam", **session)
        self.s3 = boto3.client("s3", **session)

    def call(self, action: str, **params: str) -> ElementTree.Element:
        """A Coffer action of the IAM Query API (not in boto3's model): its Result element."""
        fields = {"Action": action, "Version": "2010-05-08", **params}
        body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())
        request = AWSRequest("POST", self.endpoint + "/", data=body.encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(self.credentials, "iam", REGION).add_auth(request)
        answer = httpx.post(self.endpoint + "/", content=body.encode(), headers=dict(request.headers), timeout=30)
        root = _strip(ElementTree.fromstring(answer.content))
        if answer.status_code != 200:
            raise AdminError(f"{root.findtext('Error/Code')}: {root.findtext('Error/Message')}")
        return root.find(f"{action}Result") if root.find(f"{action}Result") is not None else root


def _strip(root: ElementTree.Element) -> ElementTree.Element:
    for el in root.iter():
        el.tag = el.tag.split("}", 1)[-1]
    return root


# -- users -------------------------------------------------------------------------------------------------

def user_add(a: Admin, args: argparse.Namespace) -> Any:
    a.iam.create_user(UserName=args.name)
    key = a.iam.create_access_key(UserName=args.name)["AccessKey"]
    return {"user": args.name, "accessKey": key["AccessKeyId"], "secretKey": key["SecretAccessKey"]}


def user_remove(a: Admin, args: argparse.Namespace) -> Any:
    """Everything of the user goes: keys, service accounts, policies, group memberships, then the user."""
    name = args.name
    for key in a.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        a.iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in a.iam.list_user_policies(UserName=name)["PolicyNames"]:
        a.iam.delete_user_policy(UserName=name, PolicyName=policy)
    for attached in a.iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
        a.iam.detach_user_policy(UserName=name, PolicyArn=attached["PolicyArn"])
    for group in a.iam.list_groups_for_user(UserName=name)["Groups"]:
        a.iam.remove_user_from_group(GroupName=group["GroupName"], UserName=name)
    a.iam.delete_user(UserName=name)
    return {"removed": name}


def user_list(a: Admin, args: argparse.Namespace) -> Any:
    return [{"user": u["UserName"], "arn": u["Arn"], "created": str(u["CreateDate"])}
            for u in _all(a.iam.list_users, "Users")]


def user_info(a: Admin, args: argparse.Namespace) -> Any:
    name = args.name
    user = a.iam.get_user(UserName=name)["User"]
    return {"user": name, "arn": user["Arn"], "id": user["UserId"],
            "groups": [g["GroupName"] for g in a.iam.list_groups_for_user(UserName=name)["Groups"]],
            "policies": [p["PolicyName"] for p in a.iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]],
            "inline": a.iam.list_user_policies(UserName=name)["PolicyNames"],
            "keys": [f"{k['AccessKeyId']} ({k['Status']})"
                     for k in a.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]]}


def user_status(enabled: bool) -> Callable[[Admin, argparse.Namespace], Any]:
    def run(a: Admin, args: argparse.Namespace) -> Any:
        a.call("EnableUser" if enabled else "DisableUser", UserName=args.name)
        return {"user": args.name, "status": "enabled" if enabled else "disabled"}
    return run


# -- groups ------------------------------------------------------------------------------------------------

def group_add(a: Admin, args: argparse.Namespace) -> Any:
    """Create the group if needed, and add the members."""
    try:
        a.iam.create_group(GroupName=args.group)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    for member in args.members:
        a.iam.add_user_to_group(GroupName=args.group, UserName=member)
    return {"group": args.group, "added": args.members}


def group_remove(a: Admin, args: argparse.Namespace) -> Any:
    """Remove the members; without members, the (empty) group itself."""
    for member in args.members:
        a.iam.remove_user_from_group(GroupName=args.group, UserName=member)
    if not args.members:
        for attached in a.iam.list_attached_group_policies(GroupName=args.group)["AttachedPolicies"]:
            a.iam.detach_group_policy(GroupName=args.group, PolicyArn=attached["PolicyArn"])
        a.iam.delete_group(GroupName=args.group)
    return {"group": args.group, "removed": args.members or "group"}


def group_list(a: Admin, args: argparse.Namespace) -> Any:
    return [{"group": g["GroupName"], "arn": g["Arn"]} for g in _all(a.iam.list_groups, "Groups")]


def group_info(a: Admin, args: argparse.Namespace) -> Any:
    got = a.iam.get_group(GroupName=args.group)
    attached = a.iam.list_attached_group_policies(GroupName=args.group)["AttachedPolicies"]
    return {"group": args.group, "arn": got["Group"]["Arn"], "members": [u["UserName"] for u in got["Users"]],
            "policies": [p["PolicyName"] for p in attached]}


# -- policies ----------------------------------------------------------------------------------------------

def _policy_arn(a: Admin, name: str) -> str:
    if name.startswith("arn:"):
        return name
    account = a.iam.get_user()["User"]["Arn"].split(":")[4]
    return f"arn:aws:iam::{account}:policy/{name}"


def policy_create(a: Admin, args: argparse.Namespace) -> Any:
    document = Path(args.file).read_text()
    made = a.iam.create_policy(PolicyName=args.name, PolicyDocument=document)["Policy"]
    return {"policy": args.name, "arn": made["Arn"]}


def policy_remove(a: Admin, args: argparse.Namespace) -> Any:
    arn = _policy_arn(a, args.name)
    for version in a.iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            a.iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    a.iam.delete_policy(PolicyArn=arn)
    return {"removed": args.name}


def policy_list(a: Admin, args: argparse.Namespace) -> Any:
    return [{"policy": p["PolicyName"], "arn": p["Arn"], "attachments": p["AttachmentCount"]}
            for p in _all(a.iam.list_policies, "Policies")]


def policy_info(a: Admin, args: argparse.Namespace) -> Any:
    arn = _policy_arn(a, args.name)
    policy = a.iam.get_policy(PolicyArn=arn)["Policy"]
    version = a.iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    return {"policy": policy["PolicyName"], "arn": arn, "version": policy["DefaultVersionId"],
            "attachments": policy["AttachmentCount"], "document": version["Document"]}


def policy_attachment(attach: bool) -> Callable[[Admin, argparse.Namespace], Any]:
    def run(a: Admin, args: argparse.Namespace) -> Any:
        if bool(args.user) == bool(args.group):
            raise AdminError("name exactly one of --user and --group")
        verb = "attach" if attach else "detach"
        for name in args.names:
            arn = _policy_arn(a, name)
            if args.user:
                getattr(a.iam, f"{verb}_user_policy")(UserName=args.user, PolicyArn=arn)
            else:
                getattr(a.iam, f"{verb}_group_policy")(GroupName=args.group, PolicyArn=arn)
        return {verb + "ed": args.names, "to": args.user or args.group}
    return run


# -- service accounts --------------------------------------------------------------------------------------

def svcacct_add(a: Admin, args: argparse.Namespace) -> Any:
    params = {"UserName": args.user}
    for flag, param in (("svc_access_key", "AccessKey"), ("svc_secret_key", "SecretKey"), ("name", "Name"),
                        ("description", "Description")):
        if getattr(args, flag):
            params[param] = getattr(args, flag)
    if args.policy:
        params["Policy"] = Path(args.policy).read_text()
    creds = a.call("CreateServiceAccount", **params).find("Credentials")
    return {"accessKey": creds.findtext("AccessKeyId"), "secretKey": creds.findtext("SecretAccessKey")}


def _service_account(el: ElementTree.Element) -> dict[str, Any]:
    return {"accessKey": el.findtext("AccessKeyId"), "user": el.findtext("UserName"), "status": el.findtext("Status"),
            "name": el.findtext("Name") or "", "created": el.findtext("CreateDate")}


def svcacct_list(a: Admin, args: argparse.Namespace) -> Any:
    result = a.call("ListServiceAccounts", UserName=args.user)
    return [_service_account(m) for m in result.findall("ServiceAccounts/member")]


def svcacct_info(a: Admin, args: argparse.Namespace) -> Any:
    el = a.call("GetServiceAccount", AccessKeyId=args.key).find("ServiceAccount")
    info = _service_account(el)
    info["policy"] = json.loads(unquote(el.findtext("Policy"))) if el.findtext("Policy") else "(the user's)"
    return info


def svcacct_remove(a: Admin, args: argparse.Namespace) -> Any:
    a.call("DeleteServiceAccount", AccessKeyId=args.key)
    return {"removed": args.key}


def svcacct_status(enabled: bool) -> Callable[[Admin, argparse.Namespace], Any]:
    def run(a: Admin, args: argparse.Namespace) -> Any:
        a.call("UpdateServiceAccount", AccessKeyId=args.key, Status="Active" if enabled else "Inactive")
        return {"accessKey": args.key, "status": "enabled" if enabled else "disabled"}
    return run


# -- anonymous access --------------------------------------------------------------------------------------

def _target(text: str) -> tuple[str, str]:
    bucket, _, prefix = text.partition("/")
    return bucket, prefix


def anonymous_set(a: Admin, args: argparse.Namespace) -> Any:
    """Write the canned bucket policy of a level (none: delete the bucket's policy)."""
    bucket, prefix = _target(args.target)
    document = canned_policy_json(args.level, bucket, prefix)
    if document is None:
        a.s3.delete_bucket_policy(Bucket=bucket)
    else:
        a.s3.put_bucket_policy(Bucket=bucket, Policy=document)
    return {"bucket": bucket, "prefix": prefix, "level": args.level}


def anonymous_get(a: Admin, args: argparse.Namespace) -> Any:
    bucket, prefix = _target(args.target)
    try:
        text = a.s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
        return {"bucket": bucket, "prefix": prefix, "level": "none"}
    return {"bucket": bucket, "prefix": prefix, "level": anonymous_level(parse_bucket_policy(text, bucket), bucket,
                                                                          prefix)}


# -- the command line --------------------------------------------------------------------------------------

def _all(call: Callable[..., dict], field: str) -> list[dict]:
    items, marker = [], None
    while True:
        page = call(**({"Marker": marker} if marker else {}))
        items += page[field]
        if not page.get("IsTruncated"):
            return items
        marker = page["Marker"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coffer admin", description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", default=os.environ.get("COFFER_ENDPOINT", DEFAULT_ENDPOINT),
                   help=f"a front-end's URL (COFFER_ENDPOINT, default {DEFAULT_ENDPOINT})")
    p.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID"), help="an account's root access key "
                   "(AWS_ACCESS_KEY_ID)")
    p.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"),
                   help="its secret (AWS_SECRET_ACCESS_KEY)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    groups = p.add_subparsers(dest="area", required=True)

    def command(area: argparse._SubParsersAction, name: str, run: Callable, help_text: str,
                *arguments: tuple[tuple, dict]) -> None:
        sub = area.add_parser(name, help=help_text, description=help_text)
        for names, options in arguments:
            sub.add_argument(*names, **options)
        sub.set_defaults(run=run)

    user = groups.add_parser("user", help="IAM users").add_subparsers(dest="command", required=True)
    named = (("name",), {"help": "the user's name"})
    command(user, "add", user_add, "create a user with an access key", named)
    command(user, "remove", user_remove, "remove a user, its keys, policies and memberships", named)
    command(user, "list", user_list, "list the users")
    command(user, "info", user_info, "show a user's groups, policies and keys", named)
    command(user, "enable", user_status(True), "let a disabled user's keys work again", named)
    command(user, "disable", user_status(False), "refuse every key of a user", named)

    group = groups.add_parser("group", help="IAM groups").add_subparsers(dest="command", required=True)
    command(group, "add", group_add, "create a group (if needed) and add members",
            (("group",), {}), (("members",), {"nargs": "*"}))
    command(group, "remove", group_remove, "remove members; without members, the group",
            (("group",), {}), (("members",), {"nargs": "*"}))
    command(group, "list", group_list, "list the groups")
    command(group, "info", group_info, "show a group's members and policies", (("group",), {}))

    policy = groups.add_parser("policy", help="managed policies").add_subparsers(dest="command", required=True)
    command(policy, "create", policy_create, "create a policy from a JSON file", (("name",), {}), (("file",), {}))
    command(policy, "remove", policy_remove, "remove a policy", (("name",), {}))
    command(policy, "list", policy_list, "list the policies")
    command(policy, "info", policy_info, "show a policy's document", (("name",), {}))
    for verb, attach in (("attach", True), ("detach", False)):
        command(policy, verb, policy_attachment(attach), f"{verb} policies to a user or a group",
                (("names",), {"nargs": "+"}), (("--user",), {}), (("--group",), {}))

    svc = groups.add_parser("svcacct", help="service accounts").add_subparsers(dest="command", required=True)
    command(svc, "add", svcacct_add, "add a service account to a user", (("user",), {}),
            (("--access-key",), {"dest": "svc_access_key"}), (("--secret-key",), {"dest": "svc_secret_key"}),
            (("--policy",), {"help": "a JSON file narrowing it"}),
            (("--name",), {}), (("--description",), {}))
    command(svc, "list", svcacct_list, "list a user's service accounts", (("user",), {}))
    key = (("key",), {"help": "the service account's access key"})
    command(svc, "info", svcacct_info, "show a service account", key)
    command(svc, "remove", svcacct_remove, "remove a service account", key)
    command(svc, "enable", svcacct_status(True), "enable a service account", key)
    command(svc, "disable", svcacct_status(False), "disable a service account", key)

    add_kms_commands(groups, command)

    anon = groups.add_parser("anonymous", help="anonymous access to a bucket").add_subparsers(dest="command",
                                                                                            required=True)
    target = (("target",), {"help": "BUCKET or BUCKET/PREFIX"})
    command(anon, "set", anonymous_set, "write the bucket policy of an anonymous access level",
            (("level",), {"choices": LEVELS}), target)
    command(anon, "get", anonymous_get, "show the anonymous access level of a bucket", target)

    notify = groups.add_parser("notify", help="bucket notification targets").add_subparsers(dest="command",
                                                                                          required=True)
    command(notify, "status", N.notify_status, "each target's state, queue depth and last error")
    conf = groups.add_parser("config", help="run-time configuration (notify_TYPE:ID targets)").add_subparsers(
        dest="command", required=True)
    named_target = (("target",), {"help": "notify_TYPE:ID, e.g. notify_webhook:primary"})
    command(conf, "set", N.config_set, "declare or change a target (takes effect at once)", named_target,
            (("pairs",), {"nargs": "*", "metavar": "key=value"}))
    command(conf, "get", N.config_get, "show a target's settings (secrets masked)", named_target)
    command(conf, "list", N.config_list, "list the targets")
    command(conf, "reset", N.config_reset, "forget a target's run-time settings", named_target)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.access_key or not args.secret_key:
        print("coffer admin: give an account's keys (--access-key/--secret-key or AWS_ACCESS_KEY_ID/"
              "AWS_SECRET_ACCESS_KEY)", file=sys.stderr)
        return 2
    admin = Admin(args.endpoint, args.access_key, args.secret_key)
    try:
        result = args.run(admin, args)
    except ClientError as exc:
        print(f"coffer admin: {exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}",
              file=sys.stderr)
        return 1
    except (AdminError, OSError) as exc:
        print(f"coffer admin: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str) if args.json else table(result))
    return 0
