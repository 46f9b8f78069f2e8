"""Conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since), in AWS's order."""
from __future__ import annotations

from email.utils import parsedate_to_datetime
from shared.contract.metadata import WriteCondition
from shared.contract.records import ObjectMD
from shared.errors import S3Error
from shared.models import etag_matches, parse_iso


def _date(value: str | None):
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None          # an unparsable date is ignored, as S3 does


def check_read_conditions(headers: dict[str, str], md: ObjectMD) -> None:
    """412 PreconditionFailed or 304 NotModified when the conditions of a GET/HEAD say so."""
    etag = md.etag
    modified = parse_iso(md.last_modified).replace(microsecond=0)
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


def write_condition(headers: dict[str, str]) -> WriteCondition | None:
    """If-Match / If-None-Match of a write, for the metadata daemon to decide under its key lock."""
    if "if-match" not in headers and "if-none-match" not in headers:
        return None
    return WriteCondition(headers.get("if-match"), headers.get("if-none-match"))
