"""`coffer admin notify status` and `coffer admin config set|get|list|reset notify_TYPE:ID`: notification
targets, over Coffer's NotifyStatus and NotifyConfig actions (s3front/iam_api/notify.py)."""
from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

if TYPE_CHECKING:
    from services.admin import Admin


def notify_status(a: Admin, args: argparse.Namespace) -> Any:
    rows = _document(a.call("NotifyStatus"))
    return [{k: r.get(k, "") for k in ("target", "state", "queued", "delivered", "dropped", "failures", "lastError")}
            for r in rows]


def _settings(pairs: list[str]) -> dict[str, str]:
    from services.admin import AdminError    # noqa: PLC0415 - services.admin imports this module
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise AdminError(f"expected key=value, not {pair!r}")
        settings[key] = value
    return settings


def config_set(a: Admin, args: argparse.Namespace) -> Any:
    return _document(a.call("NotifyConfig", Op="set", Target=args.target, Settings=json.dumps(_settings(args.pairs))))


def config_get(a: Admin, args: argparse.Namespace) -> Any:
    found = _document(a.call("NotifyConfig", Op="get", Target=args.target))
    return {"target": found["target"], "arn": found["arn"], "source": found["source"], **found["settings"]}


def config_list(a: Admin, args: argparse.Namespace) -> Any:
    return [{"target": t["target"], "arn": t["arn"], "source": t["source"]}
            for t in _document(a.call("NotifyConfig", Op="list"))]


def config_reset(a: Admin, args: argparse.Namespace) -> Any:
    return _document(a.call("NotifyConfig", Op="reset", Target=args.target)) or {"reset": args.target}


def _document(result: ElementTree.Element) -> Any:
    return json.loads(result.findtext("Document") or "null")
