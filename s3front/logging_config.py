"""Bucket logging configuration: the BucketLoggingStatus document of PutBucketLogging and GetBucketLogging.

<BucketLoggingStatus> with no LoggingEnabled turns logging off. LoggingEnabled holds TargetBucket and
TargetPrefix (both required), TargetGrants (grants of FULL_CONTROL, READ or WRITE on the log
objects) and TargetObjectKeyFormat (SimplePrefix, or PartitionedPrefix with PartitionDateSource
EventTime | DeliveryTime, EventTime when left out).

The target bucket must exist (InvalidTargetBucketForLogging). AWS also wants it to have the source's
owner (`check_target`); PutBucketLogging instead asks every target for its permission, of the same
owner or not (`target_permits`, AccessDenied without it): its bucket policy allows the service
principal logging.s3.amazonaws.com s3:PutObject under the prefix for this source (aws:SourceArn,
aws:SourceAccount), as AWS documents for log delivery, or its ACL grants the LogDelivery group WRITE
(AWS's older way). And the target may be neither the source itself nor a bucket that is logged in
turn (`check_loop`, InvalidArgument), so that no log write can ever produce another record.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from s3front import acl_model as A
from s3front.acl_model import Grant, _grantee_node, _parse_grant, check_grant_count
from s3front.bucket_policy import bucket_policy
from s3front.iam import Policy, bucket_arn, object_arn
from s3front.ownership import acls_off
from s3front.xml import Node, document, parse
from shared import constants as C
from shared.config import Account
from shared.contract.records import BucketInfo
from shared.errors import S3Error

SIMPLE, PARTITIONED = "SimplePrefix", "PartitionedPrefix"
EVENT_TIME, DELIVERY_TIME = "EventTime", "DeliveryTime"
LOG_PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE")
MSG_NO_TARGET = "The target bucket for logging does not exist"
MSG_OTHER_OWNER = "The owner for the bucket to be logged and the target bucket must be the same."
MSG_ITSELF = "The target bucket for logging cannot be the bucket being logged."
MSG_LOGGED = "The target bucket for logging has server access logging enabled itself; logs cannot be chained."
MSG_NO_DELIVERY = ("The target bucket does not allow log delivery: its bucket policy must allow the service "
                   f"principal {C.LOG_DELIVERY_SERVICE} s3:PutObject under the target prefix for this source "
                   "bucket, or its ACL must grant the LogDelivery group WRITE.")
KIND = "logging"                        # the cold bucket configuration holding a LoggingConfig


@dataclass(frozen=True)
class LoggingConfig:
    """Where a bucket's access logs go."""
    target_bucket: str
    target_prefix: str
    grants: tuple[Grant, ...] = ()
    key_format: str | None = None            # None: not given (log objects take the simple form)
    date_source: str = EVENT_TIME            # for PartitionedPrefix

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.target_bucket, "prefix": self.target_prefix, "grants": [dict(g) for g in self.grants],
                "format": self.key_format, "date": self.date_source}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> LoggingConfig:
        return cls(record["bucket"], record["prefix"], tuple(dict(g) for g in record.get("grants", ())),
                   record.get("format"), record.get("date", EVENT_TIME))


def parse_logging(body: bytes, accounts: Sequence[Account]) -> LoggingConfig | None:
    """A PutBucketLogging body: the configuration, or None when it turns logging off."""
    root = parse(body)
    if root.tag != "BucketLoggingStatus":
        raise S3Error("MalformedXML")
    enabled = root.find("LoggingEnabled")
    if enabled is None:
        return None
    bucket, prefix = enabled.findtext("TargetBucket"), enabled.findtext("TargetPrefix")
    if bucket is None or prefix is None:
        raise S3Error("MalformedXML")
    key_format, date_source = _key_format(enabled.find("TargetObjectKeyFormat"))
    grants = _grants(enabled.find("TargetGrants"), accounts)
    return LoggingConfig(bucket.strip(), prefix, grants, key_format, date_source)


def _key_format(el: Element | None) -> tuple[str | None, str]:
    if el is None:
        return None, EVENT_TIME
    children = [c for c in el if c.tag in (SIMPLE, PARTITIONED)]
    if len(children) != 1 or len(children) != len(el):
        raise S3Error("MalformedXML")
    if children[0].tag == SIMPLE:
        return SIMPLE, EVENT_TIME
    source = children[0].findtext("PartitionDateSource")
    source = EVENT_TIME if source is None else source.strip()
    if source not in (EVENT_TIME, DELIVERY_TIME):
        raise S3Error("MalformedXML")
    return PARTITIONED, source


