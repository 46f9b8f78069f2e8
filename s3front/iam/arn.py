"""ARNs: the forms a policy may name as a resource or a principal, and the ARNs of Coffer's principals.

Principal values take no wildcards but the lone `*` (AWS: "You cannot use a wildcard to match part
of a principal name or ARN"); an account id stands for the account's root ARN.
"""
from __future__ import annotations

import re

PARTITION = "aws"
S3_PREFIX = "arn:aws:s3:::"
ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
CANONICAL_ID = re.compile(r"[0-9a-f]{64}", re.ASCII)
_NAME = r"[\w+=,.@-]{1,128}"
_PATH = r"(?:/|/[\x21-\x7e]*/)?"                  # IAM paths: "/" or "/division/team/"
_PRINCIPAL = re.compile(
    r"arn:aws:(?:"
    rf"iam::(\d{{12}}):(?:root|user{_PATH}{_NAME}|role{_PATH}{_NAME})"
    rf"|sts::(\d{{12}}):(?:assumed-role/{_NAME}/[\w+=,.@-]{{2,64}}|federated-user/{_NAME})"
    r")", re.ASCII)
_ARN = re.compile(r"arn:[^:\s]+:[^:\s]+:[^:\s]*:[^:\s]*:.+", re.DOTALL)


def root_arn(account: str) -> str:
    """The ARN of an account's root user, which is also how a policy names the account."""
    return f"arn:{PARTITION}:iam::{account}:root"


def user_arn(account: str, name: str, path: str = "/") -> str:
    """The ARN of an IAM user."""
    return f"arn:{PARTITION}:iam::{account}:user{path}{name}"


def role_arn(account: str, name: str, path: str = "/") -> str:
    """The ARN of an IAM role."""
    return f"arn:{PARTITION}:iam::{account}:role{path}{name}"


def session_arn(account: str, role: str, session: str) -> str:
    """The ARN of an assumed-role session (the role's name, without its path)."""
    return f"arn:{PARTITION}:sts::{account}:assumed-role/{role}/{session}"


def bucket_arn(bucket: str) -> str:
    """arn:aws:s3:::bucket"""
    return S3_PREFIX + bucket


def object_arn(bucket: str, key: str) -> str:
    """arn:aws:s3:::bucket/key"""
    return f"{S3_PREFIX}{bucket}/{key}"


def is_arn(text: str) -> bool:
    """Whether `text` has the six parts of an ARN (arn:partition:service:region:account:resource)."""
    return _ARN.fullmatch(text) is not None


def aws_principal(value: str) -> str | None:
    """The normal form of an "AWS" principal value ("*", or an ARN; an account id becomes its root
    ARN), or None if AWS would refuse it."""
    if value == "*":
        return value
    if ACCOUNT_ID.fullmatch(value):
        return root_arn(value)
    if _PRINCIPAL.fullmatch(value):
        return value
    return None


def principal_account(arn: str) -> str:
    """The account id inside a principal ARN."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""
