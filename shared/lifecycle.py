"""Bucket lifecycle configuration: the rules parsed and validated as AWS does (PutBucketLifecycleConfiguration).

The front-end parses the body with `s3front.xml.parse` (defused, size-limited) and hands the root
element here; `lifecycle_nodes` (shared/lifecycle_model.py) gives `(tag, value)` nodes for
`s3front.xml.document`. shared/ never imports s3front/, so this module only knows ElementTree
elements and plain tuples. The worker's decisions are in shared/lifecycle_plan.py.

AWS's checks, in AWS's order: the rule count and the IDs, then each rule. A configuration is
"Lifecycle V2" when its first rule has a Filter; then no rule may use the legacy rule-level Prefix
(and the other way round). Overlapping prefixes are allowed. What each fault answers:
  MalformedXML     anything the schema refuses: unknown or repeated elements, a missing Status,
                   Filter or Prefix, a Filter with more than one predicate, an Expiration with
                   none or more than one of Days/Date/ExpiredObjectDeleteMarker, non-numbers,
                   dates that are not ISO 8601;
  InvalidArgument  an ID over 255 characters or used twice, non-positive days, a Date that is
                   not midnight UTC;
  InvalidRequest   no action, V1/V2 mixed, duplicate tag keys, bad object sizes, a tag or size
                   filter beside ExpiredObjectDeleteMarker or AbortIncompleteMultipartUpload;
  InvalidStorageClass  a transition to a class this store does not keep (`classes`).
"""
from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime, timezone
from typing import Any
from xml.etree.ElementTree import Element

from shared import constants as C
from shared.errors import S3Error
from shared.lifecycle_model import (DISABLED, ENABLED, Filter, Node, Rule, Transition, lifecycle_nodes,
                                    render_date, rules_from_json, rules_to_json, uses_sizes, uses_tags)

__all__ = ["DEFAULT_CLASSES", "DISABLED", "ENABLED", "Filter", "Node", "Rule", "Transition", "lifecycle_nodes",
           "new_rule_id", "parse_date", "parse_lifecycle", "render_date", "rules_from_json", "rules_to_json"]

DEFAULT_CLASSES = frozenset({"STANDARD"})      # the storage classes a transition may name, for now
_RULE_FIELDS = ("ID", "Prefix", "Filter", "Status", "Expiration", "Transition", "NoncurrentVersionTransition",
                "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload")
_REPEATABLE = ("Transition", "NoncurrentVersionTransition")


def _malformed(detail: str | None = None) -> S3Error:
    return S3Error("MalformedXML", detail)


def _invalid_argument(message: str, name: str, value: str) -> S3Error:
    return S3Error("InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


# -- element helpers --------------------------------------------------------------------------------
def _children(el: Element, allowed: tuple[str, ...], repeatable: tuple[str, ...] = ()) -> dict[str, list[Element]]:
    """The children of `el` by tag; MalformedXML for an unknown one or a repeated single one."""
    out: dict[str, list[Element]] = {}
    for child in el:
        if child.tag not in allowed or (child.tag in out and child.tag not in repeatable):
            raise _malformed()
        out.setdefault(child.tag, []).append(child)
    return out


def _text(el: Element) -> str:
    if len(el):
        raise _malformed()
    return el.text or ""


def _int(el: Element) -> int:
    text = _text(el).strip()
    if not text.lstrip("-").isdigit():
        raise _malformed()
    return int(text)


# ISO 8601's extended form, as xsd:dateTime writes it (Python's fromisoformat also takes 20200101).
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:\d{2})?")


def parse_date(text: str) -> float:
    """An ISO 8601 timestamp (the Date of an action) as epoch seconds; MalformedXML if it is none."""
    text = text.strip()
    if not _DATE.fullmatch(text):
        raise _malformed()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise _malformed() from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _midnight(el: Element) -> float:
    text = _text(el)
    when = parse_date(text)
    if when % C.LIFECYCLE_DAY_S:
        raise _invalid_argument("'Date' must be at midnight GMT", "Date", text)
    return when


# -- filters ----------------------------------------------------------------------------------------
def _tag(el: Element) -> tuple[str, str]:
    parts = _children(el, ("Key", "Value"))
    if len(parts) != 2 or not _text(parts["Key"][0]):
        raise _malformed()
    return _text(parts["Key"][0]), _text(parts["Value"][0])


def _sizes(parts: dict[str, list[Element]]) -> tuple[int | None, int | None]:
    gt = _int(parts["ObjectSizeGreaterThan"][0]) if "ObjectSizeGreaterThan" in parts else None
    lt = _int(parts["ObjectSizeLessThan"][0]) if "ObjectSizeLessThan" in parts else None
    top = C.LIFECYCLE_MAX_FILTER_SIZE
    if gt is not None and not 0 <= gt <= top:
        raise S3Error("InvalidRequest", f"'ObjectSizeGreaterThan' should be between 0 and {top}.")
    if lt is not None and not 1 <= lt <= top:
        raise S3Error("InvalidRequest", f"'ObjectSizeLessThan' should be between 1 and {top}.")
    if gt is not None and lt is not None and gt >= lt:
        raise S3Error("InvalidRequest", "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.")
    return gt, lt


