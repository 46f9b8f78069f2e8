"""Coffer's own calls for the built-in key service, on the IAM Query API (`coffer admin kms key ...`).

CreateKmsKey (KeyId, Description), ListKmsKeys, DescribeKmsKey, DisableKmsKey and EnableKmsKey
(KeyId). The keys belong to the whole cluster, so only an account root may make these calls. The
key material never leaves the server: answers carry ids, ARNs, states and dates only.
"""
from __future__ import annotations

import datetime as dt

from s3front.iam import PrincipalKind
from s3front.iam_api.protocol import QueryRequest
from s3front.sse.context import LazyKms
from s3front.sse.kms import KeyInfo
from s3front.xml import Node
from shared.errors import S3Error

_NOT_CONFIGURED = "The key service is off: this server has no master key (COFFER_KMS_MASTER_KEY)."


def _kms(q: QueryRequest) -> LazyKms:
    if q.principal.kind is not PrincipalKind.ROOT:
        raise S3Error("AccessDenied", "Only an account root may manage the KMS keys of the cluster.")
    kms = q.frontend.sse.kms
    if kms is None:
        raise S3Error("ServiceFailure", _NOT_CONFIGURED, status=501)
    return kms


def _key_node(info: KeyInfo) -> list[Node]:
    created = dt.datetime.fromtimestamp(info.created, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [("KeyId", info.key_id), ("Arn", info.arn), ("Enabled", info.enabled),
            ("KeyState", "Enabled" if info.enabled else "Disabled"), ("Description", info.description),
            ("CreationDate", created)]


async def create_key(q: QueryRequest) -> list[Node]:
    try:
        info = await _kms(q).create_key(q.get("KeyId") or None, q.get("Description") or "")
    except ValueError as exc:
        raise S3Error("ValidationError", str(exc)) from None
    return [("KeyMetadata", _key_node(info))]


async def list_keys(q: QueryRequest) -> list[Node]:
    return [("Keys", [("member", _key_node(info)) for info in await _kms(q).list_keys()])]


async def describe_key(q: QueryRequest) -> list[Node]:
    return [("KeyMetadata", _key_node(await _kms(q).describe_key(q.require("KeyId"))))]


async def disable_key(q: QueryRequest) -> list[Node]:
    return [("KeyMetadata", _key_node(await _kms(q).disable_key(q.require("KeyId"))))]


async def enable_key(q: QueryRequest) -> list[Node]:
    return [("KeyMetadata", _key_node(await _kms(q).enable_key(q.require("KeyId"))))]


ACTIONS = {
    "CreateKmsKey": (create_key, None), "ListKmsKeys": (list_keys, None), "DescribeKmsKey": (describe_key, None),
    "DisableKmsKey": (disable_key, None), "EnableKmsKey": (enable_key, None),
}
