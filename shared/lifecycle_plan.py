"""Lifecycle decisions, as pure functions: which rules apply to an object, when its actions fall
due, the x-amz-expiration / x-amz-abort-* headers, and the plan for one key's versions.

Times are epoch seconds. AWS counts an action's days from the object's creation (or, for a
noncurrent version, from when it became noncurrent: the creation of the version after it), adds
the days and rounds up to the next midnight UTC; a time already at midnight stays. With a day of
`day` seconds (COFFER_LIFECYCLE_DAY_SECONDS shortens it for tests) "midnight" is the next multiple
of `day` since the epoch, so `due = ceil((start + days * day) / day) * day`, and with the default
day that is exactly AWS's midnight UTC. A Date is absolute and does not scale. When several
rules apply, the earliest due action wins (AWS: "the shorter expiration policy is honored").
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import quote

from shared import constants as C
from shared.lifecycle_model import Rule, matches

EXPIRE_CURRENT = "expire-current"          # DELETE without a version id: a delete marker if versioned
DELETE_VERSION = "delete-version"          # a noncurrent version (or noncurrent delete marker) goes
REMOVE_DELETE_MARKER = "remove-delete-marker"   # an expired object delete marker, the key's last version


@dataclass(frozen=True)
class Due:
    """When an action falls due and the rule that sets it."""
    at: float
    rule_id: str


@dataclass(frozen=True)
class Version:
    """What the plan needs of one version of a key."""
    version_id: str
    last_modified: float
    size: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    delete_marker: bool = False
    locked: bool = False          # under retention or legal hold: lifecycle leaves it alone


@dataclass(frozen=True)
class Action:
    kind: str                     # EXPIRE_CURRENT | DELETE_VERSION | REMOVE_DELETE_MARKER
    version_id: str
    rule_id: str


def due_after(start: float, days: int, day: int = C.LIFECYCLE_DAY_S) -> float:
    """`days` days after `start`, rounded up to the next day boundary (midnight UTC)."""
    return math.ceil((start + days * day) / day) * day


def applying(rules: Sequence[Rule], key: str, size: int = 0, tags: dict[str, str] | None = None) -> list[Rule]:
    """The enabled rules whose filter selects this object."""
    return [r for r in rules if r.enabled and matches(r.filter, key, size, tags or {})]


def _earliest(candidates: list[Due]) -> Due | None:
    """The first due; the first given among equals."""
    return min(candidates, key=lambda d: d.at, default=None)


def expiry(rules: Sequence[Rule], key: str, size: int, tags: dict[str, str], created: float,
           day: int = C.LIFECYCLE_DAY_S) -> Due | None:
    """When the current version (an object, not a delete marker) expires, and by which rule."""
    found = []
    for rule in applying(rules, key, size, tags):
        if rule.expiration_days is not None:
            found.append(Due(due_after(created, rule.expiration_days, day), rule.id))
        elif rule.expiration_date is not None:
            found.append(Due(rule.expiration_date, rule.id))
    return _earliest(found)


def noncurrent_expiry(rules: Sequence[Rule], key: str, size: int, tags: dict[str, str], since: float,
                      newer: int, day: int = C.LIFECYCLE_DAY_S) -> Due | None:
    """When a noncurrent version expires: `since` is when it became noncurrent, `newer` how many
    noncurrent versions of the key are newer than it (NewerNoncurrentVersions keeps that many)."""
    found = []
    for rule in applying(rules, key, size, tags):
        if rule.noncurrent_days is None:
            continue
        if rule.newer_noncurrent is not None and newer < rule.newer_noncurrent:
            continue
        found.append(Due(due_after(since, rule.noncurrent_days, day), rule.id))
    return _earliest(found)


def marker_expiry(rules: Sequence[Rule], key: str, created: float, day: int = C.LIFECYCLE_DAY_S) -> Due | None:
    """When a delete marker left as its key's only version is removed: at the first day boundary
    under ExpiredObjectDeleteMarker, or once as old as an Expiration's Days (AWS does both)."""
    found = []
    for rule in applying(rules, key):              # a delete marker has no tags and no size
        if rule.expired_object_delete_marker:
            found.append(Due(due_after(created, 0, day), rule.id))
        elif rule.expiration_days is not None:
            found.append(Due(due_after(created, rule.expiration_days, day), rule.id))
    return _earliest(found)


def abort_due(rules: Sequence[Rule], key: str, initiated: float, day: int = C.LIFECYCLE_DAY_S) -> Due | None:
    """When an incomplete multipart upload is aborted (its rules filter by prefix only)."""
    return _earliest([Due(due_after(initiated, r.abort_days, day), r.id)
                      for r in applying(rules, key) if r.abort_days is not None])


# -- headers ----------------------------------------------------------------------------------------
def _header_id(rule_id: str) -> str:
    # A rule ID may hold any character, a header only printable ASCII: %-escape the rest (and the
    # double quote, which would end the quoted string).
    return "".join(ch if " " <= ch <= "~" and ch != '"' else quote(ch, safe="") for ch in rule_id)


def expiration_header(due: Due | None) -> str | None:
    """x-amz-expiration: `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="rule"`."""
    if due is None:
        return None
    return f'expiry-date="{formatdate(due.at, usegmt=True)}", rule-id="{_header_id(due.rule_id)}"'


def abort_headers(due: Due | None) -> dict[str, str]:
    """x-amz-abort-date and x-amz-abort-rule-id on CreateMultipartUpload and ListParts."""
    if due is None:
        return {}
    return {"x-amz-abort-date": formatdate(due.at, usegmt=True), "x-amz-abort-rule-id": _header_id(due.rule_id)}


# -- plans ------------------------------------------------------------------------------------------
def _noncurrent_actions(rules: Sequence[Rule], key: str, versions: Sequence[Version], now: float,
                        day: int) -> list[Action]:
    actions = []
    for position in range(1, len(versions)):
        v, successor = versions[position], versions[position - 1]
        due = noncurrent_expiry(rules, key, v.size, v.tags, successor.last_modified, position - 1, day)
        if due is not None and due.at <= now and not v.locked:
            actions.append(Action(DELETE_VERSION, v.version_id, due.rule_id))
    return actions


def plan_key(rules: Sequence[Rule], key: str, versions: Sequence[Version], now: float,
             day: int = C.LIFECYCLE_DAY_S) -> list[Action]:
    """The lifecycle actions due now for one key, given its versions newest first (an unversioned
    key has one). Expiring the current version is a DELETE without a version id, which the
    bucket's versioning turns into a delete marker or a removal. Locked versions are never
    deleted; the expired delete marker goes in the same pass as the last versions beneath it."""
    if not versions:
        return []
    current = versions[0]
    actions = []
    if not current.delete_marker:
        due = expiry(rules, key, current.size, current.tags, current.last_modified, day)
        if due is not None and due.at <= now:
            actions.append(Action(EXPIRE_CURRENT, current.version_id, due.rule_id))
    actions += _noncurrent_actions(rules, key, versions, now, day)
    if current.delete_marker and len(versions) - len(actions) == 1:
        due = marker_expiry(rules, key, current.last_modified, day)
        if due is not None and due.at <= now:
            actions.append(Action(REMOVE_DELETE_MARKER, current.version_id, due.rule_id))
    return actions


def plan_upload(rules: Sequence[Rule], key: str, initiated: float, now: float,
                day: int = C.LIFECYCLE_DAY_S) -> str | None:
    """The rule that aborts this incomplete multipart upload now, if any."""
    due = abort_due(rules, key, initiated, day)
    return due.rule_id if due is not None and due.at <= now else None
