"""The AWS Query protocol as IAM and STS speak it: form parameters in, XML documents out.

A call is `Action=CreateUser&Version=2010-05-08&UserName=...` (POST form body, or the query
string); its answer `<CreateUserResponse><CreateUserResult>...</CreateUserResult>
<ResponseMetadata><RequestId>` and its errors `<ErrorResponse><Error><Type>Sender</Type><Code>...`,
in the service's namespace (IAM API reference, "Common Errors"; STS likewise).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from s3front.iam import Policy, Principal
from s3front.xml import Node, escape, render
from shared.config import Account
from shared.errors import S3Error

if TYPE_CHECKING:
    from s3front.frontend import Frontend

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
NAMESPACES = {"iam": IAM_NS, "sts": STS_NS}
_MEMBER = re.compile(r"^(.+)\.member\.(\d+)(?:\.(.+))?$")


@dataclass
class QueryRequest:
    """One IAM or STS call, authenticated."""

    service: str                    # "iam" or "sts"
    action: str
    params: dict[str, str]
    account: Account                # the owning account (with the caller's key)
    principal: Principal
    session_policies: tuple[Policy, ...]
    frontend: "Frontend"
    request_id: str
    source_ip: str = ""

    @property
    def account_id(self) -> str:
        return self.account.account_id

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def require(self, name: str) -> str:
        """A required parameter; ValidationError naming it when it is missing."""
        value = self.params.get(name)
        if value is None or value == "":
            raise S3Error("ValidationError", f"1 validation error detected: Value null at '{lower_first(name)}' "
                          "failed to satisfy constraint: Member must not be null")
        return value

    def members(self, name: str) -> list[str]:
        """`Name.member.1`, `Name.member.2`, ... in order."""
        found = []
        for key, value in self.params.items():
            m = _MEMBER.match(key)
            if m and m.group(1) == name and m.group(3) is None:
                found.append((int(m.group(2)), value))
        return [v for _, v in sorted(found)]

    def member_maps(self, name: str) -> list[dict[str, str]]:
        """`Name.member.1.Key=..&Name.member.1.Value=..` as [{"Key": .., "Value": ..}, ...]."""
        found: dict[int, dict[str, str]] = {}
        for key, value in self.params.items():
            m = _MEMBER.match(key)
            if m and m.group(1) == name and m.group(3) is not None:
                found.setdefault(int(m.group(2)), {})[m.group(3)] = value
        return [found[i] for i in sorted(found)]

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        """An integer parameter within [low, high]; ValidationError otherwise."""
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise S3Error("ValidationError", f"Value '{raw}' at '{lower_first(name)}' is not an integer") from None
        if not low <= value <= high:
            bound = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
            raise S3Error("ValidationError", f"1 validation error detected: Value '{value}' at "
                          f"'{lower_first(name)}' failed to satisfy constraint: Member must have value {bound}")
        return value


def lower_first(name: str) -> str:
    """IAM's spelling of a parameter in validation messages: userName."""
    return name[:1].lower() + name[1:]


def iso(when: float | None = None) -> str:
    """A time as IAM writes it: 2024-05-01T10:00:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if when is None else when))


def policy_document(text: str) -> str:
    """A policy document as IAM returns it: URL-encoded JSON (SDKs decode it)."""
    return quote(text, safe="")


def response(service: str, action: str, result: list[Node] | None, request_id: str) -> bytes:
    """`<ActionResponse>` with its `<ActionResult>` (none for calls that return nothing)."""
    out = [f'<{action}Response xmlns="{NAMESPACES[service]}">']
    if result is not None:
        out.append(render((f"{action}Result", result)))
    out.append(f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>")
    out.append(f"</{action}Response>")
    return "".join(out).encode()


def error_document(service: str, err: S3Error, request_id: str) -> bytes:
    """An IAM/STS error: Sender for the caller's faults, Receiver for ours."""
    kind = "Receiver" if err.status >= 500 else "Sender"
    error = render(("Error", [("Type", kind), ("Code", err.code), ("Message", err.message)]))
    return (f'<ErrorResponse xmlns="{NAMESPACES.get(service, IAM_NS)}">{error}'
            f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>").encode()


def page(items: list[Any], q: QueryRequest, name_of) -> tuple[list[Any], bool, str | None]:
    """(the items of this page, truncated?, the marker of the next page) from Marker and MaxItems."""
    marker = q.get("Marker")
    limit = q.integer("MaxItems", 1, 1000, 100)
    if marker:      # listings are in case-insensitive order, as IAM's names are
        items = [i for i in items if name_of(i).lower() > marker.lower()]
    shown = items[:limit]
    truncated = len(items) > limit
    return shown, truncated, name_of(shown[-1]) if truncated and shown else None


def paged(tag: str, rendered: list[Node], truncated: bool, marker: str | None) -> list[Node]:
    """A list result: `<Tag><member>...`, IsTruncated, and Marker when there is more."""
    return [(tag, rendered), ("IsTruncated", truncated), ("Marker", marker)]
