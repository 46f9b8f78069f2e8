"""A bucket's notification rules: which events, which keys, which target (pure).

The S3 XML (s3front/api/notification.py) becomes a list of `Rule`s stored as documents in the
bucket's cold `notification` configuration; the metadata daemon matches each mutation against
them (`matching`). Event names are AWS's (`s3:ObjectCreated:Put`); a rule's event may end in `*`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUEUE, TOPIC, FUNCTION = "Queue", "Topic", "CloudFunction"
KINDS = (QUEUE, TOPIC, FUNCTION)
# Every event a rule may name, by family; `s3:<Family>:*` names the whole family.
EVENTS: dict[str, tuple[str, ...]] = {
    "ObjectCreated": ("Put", "Post", "Copy", "CompleteMultipartUpload"),
    "ObjectRemoved": ("Delete", "DeleteMarkerCreated"),
    "ObjectAccessed": ("Get", "Head"),
    "ObjectTagging": ("Put", "Delete"),
    "ObjectAcl": ("Put",),
    "ObjectRestore": ("Post", "Completed", "Delete"),
    "LifecycleExpiration": ("Delete", "DeleteMarkerCreated"),
    "Replication": ("OperationFailedReplication", "OperationMissedThreshold", "OperationReplicatedAfterThreshold",
                    "OperationNotTracked"),
}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str                   # Queue, Topic or CloudFunction: the XML element it came in
    arn: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""

    def matches(self, event: str, key: str) -> bool:
        """Whether `event` (s3:Family:Name) on `key` is one this rule sends."""
        return key.startswith(self.prefix) and key.endswith(self.suffix) and any(
            e == event or (e.endswith("*") and event.startswith(e[:-1])) for e in self.events)

    def to_wire(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": self.id, "kind": self.kind, "arn": self.arn, "events": list(self.events)}
        if self.prefix:
            doc["prefix"] = self.prefix
        if self.suffix:
            doc["suffix"] = self.suffix
        return doc

    @staticmethod
    def from_wire(doc: dict[str, Any]) -> Rule:
        return Rule(doc["id"], doc.get("kind", QUEUE), doc["arn"], tuple(doc.get("events", ())),
                    doc.get("prefix", ""), doc.get("suffix", ""))


def is_event_name(name: str) -> bool:
    """Whether a configuration may name this event (`s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`...)."""
    parts = name.split(":")
    if len(parts) != 3 or parts[0] != "s3" or parts[1] not in EVENTS:
        return False
    return parts[2] == "*" or parts[2] in EVENTS[parts[1]]


def rules_from_wire(config: Any) -> list[Rule]:
    """The stored configuration (a list of rule documents) as rules."""
    return [Rule.from_wire(doc) for doc in config or ()]


def matching(rules: list[Rule], event: str, key: str) -> list[Rule]:
    """The rules that send this event, at most one per target (the first: one record per target)."""
    seen: set[str] = set()
    out = []
    for rule in rules:
        if rule.arn not in seen and rule.matches(event, key):
            seen.add(rule.arn)
            out.append(rule)
    return out
