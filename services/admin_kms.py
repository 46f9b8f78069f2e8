"""`coffer admin kms key create|list|info|disable|enable`: the KMS keys of the built-in key service.

Coffer's own calls on the IAM Query API (s3front/sse/admin_api.py), made with an account root's keys.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree


def _kms_key(el: ElementTree.Element) -> dict[str, Any]:
    return {"key": el.findtext("KeyId"), "state": el.findtext("KeyState"), "arn": el.findtext("Arn"),
            "created": el.findtext("CreationDate"), "description": el.findtext("Description") or ""}


def kms_key_create(a: Any, args: argparse.Namespace) -> Any:
    params = {"Description": args.description or ""}
    if args.name:
        params["KeyId"] = args.name
    return _kms_key(a.call("CreateKmsKey", **params).find("KeyMetadata"))


def kms_key_list(a: Any, args: argparse.Namespace) -> Any:
    return [_kms_key(el) for el in a.call("ListKmsKeys").findall("Keys/member")]


def kms_key_info(a: Any, args: argparse.Namespace) -> Any:
    return _kms_key(a.call("DescribeKmsKey", KeyId=args.name).find("KeyMetadata"))


def kms_key_status(enabled: bool) -> Callable[[Any, argparse.Namespace], Any]:
    def run(a: Any, args: argparse.Namespace) -> Any:
        action = "EnableKmsKey" if enabled else "DisableKmsKey"
        return _kms_key(a.call(action, KeyId=args.name).find("KeyMetadata"))
    return run


def add_kms_commands(groups: argparse._SubParsersAction, command: Callable) -> None:
    """The `kms key ...` commands, added to coffer admin's parser."""
    kms = groups.add_parser("kms", help="the built-in key service of SSE-KMS")
    kms = kms.add_subparsers(dest="kind", required=True)
    kms_key = kms.add_parser("key", help="KMS keys").add_subparsers(dest="command", required=True)
    key_name = (("name",), {"help": "the key's id (a name, or its ARN)"})
    command(kms_key, "create", kms_key_create, "create a random KMS key (named, else a fresh UUID)",
            (("name",), {"nargs": "?", "help": "the key's name"}), (("--description",), {}))
    command(kms_key, "list", kms_key_list, "list the KMS keys")
    command(kms_key, "info", kms_key_info, "show a KMS key", key_name)
    command(kms_key, "disable", kms_key_status(False), "stop a key making data keys (what it sealed still reads)",
            key_name)
    command(kms_key, "enable", kms_key_status(True), "let a disabled key make data keys again", key_name)
