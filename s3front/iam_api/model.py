"""IAM entities as stored documents and as the IAM API renders them; names, paths and ids as AWS checks them.

Stored documents (shared/contract/iam.py records) use these fields:
    user    path userId arn createDate enabled inline{} attached[] groups[] keys[] tags[]
    group   path groupId arn createDate inline{} attached[] members[]
    role    path roleId arn createDate trust description maxSession inline{} attached[] tags[]
    policy  path policyId arn createDate updateDate description defaultVersion versions{} nextVersion
            attachments
    key     account user secret(sealed) status createDate service(bool) policy name description
"""
from __future__ import annotations

import re
import secrets
import string
from typing import Any

from s3front.iam import PolicyError, PolicySizeError, check_size, parse_identity_policy
from s3front.iam_api.protocol import iso, lower_first, policy_document
from s3front.xml import Node
from shared import constants as C
from shared.errors import S3Error

_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_PATH = re.compile(r"/|/[\x21-\x7e]+/", re.ASCII)
_PATH_PREFIX = re.compile(r"/[\x21-\x7f]*", re.ASCII)      # a prefix need not end with "/"
_ID_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
ID_PREFIXES = {"user": "AIDA", "group": "AGPA", "role": "AROA", "policy": "ANPA", "key": "AKIA", "session": "ASIA"}
NAME_LIMITS = {"UserName": 64, "GroupName": 128, "RoleName": 64, "PolicyName": 128, "RoleSessionName": 64}


def new_id(kind: str) -> str:
    """A unique id in AWS's form: a 4-letter kind prefix, then 17 (access keys: 16) characters."""
    length = 16 if kind in ("key", "session") else 17
    return ID_PREFIXES[kind] + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_secret() -> str:
    """A 40-character secret access key."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def check_name(param: str, value: str) -> str:
    """A user, group, role or policy name: 1..N of [\\w+=,.@-]; ValidationError otherwise."""
    limit = NAME_LIMITS[param]
    if not 1 <= len(value) <= limit:
        raise S3Error("ValidationError", f"1 validation error detected: Value '{value}' at '{lower_first(param)}' "
                      f"failed to satisfy constraint: Member must have length less than or equal to {limit}")
    if not _NAME.fullmatch(value):
        raise S3Error("ValidationError", f"1 validation error detected: Value '{value}' at '{lower_first(param)}' "
                      "failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    return value


def check_path(value: str | None, param: str = "Path") -> str:
    """An IAM path: "/" or "/a/b/" (printable ASCII, at most 512 characters)."""
    if value is None:
        return "/"
    if param == "PathPrefix":
        if len(value) > 512 or not _PATH_PREFIX.fullmatch(value):
            raise S3Error("ValidationError", "The specified value for pathPrefix is invalid. It must begin "
                          "with / and contain only printable ASCII characters.")
        return value
    if len(value) > 512 or not _PATH.fullmatch(value):
        raise S3Error("ValidationError", f"The specified value for {lower_first(param)} is invalid. It must begin "
                      "and end with / and contain only alphanumeric characters and/or / characters.")
    return value


def arn(account: str, kind: str, path: str, name: str) -> str:
    """arn:aws:iam::ACCOUNT:user/PATH/NAME (and group, role, policy)."""
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


def policy_name_of(policy_arn: str, account: str) -> str | None:
    """The name of a customer managed policy of `account` from its ARN, None if the ARN is not one."""
    prefix = f"arn:aws:iam::{account}:policy/"
    if not policy_arn.startswith(prefix):
        return None
    name = policy_arn.rsplit("/", 1)[-1]
    return name if _NAME.fullmatch(name) else None


def check_tags(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    """Tags of a user or role: at most 50, keys 1..128 and values 0..256 characters, keys unique."""
    if len(tags) > C.IAM_MAX_TAGS:
        raise S3Error("LimitExceeded", f"The number of tags has reached the maximum limit of {C.IAM_MAX_TAGS}.")
    seen = set()
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value", "")
        if not key or len(key) > 128 or len(value) > 256:
            raise S3Error("ValidationError", "1 validation error detected: a tag key must have 1 to 128 "
                          "characters and a value at most 256")
        if key.lower() in seen:
            raise S3Error("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case "
                          "insensitive.")
        seen.add(key.lower())
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]


def merge_tags(current: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    """TagUser/TagRole: new values replace those of the same key (case-insensitively)."""
    keys = {t["Key"].lower() for t in new}
    return check_tags([t for t in current if t["Key"].lower() not in keys] + new)


def no_such(kind: str, name: str) -> S3Error:
    """NoSuchEntity in IAM's words."""
    words = {"user": "user", "group": "group", "role": "role", "policy": "policy", "key": "access key"}
    if kind == "policy":
        return S3Error("NoSuchEntity", f"Policy {name} does not exist or is not attachable.")
    return S3Error("NoSuchEntity", f"The {words[kind]} with name {name} cannot be found.")


