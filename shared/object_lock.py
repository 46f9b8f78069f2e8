"""Object Lock: the bucket configuration, retention and legal hold documents and headers, and the
pure decisions the metadata daemon enforces.

Documents arrive as ElementTree roots (the front-end parses them with `s3front.xml.parse`) and
leave as `(tag, value)` nodes; shared/ never imports s3front/. Times are epoch seconds.

What AWS answers (as recorded against S3; s3-tests sometimes expects RGW's codes instead):
  - schema faults (ObjectLockEnabled other than Enabled, a mode other than GOVERNANCE or
    COMPLIANCE, both Days and Years, a LegalHold status other than ON/OFF): MalformedXML;
  - a default retention of zero, negative or too many days/years: InvalidArgument
    ("Default retention period must be a positive integer value." / "... too large.");
  - x-amz-object-lock-* headers: InvalidArgument naming the header (mode without date or the
    reverse, an unknown mode, a date not in ISO 8601 or not in the future, a bad legal hold);
  - lock headers, retention or legal hold on a bucket without Object Lock: InvalidRequest;
    a lock configuration without versioning Enabled, or suspending it under a lock: InvalidBucketState;
  - deleting or overwriting a protected version, or weakening its retention without the
    right to bypass governance: AccessDenied "Access Denied because object protected by object lock."
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from xml.etree.ElementTree import Element

from shared import constants as C
from shared.errors import S3Error

GOVERNANCE, COMPLIANCE = "GOVERNANCE", "COMPLIANCE"
MODES = (GOVERNANCE, COMPLIANCE)
ON, OFF = "ON", "OFF"
MODE_HEADER = "x-amz-object-lock-mode"
DATE_HEADER = "x-amz-object-lock-retain-until-date"
HOLD_HEADER = "x-amz-object-lock-legal-hold"
BYPASS_HEADER = "x-amz-bypass-governance-retention"
RETENTION, LEGAL_HOLD = "retention", "legalHold"      # an object version's fields in its metadata
LOCK_ATTR = "objectLock"                             # a bucket's attribute: its LockConfig, once enabled
LOCKED_MESSAGE = "Access Denied because object protected by object lock."
Node = tuple[str, Any]


@dataclass(frozen=True)
class DefaultRetention:
    mode: str
    days: int | None = None
    years: int | None = None


@dataclass(frozen=True)
class LockConfig:
    """A bucket's ObjectLockConfiguration: always enabled once set, maybe with a default retention."""
    default: DefaultRetention | None = None


@dataclass(frozen=True)
class Retention:
    mode: str
    until: float                  # RetainUntilDate, epoch seconds


def _malformed() -> S3Error:
    return S3Error("MalformedXML")


def _locked() -> S3Error:
    return S3Error("AccessDenied", LOCKED_MESSAGE)


# -- times ------------------------------------------------------------------------------------------
def parse_time(text: str) -> float | None:
    """An ISO 8601 timestamp (`2030-01-01T00:00:00Z`, with fractions or an offset) or None."""
    text = text.strip()
    if "T" not in text:
        return None
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def render_time(when: float) -> str:
    """A time as S3 shows RetainUntilDate: ISO 8601, milliseconds, UTC."""
    moment = datetime.fromtimestamp(when, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def add_years(when: float, years: int) -> float:
    """`years` calendar years after `when` (29 February becomes 28 February)."""
    moment = datetime.fromtimestamp(when, timezone.utc)
    year = moment.year + years
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])
    return moment.replace(year=year, day=day).timestamp()


# -- element helpers --------------------------------------------------------------------------------
def _fields(el: Element, allowed: tuple[str, ...]) -> dict[str, Element]:
    out: dict[str, Element] = {}
    for child in el:
        if child.tag not in allowed or child.tag in out:
            raise _malformed()
        out[child.tag] = child
    return out


def _text(el: Element) -> str:
    if len(el):
        raise _malformed()
    return (el.text or "").strip()


def _int(el: Element) -> int:
    text = _text(el)
    if not text.lstrip("-").isdigit():
        raise _malformed()
    return int(text)


# -- the bucket configuration -----------------------------------------------------------------------
def _period(el: Element, name: str, top: int) -> int:
    value = _int(el)
    if value <= 0:
        raise S3Error("InvalidArgument", "Default retention period must be a positive integer value.",
                      ArgumentName=name, ArgumentValue=str(value))
    if value > top:
        raise S3Error("InvalidArgument", "Default retention period too large.", ArgumentName=name,
                      ArgumentValue=str(value))
    return value