def _and(el: Element) -> Filter:
    parts = _children(el, ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan"), ("Tag",))
    tags = tuple(_tag(t) for t in parts.get("Tag", []))
    if len({k for k, _ in tags}) != len(tags):
        raise S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    gt, lt = _sizes(parts)
    prefix = _text(parts["Prefix"][0]) if "Prefix" in parts else ""
    return Filter("and", prefix, tags, gt, lt)


def _filter(el: Element) -> Filter:
    parts = _children(el, ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And"))
    if len(parts) > 1:
        raise _malformed()            # "A Filter must have exactly one of Prefix, Tag, ... or And"
    if not parts:
        return Filter("empty")
    if "Prefix" in parts:
        return Filter("prefix", _text(parts["Prefix"][0]))
    if "Tag" in parts:
        return Filter("tag", tags=(_tag(parts["Tag"][0]),))
    if "And" in parts:
        return _and(parts["And"][0])
    gt, lt = _sizes(parts)
    return Filter("gt" if gt is not None else "lt", size_gt=gt, size_lt=lt)


def _scope(parts: dict[str, list[Element]], v2: bool) -> Filter:
    if "Prefix" in parts and v2:
        raise S3Error("InvalidRequest", "Base level prefix cannot be used in Lifecycle V2, prefixes are only "
                                        "supported in the Filter.")
    if "Filter" in parts and not v2:
        raise S3Error("InvalidRequest", "Filter element can only be used in Lifecycle V2.")
    if "Filter" in parts:
        return _filter(parts["Filter"][0])
    if "Prefix" in parts:
        return Filter("legacy", _text(parts["Prefix"][0]))
    raise _malformed()


# -- actions ----------------------------------------------------------------------------------------
def _positive(el: Element, message: str) -> int:
    value = _int(el)
    if value <= 0:
        raise S3Error("InvalidArgument", message)
    return value


def _newer(el: Element | None, v2: bool, action: str) -> int | None:
    if el is None:
        return None
    if not v2:
        raise S3Error("InvalidRequest", "NewerNoncurrentVersions element can only be used in Lifecycle V2.")
    return _positive(el, f"'NewerNoncurrentVersions' for {action} action must be a positive integer")


def _bool(el: Element) -> bool:
    text = _text(el).strip()
    if text not in ("true", "false", "1", "0"):
        raise _malformed()
    return text in ("true", "1")


def _expiration(el: Element) -> dict[str, Any]:
    parts = _children(el, ("Days", "Date", "ExpiredObjectDeleteMarker"))
    if len(parts) != 1:
        raise _malformed()            # "ExpiredObjectDeleteMarker cannot be specified with Days or Date"
    if "Days" in parts:
        return {"expiration_days": _positive(parts["Days"][0], "'Days' for Expiration action must be a positive integer")}
    if "Date" in parts:
        return {"expiration_date": _midnight(parts["Date"][0])}
    return {"expired_object_delete_marker": _bool(parts["ExpiredObjectDeleteMarker"][0])}


def _noncurrent_expiration(el: Element, v2: bool) -> dict[str, Any]:
    parts = _children(el, ("NoncurrentDays", "NewerNoncurrentVersions"))
    if "NoncurrentDays" not in parts:
        raise _malformed()
    action = "NoncurrentVersionExpiration"
    days = _positive(parts["NoncurrentDays"][0], f"'NoncurrentDays' for {action} action must be a positive integer")
    newer = _newer(parts.get("NewerNoncurrentVersions", [None])[0], v2, action)
    return {"noncurrent_days": days, "newer_noncurrent": newer}


def _abort(el: Element) -> dict[str, Any]:
    parts = _children(el, ("DaysAfterInitiation",))
    if not parts:
        raise _malformed()
    return {"abort_days": _positive(parts["DaysAfterInitiation"][0], "'DaysAfterInitiation' for "
                                    "AbortIncompleteMultipartUpload action must be a positive integer")}


def _nonnegative(el: Element, name: str, action: str) -> int:
    value = _int(el)
    if value < 0:
        raise S3Error("InvalidArgument", f"'{name}' in {action} action must be nonnegative")
    return value


def _storage_class(parts: dict[str, list[Element]], classes: frozenset[str]) -> str:
    if "StorageClass" not in parts:
        raise _malformed()
    name = _text(parts["StorageClass"][0]).strip()
    if name not in classes:
        raise S3Error("InvalidStorageClass", StorageClass=name)
    return name


def _transition(el: Element, classes: frozenset[str]) -> Transition:
    parts = _children(el, ("Days", "Date", "StorageClass"))
    if ("Days" in parts) == ("Date" in parts):
        raise _malformed()
    if "Days" in parts:
        when: dict[str, Any] = {"days": _nonnegative(parts["Days"][0], "Days", "Transition")}
    else:
        when = {"date": _midnight(parts["Date"][0])}
    return Transition(_storage_class(parts, classes), **when)


def _noncurrent_transition(el: Element, classes: frozenset[str], v2: bool) -> Transition:
    parts = _children(el, ("NoncurrentDays", "NewerNoncurrentVersions", "StorageClass"))
    action = "NoncurrentVersionTransition"
    if "NoncurrentDays" not in parts:
        raise _malformed()
    days = _nonnegative(parts["NoncurrentDays"][0], "NoncurrentDays", action)
    newer = _newer(parts.get("NewerNoncurrentVersions", [None])[0], v2, action)
    return Transition(_storage_class(parts, classes), days=days, newer=newer)


def _check_transitions(rule: Rule) -> None:
    for group in (rule.transitions, rule.noncurrent_transitions):
        names = [t.storage_class for t in group]
        if len(set(names)) != len(names):
            raise S3Error("InvalidRequest", "'StorageClass' must be different for 'Transition' actions in same 'Rule'")
    dated = rule.expiration_date is not None or any(t.date is not None for t in rule.transitions)
    counted = rule.expiration_days is not None or any(t.days is not None for t in rule.transitions)
    if dated and counted:
        raise S3Error("InvalidRequest", "Found mixed 'Date' and 'Days' based Expiration and Transition actions "
                                        "in lifecycle rule")


def _check_unfiltered(rule: Rule) -> None:
    """ExpiredObjectDeleteMarker and AbortIncompleteMultipartUpload select by prefix only."""
    actions = [name for name, on in (("ExpiredObjectDeleteMarker", rule.expired_object_delete_marker is not None),
                                     ("AbortIncompleteMultipartUpload", rule.abort_days is not None)) if on]
    for action in actions:
        if uses_tags(rule.filter):
            raise S3Error("InvalidRequest", f"{action} cannot be specified with Tags.")
        if uses_sizes(rule.filter):
            raise S3Error("InvalidRequest", f"{action} cannot be specified with Object Size.")


# -- rules ------------------------------------------------------------------------------------------
def new_rule_id() -> str:
    """An ID for a rule given none: like AWS's, the base64 of a random UUID."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def _actions(parts: dict[str, list[Element]], classes: frozenset[str], v2: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "Expiration" in parts:
        out.update(_expiration(parts["Expiration"][0]))
    if "NoncurrentVersionExpiration" in parts:
        out.update(_noncurrent_expiration(parts["NoncurrentVersionExpiration"][0], v2))
    if "AbortIncompleteMultipartUpload" in parts:
        out.update(_abort(parts["AbortIncompleteMultipartUpload"][0]))
    out["transitions"] = tuple(_transition(t, classes) for t in parts.get("Transition", []))
    out["noncurrent_transitions"] = tuple(_noncurrent_transition(t, classes, v2)
                                          for t in parts.get("NoncurrentVersionTransition", []))
    return out


_ACTIONS = ("Expiration", "Transition", "NoncurrentVersionTransition", "NoncurrentVersionExpiration",
            "AbortIncompleteMultipartUpload")


def _rule(el: Element, rule_id: str, classes: frozenset[str], v2: bool) -> Rule:
    if el.tag != "Rule":
        raise _malformed()
    parts = _children(el, _RULE_FIELDS, _REPEATABLE)
    if "Status" not in parts or _text(parts["Status"][0]) not in (ENABLED, DISABLED):
        raise _malformed()
    scope = _scope(parts, v2)
    if not any(name in parts for name in _ACTIONS):
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    rule = Rule(rule_id or new_rule_id(), _text(parts["Status"][0]) == ENABLED, scope,
                **_actions(parts, classes, v2))
    _check_unfiltered(rule)
    _check_transitions(rule)
    return rule


def _rule_ids(root: Element) -> list[str]:
    """Each rule's ID ("" when none), checked before the rules themselves, as AWS does."""
    ids = []
    for el in root:
        found = el.find("ID")
        ids.append("" if found is None else _text(found))
    for i, rule_id in enumerate(ids):
        if len(rule_id) > C.LIFECYCLE_ID_MAX_CHARS:
            raise S3Error("InvalidArgument", f"ID length should not exceed allowed limit of {C.LIFECYCLE_ID_MAX_CHARS}")
        if rule_id and rule_id in ids[:i]:
            raise S3Error("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule")
    return ids


def parse_lifecycle(root: Element, classes: frozenset[str] = DEFAULT_CLASSES) -> list[Rule]:
    """The rules of a LifecycleConfiguration root element, validated as AWS validates them."""
    if root.tag != "LifecycleConfiguration" or not len(root):
        raise _malformed()
    if len(root) > C.LIFECYCLE_MAX_RULES:
        raise S3Error("InvalidRequest", f"Number of lifecycle rules should not exceed allowed limit of "
                                        f"{C.LIFECYCLE_MAX_RULES} rules")
    ids = _rule_ids(root)
    v2 = root[0].find("Filter") is not None
    return [_rule(el, rule_id, classes, v2) for el, rule_id in zip(root, ids)]