def _grants(el: Element | None, accounts: Sequence[Account]) -> tuple[Grant, ...]:
    if el is None:
        return ()
    grants = [g for g in el if g.tag == "Grant"]
    check_grant_count(len(grants))
    for grant in grants:
        if (grant.findtext("Permission") or "").strip() not in LOG_PERMISSIONS:
            raise S3Error("MalformedXML")
    try:
        return tuple(_parse_grant(g, accounts) for g in grants)
    except S3Error as err:
        if err.code == "MalformedACLError":               # this document's own schema error
            raise S3Error("MalformedXML") from None
        raise


def render_logging(config: LoggingConfig | None, accounts: Sequence[Account]) -> bytes:
    """The GetBucketLogging document (empty when logging is off)."""
    if config is None:
        return document("BucketLoggingStatus", [])
    names = {a.canonical_id: a.name for a in accounts}
    enabled: list[Node] = [("TargetBucket", config.target_bucket)]
    if config.grants:
        enabled.append(("TargetGrants", [("Grant", [_grantee_node(g, names), ("Permission", g["permission"])])
                                         for g in config.grants]))
    if config.key_format == SIMPLE:
        enabled.append(("TargetObjectKeyFormat", [(SIMPLE, [])]))
    elif config.key_format == PARTITIONED:
        enabled.append(("TargetObjectKeyFormat", [(PARTITIONED, [("PartitionDateSource", config.date_source)])]))
    enabled.append(("TargetPrefix", config.target_prefix))
    return document("BucketLoggingStatus", [("LoggingEnabled", enabled)])


def check_target(config: LoggingConfig, target_owner: str | None, source_owner: str) -> None:
    """PutBucketLogging's checks of the target bucket: `target_owner` is None when it does not exist."""
    if target_owner is None:
        raise S3Error("InvalidTargetBucketForLogging", MSG_NO_TARGET, TargetBucket=config.target_bucket)
    if target_owner != source_owner:
        raise S3Error("InvalidTargetBucketForLogging", MSG_OTHER_OWNER, TargetBucket=config.target_bucket)


def check_loop(source_bucket: str, config: LoggingConfig, target_logged: bool) -> None:
    """No log write may produce a record: the target is neither the source nor logged itself."""
    if config.target_bucket == source_bucket:
        raise S3Error("InvalidArgument", MSG_ITSELF, ArgumentName="TargetBucket", ArgumentValue=source_bucket)
    if target_logged:
        raise S3Error("InvalidArgument", MSG_LOGGED, ArgumentName="TargetBucket", ArgumentValue=config.target_bucket)


def target_permits(config: LoggingConfig, source: BucketInfo, target: BucketInfo, source_account: str | None) -> bool:
    """Whether `target` lets log delivery write `source`'s logs (`source_account`: its owner's account id)."""
    names = [a for a in (source_account, source.owner) if a]
    acl = None if acls_off(target) else target.acl
    return delivery_allowed(config, bucket_policy(target), acl, target.owner, source.name, names)


def delivery_allowed(config: LoggingConfig, policy: Policy | None, acl: A.ACL | None, target_owner: str,
                     source_bucket: str, source_accounts: Sequence[str]) -> bool:
    """Whether the target lets log delivery write `config`'s logs of `source_bucket`.

    `source_accounts` names the source's owner as a policy may (its account id, its canonical id).
    """
    if any(g["type"] == "Group" and g["uri"] == A.LOG_DELIVERY and g["permission"] in (A.WRITE, A.FULL_CONTROL)
           for g in A.grants_of(acl, target_owner)):
        return True
    if policy is None:
        return False
    resource = object_arn(config.target_bucket, config.target_prefix)
    allowed = False
    for account in source_accounts:
        keys = {"aws:sourcearn": bucket_arn(source_bucket), "aws:sourceaccount": account}
        for st in policy.candidates("s3:putobject"):
            spec = st.principal
            if spec is None or st.not_principal or C.LOG_DELIVERY_SERVICE not in spec.service:
                continue
            if st.applies(resource, keys):
                if st.deny:
                    return False
                allowed = True
    return allowed
