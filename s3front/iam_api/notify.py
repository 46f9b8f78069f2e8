"""Coffer's own admin actions for bucket notification targets (`coffer admin notify|config`).

NotifyStatus (each target's state, queue depth, last error) and NotifyConfig (set, get, list,
reset of run-time target declarations) answer a JSON document inside the action's result; both
are for an account root alone, as targets serve the whole cluster. The metadata daemon keeps the
declarations and validates them (dmd/metadata/notify/notifier.py).
"""
from __future__ import annotations

import json

from s3front.iam import PrincipalKind
from s3front.iam_api.protocol import QueryRequest
from s3front.xml import Node
from shared.errors import S3Error

OPS = ("set", "get", "list", "reset")


def _root_only(q: QueryRequest) -> None:
    if q.principal.kind is not PrincipalKind.ROOT:
        raise S3Error("AccessDenied", f"User: {q.principal.arn} is not authorized to perform: {q.action} "
                                      "(notification targets are an account root's)")


async def notify_status(q: QueryRequest) -> list[Node]:
    _root_only(q)
    return [("Document", json.dumps(await q.frontend.metadata.notify_status()))]


async def notify_config(q: QueryRequest) -> list[Node]:
    _root_only(q)
    op = q.require("Op")
    if op not in OPS:
        raise S3Error("ValidationError", f"Op must be one of {', '.join(OPS)}, not {op!r}")
    try:
        settings = json.loads(q.get("Settings") or "{}")
    except ValueError:
        raise S3Error("ValidationError", "Settings must be a JSON object of key: value") from None
    if not isinstance(settings, dict):
        raise S3Error("ValidationError", "Settings must be a JSON object of key: value")
    result = await q.frontend.metadata.notify_config(op, q.get("Target") or "", {k: str(v) for k, v in settings.items()})
    return [("Document", json.dumps(result))]


ACTIONS = {"NotifyStatus": (notify_status, None), "NotifyConfig": (notify_config, None)}