def exists(kind: str, name: str) -> S3Error:
    words = {"user": "User", "group": "Group", "role": "Role", "policy": "A policy called"}
    if kind == "policy":
        return S3Error("EntityAlreadyExists", f"A policy called {name} already exists. Duplicate names are not "
                       "allowed.")
    return S3Error("EntityAlreadyExists", f"{words[kind]} with name {name} already exists.")


def check_document(text: str, kind: str = "managed", counted: str | None = None) -> str:
    """A policy document to store: MalformedPolicyDocument if AWS would refuse it, LimitExceeded if it
    (or `counted`: all the identity's inline documents together) is over the limit of `kind`."""
    try:
        parse_identity_policy(text)
        check_size(kind, text if counted is None else counted)
    except PolicySizeError as exc:
        raise S3Error("LimitExceeded", exc.message) from None
    except PolicyError as exc:
        raise S3Error("MalformedPolicyDocument", exc.message) from None
    return text


# -- rendering ---------------------------------------------------------------------------------------

def tags_xml(tags: list[dict[str, str]] | None) -> Node:
    return ("Tags", [("member", [("Key", t["Key"]), ("Value", t["Value"])]) for t in tags] if tags else None)


def user_xml(name: str, doc: dict[str, Any], tags: bool = False) -> list[Node]:
    out: list[Node] = [("Path", doc["path"]), ("UserName", name), ("UserId", doc["userId"]), ("Arn", doc["arn"]),
                       ("CreateDate", doc["createDate"])]
    return out + [tags_xml(doc.get("tags"))] if tags else out


def group_xml(name: str, doc: dict[str, Any]) -> list[Node]:
    return [("Path", doc["path"]), ("GroupName", name), ("GroupId", doc["groupId"]), ("Arn", doc["arn"]),
            ("CreateDate", doc["createDate"])]


def role_xml(name: str, doc: dict[str, Any], tags: bool = False) -> list[Node]:
    out: list[Node] = [("Path", doc["path"]), ("RoleName", name), ("RoleId", doc["roleId"]), ("Arn", doc["arn"]),
                       ("CreateDate", doc["createDate"]),
                       ("AssumeRolePolicyDocument", policy_document(doc["trust"])),
                       ("Description", doc.get("description") or None),
                       ("MaxSessionDuration", doc.get("maxSession", C.STS_DEFAULT_ROLE_MAX_SESSION_S))]
    return out + [tags_xml(doc.get("tags")), ("RoleLastUsed", [])] if tags else out


def policy_xml(name: str, doc: dict[str, Any]) -> list[Node]:
    return [("PolicyName", name), ("PolicyId", doc["policyId"]), ("Arn", doc["arn"]), ("Path", doc["path"]),
            ("DefaultVersionId", doc["defaultVersion"]), ("AttachmentCount", doc.get("attachments", 0)),
            ("PermissionsBoundaryUsageCount", 0), ("IsAttachable", True),
            ("Description", doc.get("description") or None), ("CreateDate", doc["createDate"]),
            ("UpdateDate", doc.get("updateDate", doc["createDate"]))]


def version_xml(version_id: str, version: dict[str, Any], default: str, document: bool = True) -> list[Node]:
    return [("Document", policy_document(version["document"]) if document else None), ("VersionId", version_id),
            ("IsDefaultVersion", version_id == default), ("CreateDate", version["createDate"])]


def key_xml(access_key: str, doc: dict[str, Any], secret: str | None = None) -> list[Node]:
    return [("UserName", doc["user"] or None), ("AccessKeyId", access_key), ("Status", doc["status"]),
            ("SecretAccessKey", secret), ("CreateDate", doc["createDate"])]


def now() -> str:
    return iso()
