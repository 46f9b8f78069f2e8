"""Bucket default encryption: the ServerSideEncryptionConfiguration document, and which encryption a write gets.

PutBucketEncryption takes exactly one Rule: ApplyServerSideEncryptionByDefault (SSEAlgorithm
AES256 | aws:kms | aws:kms:dsse, KMSMasterKeyID only with aws:kms or aws:kms:dsse), BucketKeyEnabled
and BlockedEncryptionTypes (NONE | SSE-C). As on AWS, the KMS key id is not checked here.

`choose()` is the pure decision of each write: the request's headers first, else the bucket's
default, else the server's default (AWS encrypts every new object with SSE-S3 since January 2023;
pass `server_default=None` to store plaintext instead).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from s3front.sse.headers import AES256, DSSE, KMS, SSE_C, SseRequest, WriteSse
from s3front.xml import Node, document, parse
from shared.errors import S3Error

ALGORITHMS = (AES256, KMS, DSSE)
ENCRYPTION_TYPES = ("NONE", SSE_C)
MSG_KMS_KEY_NOT_APPLICABLE = "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse"
MSG_DSSE = "Dual-layer server-side encryption with KMS keys (DSSE-KMS) is not implemented by Coffer."
MSG_SSE_C_BLOCKED = ("because this bucket has blocked upload requests that specify Server Side Encryption with "
                     "Customer provided keys (SSE-C). Please specify a different server-side encryption type")


@dataclass(frozen=True)
class BucketEncryption:
    """A bucket's default encryption (its one rule)."""
    algorithm: str | None = AES256       # None: the rule applies no default (it only sets the other fields)
    kms_key_id: str | None = None
    bucket_key: bool = False
    blocked: tuple[str, ...] = ()        # BlockedEncryptionTypes, as given

    def to_dict(self) -> dict[str, Any]:
        return {"alg": self.algorithm, "kms": self.kms_key_id, "bk": self.bucket_key, "blocked": list(self.blocked)}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> BucketEncryption:
        return cls(record.get("alg"), record.get("kms"), bool(record.get("bk", False)),
                   tuple(record.get("blocked", ())))


# What GetBucketEncryption shows for a bucket that was never configured, on AWS since 2023.
DEFAULT = BucketEncryption(AES256)


def parse_config(body: bytes) -> BucketEncryption:
    """A PutBucketEncryption body; MalformedXML or InvalidArgument as AWS answers."""
    root = parse(body)
    rules = [el for el in root if el.tag == "Rule"]
    if root.tag != "ServerSideEncryptionConfiguration" or len(rules) != 1:
        raise S3Error("MalformedXML")
    return _parse_rule(rules[0])


def _parse_rule(rule: Element) -> BucketEncryption:
    algorithm, kms_key_id = None, None
    default = rule.find("ApplyServerSideEncryptionByDefault")
    if default is not None:
        algorithm, kms_key_id = _text(default, "SSEAlgorithm"), _text(default, "KMSMasterKeyID")
        if algorithm not in ALGORITHMS:
            raise S3Error("MalformedXML")
        if kms_key_id is not None and algorithm == AES256:
            raise S3Error("InvalidArgument", MSG_KMS_KEY_NOT_APPLICABLE,
                          ArgumentName="ApplyServerSideEncryptionByDefault")
        if algorithm == DSSE:
            raise S3Error("NotImplemented", MSG_DSSE)
    bucket_key = _text(rule, "BucketKeyEnabled")
    if bucket_key not in (None, "true", "false"):
        raise S3Error("MalformedXML")
    return BucketEncryption(algorithm, kms_key_id, bucket_key == "true", _blocked(rule))


def _text(el: Element, tag: str) -> str | None:
    found = el.find(tag)
    return None if found is None else (found.text or "").strip()


def _blocked(rule: Element) -> tuple[str, ...]:
    blocked = rule.find("BlockedEncryptionTypes")
    if blocked is None:
        return ()
    types = tuple((el.text or "").strip() for el in blocked if el.tag == "EncryptionType")
    if not types or any(t not in ENCRYPTION_TYPES for t in types) or len(set(types)) != len(types):
        raise S3Error("MalformedXML")
    return types


def render_config(config: BucketEncryption) -> bytes:
    """The GetBucketEncryption document."""
    rule: list[Node] = []
    if config.algorithm is not None:
        rule.append(("ApplyServerSideEncryptionByDefault",
                     [("SSEAlgorithm", config.algorithm), ("KMSMasterKeyID", config.kms_key_id)]))
    rule.append(("BucketKeyEnabled", config.bucket_key))
    if config.blocked:
        rule.append(("BlockedEncryptionTypes", [("EncryptionType", t) for t in config.blocked]))
    return document("ServerSideEncryptionConfiguration", [("Rule", rule)])


def not_found() -> S3Error:
    """GetBucketEncryption of a bucket without a configuration, when the server does not answer DEFAULT."""
    return S3Error("ServerSideEncryptionConfigurationNotFoundError")


def choose(request: SseRequest, bucket: BucketEncryption | None, server_default: str | None = AES256,
           *, action: str = "s3:PutObject", requester_arn: str = "", resource_arn: str = "") -> WriteSse | None:
    """Which encryption a write (Put, POST, Copy, CreateMultipartUpload) gets; None: it is stored as sent."""
    if request.customer is not None:
        if bucket is not None and SSE_C in bucket.blocked:
            raise S3Error("AccessDenied", f"User: {requester_arn} is not authorized to perform: {action} on "
                                          f'resource: "{resource_arn}" {MSG_SSE_C_BLOCKED}')
        return WriteSse(SSE_C, customer=request.customer)
    if request.mode is not None:
        bucket_key = request.bucket_key if request.bucket_key is not None else bool(bucket and bucket.bucket_key)
        return _checked(WriteSse(request.mode, request.kms_key_id, request.context, bucket_key))
    if bucket is not None and bucket.algorithm is not None:
        return _checked(WriteSse(bucket.algorithm, bucket.kms_key_id, None, bucket.bucket_key))
    return WriteSse(server_default) if server_default is not None else None


def _checked(sse: WriteSse) -> WriteSse:
    if sse.mode == DSSE:
        raise S3Error("NotImplemented", MSG_DSSE)
    if sse.mode != KMS:                     # a bucket key only means something for SSE-KMS
        return WriteSse(sse.mode)
    return sse