def _default_retention(el: Element) -> DefaultRetention:
    parts = _fields(el, ("Mode", "Days", "Years"))
    if "Mode" not in parts or _text(parts["Mode"]) not in MODES or ("Days" in parts) == ("Years" in parts):
        raise _malformed()
    days = _period(parts["Days"], "Days", C.OBJECT_LOCK_MAX_DAYS) if "Days" in parts else None
    years = _period(parts["Years"], "Years", C.OBJECT_LOCK_MAX_YEARS) if "Years" in parts else None
    return DefaultRetention(_text(parts["Mode"]), days, years)


def parse_lock_config(root: Element) -> LockConfig:
    """PutObjectLockConfiguration: `ObjectLockEnabled=Enabled` and an optional Rule/DefaultRetention."""
    if root.tag != "ObjectLockConfiguration":
        raise _malformed()
    parts = _fields(root, ("ObjectLockEnabled", "Rule"))
    if "ObjectLockEnabled" not in parts or _text(parts["ObjectLockEnabled"]) != "Enabled":
        raise _malformed()
    if "Rule" not in parts:
        return LockConfig()
    rule = _fields(parts["Rule"], ("DefaultRetention",))
    if "DefaultRetention" not in rule:
        raise _malformed()
    return LockConfig(_default_retention(rule["DefaultRetention"]))


def lock_config_nodes(config: LockConfig) -> list[Node]:
    """The children of the GetObjectLockConfiguration document."""
    nodes: list[Node] = [("ObjectLockEnabled", "Enabled")]
    d = config.default
    if d is not None:
        nodes.append(("Rule", [("DefaultRetention", [("Mode", d.mode), ("Days", d.days), ("Years", d.years)])]))
    return nodes


# -- retention and legal hold documents -------------------------------------------------------------
def parse_retention(root: Element, now: float) -> Retention | None:
    """PutObjectRetention: Mode and RetainUntilDate, or neither (None: remove the retention)."""
    if root.tag != "Retention":
        raise _malformed()
    parts = _fields(root, ("Mode", "RetainUntilDate"))
    if not parts:
        return None
    if len(parts) != 2 or _text(parts["Mode"]) not in MODES:
        raise _malformed()
    text = _text(parts["RetainUntilDate"])
    until = parse_time(text)
    if until is None:
        raise _malformed()
    if until <= now:
        raise S3Error("InvalidArgument", "The retain until date must be in the future!",
                      ArgumentName="RetainUntilDate", ArgumentValue=text)
    return Retention(_text(parts["Mode"]), until)


def retention_nodes(retention: Retention) -> list[Node]:
    """The children of the GetObjectRetention document."""
    return [("Mode", retention.mode), ("RetainUntilDate", render_time(retention.until))]


def parse_legal_hold(root: Element) -> bool:
    """PutObjectLegalHold: `<LegalHold><Status>ON|OFF</Status></LegalHold>`; True when ON."""
    if root.tag != "LegalHold":
        raise _malformed()
    parts = _fields(root, ("Status",))
    if "Status" not in parts or _text(parts["Status"]) not in (ON, OFF):
        raise _malformed()
    return _text(parts["Status"]) == ON


def legal_hold_nodes(on: bool) -> list[Node]:
    """The children of the GetObjectLegalHold document."""
    return [("Status", ON if on else OFF)]


# -- headers ----------------------------------------------------------------------------------------
def _header_error(message: str, name: str, value: str) -> S3Error:
    return S3Error("InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def parse_lock_headers(headers: Mapping[str, str], now: float) -> tuple[Retention | None, bool | None]:
    """The retention and legal hold that PutObject, CopyObject, CreateMultipartUpload or a POST
    form ask for (lower-case names): (None, None) when they ask for neither."""
    mode, date, hold = headers.get(MODE_HEADER), headers.get(DATE_HEADER), headers.get(HOLD_HEADER)
    both = f"{DATE_HEADER} and {MODE_HEADER} must both be supplied."
    if date is not None and mode is None:
        raise _header_error(both, MODE_HEADER, "")
    if mode is not None and date is None:
        raise _header_error(both, DATE_HEADER, "")
    retention = None
    if mode is not None and date is not None:
        until = parse_time(date)
        if until is None:
            raise _header_error("The retain until date must be provided in ISO 8601 format", DATE_HEADER, date)
        if until <= now:
            raise _header_error("The retain until date must be in the future!", DATE_HEADER, date)
        if mode not in MODES:
            raise _header_error("Unknown wormMode directive.", MODE_HEADER, mode)
        retention = Retention(mode, until)
    if hold is not None and hold not in (ON, OFF):
        raise _header_error("Legal Hold must be either of 'ON' or 'OFF'", HOLD_HEADER, hold)
    return retention, None if hold is None else hold == ON


def require_lock_enabled(bucket_lock_enabled: bool) -> None:
    """Put/GetObjectRetention and Put/GetObjectLegalHold on a bucket without Object Lock."""
    if not bucket_lock_enabled:
        raise S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration")


def check_lock_allowed(bucket_lock_enabled: bool, retention: Retention | None, legal_hold: bool | None) -> None:
    """Lock headers on a bucket created without Object Lock: InvalidRequest, as AWS answers."""
    if retention is not None or legal_hold is not None:
        require_lock_enabled(bucket_lock_enabled)


def check_lock_config_allowed(versioning: str | None) -> None:
    """PutObjectLockConfiguration needs versioning Enabled (then it turns Object Lock on for good)."""
    if versioning != "Enabled":
        raise S3Error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                                            "configuration")


