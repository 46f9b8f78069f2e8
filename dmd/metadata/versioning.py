"""Versioning decisions (design.md §5.5, §5.6), as pure functions.

Each takes the current master (and what else it must know, already read) and returns a Plan:
the puts and deletes of one batch, the versions whose data becomes garbage, and the result.
PUT and DELETE results carry the bucket's versioning state as the daemon saw it under the lock,
so the front-end's x-amz-version-id matches what was written even if the state just changed.
The daemon runs them under the key lock; nothing here touches the store: what a decision needs
is read beforehand by the caller (`version_to_read`, `successor_needed` say what to read).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmd.metadata.keys import version_key
from shared.models import NULL_VERSION, inf_version_id

MD = dict[str, Any]
ENABLED = "Enabled"
SUSPENDED = "Suspended"


@dataclass
class Plan:
    puts: list[tuple[str, MD]] = field(default_factory=list)
    dels: list[str] = field(default_factory=list)
    garbage: list[MD] = field(default_factory=list)     # versions whose data is no longer referenced
    result: dict[str, Any] = field(default_factory=dict)

    def collect(self, md: MD | None) -> None:
        if md and md.get("location") and not md.get("isDeleteMarker"):
            self.garbage.append(md)


def is_null(md: MD) -> bool:
    return bool(md.get("isNull")) or not md.get("versionId")


def null_version_id(master: MD | None) -> str | None:
    """The internal vid of the null version behind or in this master, if any."""
    if master is None:
        return None
    if is_null(master):
        return master.get("versionId") or inf_version_id()
    return master.get("nullVersionId")


def _stack_on(plan: Plan, key: str, master: MD | None, new: MD) -> None:
    """A non-null version goes on top of the master: preserve a null master, carry the pointer."""
    if master is None:
        return
    if is_null(master):
        vid = master.get("versionId") or inf_version_id()
        plan.puts.append((version_key(key, vid), {**master, "versionId": vid, "isNull": True}))
        new["nullVersionId"] = vid
    elif master.get("nullVersionId"):
        new["nullVersionId"] = master["nullVersionId"]


def _replace_null(plan: Plan, key: str, master: MD | None, null_version: MD | None) -> None:
    """A suspended write replaces the null version, wherever it sits."""
    if master is None:
        return
    if is_null(master):
        if master.get("versionId"):
            plan.dels.append(version_key(key, master["versionId"]))
        plan.collect(master)
    elif master.get("nullVersionId"):
        plan.dels.append(version_key(key, master["nullVersionId"]))
        plan.collect(null_version)


def plan_put(state: str | None, key: str, master: MD | None, null_version: MD | None,
             new: MD, vid: str) -> Plan:
    """PutObject, CopyObject destination and CompleteMultipartUpload."""
    plan = Plan()
    new = {**new, "versionId": vid}
    new.pop("nullVersionId", None)
    if state == ENABLED:
        new.pop("isNull", None)
        _stack_on(plan, key, master, new)
        plan.puts += [(version_key(key, vid), new), (key, new)]
        plan.result = {"versionId": vid, "isNull": False, "versioning": state}
        return plan
    new["isNull"] = True
    if state == SUSPENDED:
        _replace_null(plan, key, master, null_version)
    else:
        plan.collect(master)
    plan.puts.append((key, new))
    plan.result = {"versionId": vid, "isNull": True, "versioning": state}
    return plan


def plan_delete(state: str | None, key: str, master: MD | None, null_version: MD | None,
                marker: MD, vid: str) -> Plan:
    """DeleteObject without a version id: remove, or stack a delete marker."""
    plan = Plan()
    if state not in (ENABLED, SUSPENDED):
        if master is not None:
            plan.dels.append(key)
            plan.collect(master)
        plan.result = {"deleteMarker": False, "versioning": state}
        return plan
    dm = {**marker, "isDeleteMarker": True, "versionId": vid, "content-length": 0, "location": None}
    if state == ENABLED:
        _stack_on(plan, key, master, dm)
        plan.puts += [(version_key(key, vid), dm), (key, dm)]
        plan.result = {"deleteMarker": True, "versionId": vid, "isNull": False, "versioning": state}
    else:
        dm["isNull"] = True
        _replace_null(plan, key, master, null_version)
        plan.puts.append((key, dm))
        plan.result = {"deleteMarker": True, "versionId": vid, "isNull": True, "versioning": state}
    return plan


def version_to_read(master: MD | None, requested: str) -> str | None:
    """The version key (its vid) to read for the version a request names, or None when none is needed."""
    if requested == NULL_VERSION:
        if master is None or is_null(master):
            return None
        return master.get("nullVersionId")
    return requested


def resolve_version(master: MD | None, requested: str, stored: MD | None) -> MD | None:
    """The version a request names: `null` or an internal vid. None when there is no such version.

    `stored` is what the version key named by version_to_read() holds (None when not read or absent).
    """
    if requested == NULL_VERSION:
        if master is None:
            return None
        return master if is_null(master) else stored
    if stored is None and master is not None and master.get("versionId") == requested:
        return master          # a master-only null version, addressed by its real id
    return stored


def successor_needed(master: MD | None, target: MD | None) -> str | None:
    """The vid whose successor (next_version) a version delete needs: the target's, if it is the master."""
    if target is None or master is None:
        return None
    vid = target.get("versionId") or inf_version_id()
    return vid if (master.get("versionId") or inf_version_id()) == vid else None


def plan_delete_version(key: str, master: MD | None, target: MD | None, successor: MD | None) -> Plan:
    """DeleteObject with a version id: remove exactly that version and repair the master.

    `successor` is the newest other version, read when successor_needed() asked for it.
    """
    plan = Plan()
    if target is None:
        plan.result = {"deleteMarker": False, "found": False}
        return plan
    vid = target.get("versionId") or inf_version_id()
    plan.dels.append(version_key(key, vid))
    if successor_needed(master, target) is not None:
        if successor is None:
            plan.dels.append(key)
        else:
            plan.puts.append((key, successor))
    plan.collect(target)
    plan.result = {"deleteMarker": bool(target.get("isDeleteMarker")), "found": True, "versionId": vid}
    return plan
