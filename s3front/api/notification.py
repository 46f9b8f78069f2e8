"""Put/GetBucketNotificationConfiguration (and the legacy GetBucketNotification, on the same path).

The document's Queue, Topic and CloudFunction configurations become `Rule`s (shared/notify/rules.py),
stored as the bucket's cold `notification` configuration. The metadata daemon checks that every
ARN names a configured target (InvalidArgument naming it) and sends the events (docs/notifications.md).
"""
from __future__ import annotations

import secrets
from xml.etree.ElementTree import Element

from s3front.api.bucket_config import BucketConfig, read_config, store_config
from s3front.body import read_small_body
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import Node, document, parse
from shared import constants as C
from shared.errors import S3Error
from shared.notify.rules import FUNCTION, KINDS, QUEUE, TOPIC, Rule, is_event_name, rules_from_wire

# Each configuration element, and the element naming its destination.
_ELEMENTS = {f"{QUEUE}Configuration": (QUEUE, "Queue"), f"{TOPIC}Configuration": (TOPIC, "Topic"),
             f"{FUNCTION}Configuration": (FUNCTION, "CloudFunction")}
_IGNORED = ("EventBridgeConfiguration",)     # accepted, nothing to send it to


def _invalid(message: str, name: str, value: str) -> S3Error:
    return S3Error("InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def _filter(el: Element | None) -> tuple[str, str]:
    """(prefix, suffix) of a Filter/S3Key element."""
    if el is None:
        return "", ""
    key = el.find("S3Key")
    if key is None:
        return "", ""
    found: dict[str, str] = {}
    for rule in key:
        if rule.tag != "FilterRule":
            raise S3Error("MalformedXML")
        name = (rule.findtext("Name") or "").strip()
        value = rule.findtext("Value") or ""
        kind = name.lower()
        if kind not in ("prefix", "suffix"):
            raise _invalid("filter rule name must be either prefix or suffix", "FilterRule", name)
        if kind in found:
            raise _invalid(f"Cannot specify more than one {kind} rule in a filter.", "FilterRule", name)
        if len(value.encode()) > 1024:
            raise _invalid(f"The {kind} is longer than 1024 bytes.", "FilterRule", value[:64])
        found[kind] = value
    return found.get("prefix", ""), found.get("suffix", "")


def _rule(el: Element, kind: str, destination: str) -> Rule:
    arn = (el.findtext(destination) or "").strip()
    if not arn:
        raise _invalid(f"A {el.tag} needs a {destination} ARN.", destination, "")
    events = tuple((e.text or "").strip() for e in el.findall("Event"))
    if not events:
        raise _invalid("A notification configuration needs at least one Event.", "Event", "")
    for event in events:
        if not is_event_name(event):
            raise _invalid(f"The event {event!r} is not supported for notifications.", "Event", event)
    rule_id = (el.findtext("Id") or "").strip() or secrets.token_hex(16)
    prefix, suffix = _filter(el.find("Filter"))
    return Rule(rule_id, kind, arn, events, prefix, suffix)


def parse_notification(body: bytes) -> list[dict] | None:
    """A NotificationConfiguration document as stored rules; None (delete) when it has none."""
    root = parse(body, C.NOTIFY_MAX_BODY)
    if root.tag != "NotificationConfiguration":
        raise S3Error("MalformedXML")
    rules: list[Rule] = []
    for el in root:
        if el.tag in _IGNORED:
            continue
        if el.tag not in _ELEMENTS:
            raise S3Error("MalformedXML", f"Unexpected element {el.tag} in a NotificationConfiguration.")
        rules.append(_rule(el, *_ELEMENTS[el.tag]))
    if len(rules) > C.NOTIFY_MAX_RULES:
        raise _invalid(f"A bucket has at most {C.NOTIFY_MAX_RULES} notification configurations.",
                       "NotificationConfiguration", str(len(rules)))
    ids = [r.id for r in rules]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise _invalid("Configuration ids must be unique.", "Id", duplicate)
    return [r.to_wire() for r in rules] or None


def _rule_node(rule: Rule) -> Node:
    destination = {QUEUE: "Queue", TOPIC: "Topic", FUNCTION: "CloudFunction"}[rule.kind]
    children: list[Node] = [("Id", rule.id)]
    filters = [("FilterRule", [("Name", name), ("Value", value)])
               for name, value in (("Prefix", rule.prefix), ("Suffix", rule.suffix)) if value]   # as S3 answers
    if filters:
        children.append(("Filter", [("S3Key", filters)]))
    children.append((destination, rule.arn))
    children += [("Event", e) for e in rule.events]
    return (f"{rule.kind}Configuration", children)


def render_notification(config: list[dict] | None) -> bytes:
    rules = sorted(rules_from_wire(config), key=lambda r: KINDS.index(r.kind))
    return document("NotificationConfiguration", [_rule_node(r) for r in rules])


NOTIFICATION = BucketConfig(C.NOTIFY_CONFIG_KIND, parse_notification, render_notification,
                            "", C.NOTIFY_MAX_BODY)


async def put_bucket_notification(req: S3Request) -> S3Response:
    await store_config(req, NOTIFICATION, parse_notification(await read_small_body(req, C.NOTIFY_MAX_BODY)))
    return S3Response(200)


async def get_bucket_notification(req: S3Request) -> S3Response:
    # A bucket without a configuration answers an empty one, as S3 does (not an error).
    return xml_response(render_notification(await read_config(req, NOTIFICATION)))


HANDLERS = {
    "PutBucketNotificationConfiguration": put_bucket_notification,
    "GetBucketNotificationConfiguration": get_bucket_notification,
}
