"""Conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since), in AWS's order."""
from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

from shared.errors import S3Error
from shared.models import etag_matches, parse_iso


def _date(value: str | None):
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None          # an unparsable date is ignored, as S3 does


def check_read_conditions(headers: dict[str, str], md: dict[str, Any]) -> None:
    """412 PreconditionFailed or 304 NotModified when the conditions of a GET/HEAD say so."""
    etag = md.get("content-md5", "")
    modified = parse_iso(md["last-modified"]).replace(microsecond=0)
    if_match, if_none = headers.get("if-match"), headers.get("if-none-match")
    unmodified_since, modified_since = _date(headers.get("if-unmodified-since")), _date(headers.get("if-modified-since"))
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise S3Error("PreconditionFailed", Condition="If-Match")
    elif unmodified_since is not None and modified > unmodified_since:
        raise S3Error("PreconditionFailed", Condition="If-Unmodified-Since")
    if if_none is not None:
        if etag_matches(if_none, etag):
            raise S3Error("NotModified", headers={"ETag": f'"{etag}"'})
    elif modified_since is not None and modified <= modified_since:
        raise S3Error("NotModified", headers={"ETag": f'"{etag}"'})


def write_condition(headers: dict[str, str]) -> dict[str, str] | None:
    """If-Match / If-None-Match of a write, for the metadata daemon to decide under its key lock."""
    condition = {}
    if "if-match" in headers:
        condition["ifMatch"] = headers["if-match"]
    if "if-none-match" in headers:
        condition["ifNoneMatch"] = headers["if-none-match"]
    return condition or None