def check_versioning_change(bucket_lock_enabled: bool, status: str) -> None:
    """PutBucketVersioning: a bucket with Object Lock stays Enabled."""
    if bucket_lock_enabled and status != "Enabled":
        raise S3Error("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the "
                                            "versioning state cannot be changed.")


def lock_headers(retention: Retention | None, legal_hold: bool | None) -> dict[str, str]:
    """The x-amz-object-lock-* headers of GET and HEAD Object."""
    out = {}
    if retention is not None:
        out[MODE_HEADER] = retention.mode
        out[DATE_HEADER] = render_time(retention.until)
    if legal_hold is not None:
        out[HOLD_HEADER] = ON if legal_hold else OFF
    return out


def parse_bypass(value: str | None) -> bool:
    """x-amz-bypass-governance-retention: only "true" (any case) asks to bypass."""
    return value is not None and value.strip().lower() == "true"


# -- decisions --------------------------------------------------------------------------------------
def new_version_retention(explicit: Retention | None, config: LockConfig | None, now: float) -> Retention | None:
    """The retention a new version gets: the one its request asked for, else the bucket's default
    counted from now (Days of 24 hours, Years of the calendar)."""
    if explicit is not None:
        return explicit
    default = config.default if config is not None else None
    if default is None:
        return None
    if default.days is not None:
        return Retention(default.mode, now + default.days * 86_400)
    return Retention(default.mode, add_years(now, default.years or 0))


def check_delete(retention: Retention | None, legal_hold: bool, now: float, bypass: bool, can_bypass: bool) -> None:
    """May this version be deleted, or its data overwritten, now? AccessDenied when not: a legal
    hold always protects it, COMPLIANCE until its date, GOVERNANCE unless the request sends
    x-amz-bypass-governance-retention (`bypass`) and may bypass (s3:BypassGovernanceRetention)."""
    if legal_hold:
        raise _locked()
    if retention is None or retention.until <= now:
        return
    if retention.mode == COMPLIANCE or not (bypass and can_bypass):
        raise _locked()


def check_retention_change(current: Retention | None, new: Retention | None, now: float, bypass: bool,
                           can_bypass: bool) -> None:
    """May PutObjectRetention replace `current` by `new` (None: remove it)? COMPLIANCE can only be
    kept or extended; GOVERNANCE can be extended freely, and shortened, removed or turned into
    COMPLIANCE only with the bypass. An expired retention no longer protects anything."""
    if current is None or current.until <= now:
        return
    keeps = new is not None and new.mode == current.mode and new.until >= current.until
    if keeps:
        return
    if current.mode == COMPLIANCE or not (bypass and can_bypass):
        raise _locked()


# -- storage ----------------------------------------------------------------------------------------
def config_to_json(config: LockConfig) -> dict[str, Any]:
    """A bucket's lock configuration as plain data, for its attributes."""
    d = config.default
    return {"default": None if d is None else {"mode": d.mode, "days": d.days, "years": d.years}}


def config_from_json(data: dict[str, Any]) -> LockConfig:
    d = data.get("default")
    return LockConfig(None if d is None else DefaultRetention(d["mode"], d["days"], d["years"]))


def retention_to_json(retention: Retention | None) -> dict[str, Any] | None:
    """A version's retention as plain data, for its metadata."""
    return None if retention is None else {"mode": retention.mode, "until": retention.until}


def retention_from_json(data: dict[str, Any] | None) -> Retention | None:
    return None if data is None else Retention(data["mode"], data["until"])
