"""The lifecycle rules as data: the records, their XML rendering (GetBucketLifecycleConfiguration)
and their JSON form for the bucket's attributes. Parsing and validation are in shared/lifecycle.py,
the decisions of the expiry worker in shared/lifecycle_plan.py.

Times are epoch seconds (floats); day counts are whole days.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

ENABLED, DISABLED = "Enabled", "Disabled"
Node = tuple[str, Any]          # as s3front.xml renders it: (tag, text | list of nodes | None)


@dataclass(frozen=True)
class Filter:
    """Which objects a rule applies to; `kind` says how it was written, so GET gives it back so."""
    kind: str = "empty"           # legacy | empty | prefix | tag | gt | lt | and
    prefix: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    size_gt: int | None = None
    size_lt: int | None = None


@dataclass(frozen=True)
class Transition:
    storage_class: str
    days: int | None = None       # NoncurrentDays for a noncurrent transition
    date: float | None = None     # epoch seconds, a midnight UTC
    newer: int | None = None      # NewerNoncurrentVersions (noncurrent transitions only)


@dataclass(frozen=True)
class Rule:
    id: str
    enabled: bool
    filter: Filter = field(default_factory=Filter)
    expiration_days: int | None = None
    expiration_date: float | None = None
    expired_object_delete_marker: bool | None = None
    noncurrent_days: int | None = None
    newer_noncurrent: int | None = None
    abort_days: int | None = None
    transitions: tuple[Transition, ...] = ()
    noncurrent_transitions: tuple[Transition, ...] = ()


def render_date(when: float) -> str:
    """A Date as the lifecycle XML shows it."""
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def uses_tags(f: Filter) -> bool:
    """Whether the filter selects by object tags."""
    return bool(f.tags)


def uses_sizes(f: Filter) -> bool:
    """Whether the filter selects by object size."""
    return f.size_gt is not None or f.size_lt is not None


def matches(f: Filter, key: str, size: int, tags: dict[str, str]) -> bool:
    """Whether an object (key, size in bytes, tag set) is one the filter selects."""
    return (key.startswith(f.prefix)
            and all(tags.get(k) == v for k, v in f.tags)
            and (f.size_gt is None or size > f.size_gt)
            and (f.size_lt is None or size < f.size_lt))


# -- rendering --------------------------------------------------------------------------------------
def _filter_node(f: Filter) -> Node:
    def tag(pair: tuple[str, str]) -> Node:
        return ("Tag", [("Key", pair[0]), ("Value", pair[1])])
    if f.kind == "legacy":
        return ("Prefix", f.prefix)
    if f.kind == "prefix":
        return ("Filter", [("Prefix", f.prefix)])
    if f.kind == "tag":
        return ("Filter", [tag(f.tags[0])])
    if f.kind == "gt":
        return ("Filter", [("ObjectSizeGreaterThan", f.size_gt)])
    if f.kind == "lt":
        return ("Filter", [("ObjectSizeLessThan", f.size_lt)])
    if f.kind == "and":
        parts: list[Node] = [("Prefix", f.prefix or None)] + [tag(t) for t in f.tags]
        parts += [("ObjectSizeGreaterThan", f.size_gt), ("ObjectSizeLessThan", f.size_lt)]
        return ("Filter", [("And", parts)])
    return ("Filter", [])


def _expiration_node(rule: Rule) -> Node | None:
    if rule.expiration_days is not None:
        return ("Expiration", [("Days", rule.expiration_days)])
    if rule.expiration_date is not None:
        return ("Expiration", [("Date", render_date(rule.expiration_date))])
    if rule.expired_object_delete_marker is not None:
        return ("Expiration", [("ExpiredObjectDeleteMarker", rule.expired_object_delete_marker)])
    return None


def _transition_node(t: Transition, noncurrent: bool) -> Node:
    if noncurrent:
        return ("NoncurrentVersionTransition", [("NoncurrentDays", t.days), ("NewerNoncurrentVersions", t.newer),
                                                ("StorageClass", t.storage_class)])
    when = ("Days", t.days) if t.days is not None else ("Date", render_date(t.date or 0.0))
    return ("Transition", [when, ("StorageClass", t.storage_class)])


def rule_node(rule: Rule) -> Node:
    """One rule as GetBucketLifecycleConfiguration gives it: in the form it was written."""
    children: list[Node] = [("ID", rule.id), _filter_node(rule.filter),
                            ("Status", ENABLED if rule.enabled else DISABLED)]
    expiration = _expiration_node(rule)
    if expiration:
        children.append(expiration)
    children += [_transition_node(t, False) for t in rule.transitions]
    children += [_transition_node(t, True) for t in rule.noncurrent_transitions]
    if rule.noncurrent_days is not None:
        children.append(("NoncurrentVersionExpiration", [("NoncurrentDays", rule.noncurrent_days),
                                                         ("NewerNoncurrentVersions", rule.newer_noncurrent)]))
    if rule.abort_days is not None:
        children.append(("AbortIncompleteMultipartUpload", [("DaysAfterInitiation", rule.abort_days)]))
    return ("Rule", children)


def lifecycle_nodes(rules: list[Rule]) -> list[Node]:
    """The children of the LifecycleConfiguration document: `document("LifecycleConfiguration", ...)`."""
    return [rule_node(r) for r in rules]


# -- storage ----------------------------------------------------------------------------------------
def rules_to_json(rules: list[Rule]) -> list[dict[str, Any]]:
    """The rules as plain data, for the bucket's attributes."""
    return [asdict(r) for r in rules]


def rules_from_json(data: list[dict[str, Any]]) -> list[Rule]:
    """The inverse of `rules_to_json`."""
    return [_rule_from_json(d) for d in data]


def _rule_from_json(d: dict[str, Any]) -> Rule:
    f = d["filter"]
    flt = Filter(f["kind"], f["prefix"], tuple((k, v) for k, v in f["tags"]), f["size_gt"], f["size_lt"])
    return Rule(**{**d, "filter": flt,
                   "transitions": tuple(Transition(**t) for t in d["transitions"]),
                   "noncurrent_transitions": tuple(Transition(**t) for t in d["noncurrent_transitions"])})
