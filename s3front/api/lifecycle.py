"""Put/Get/DeleteBucketLifecycleConfiguration: the rules validated as AWS validates them
(shared/lifecycle.py), kept as a cold bucket configuration; the worker is s3front/lifecycle/."""
from __future__ import annotations

from typing import Any

from s3front.api.bucket_config import BucketConfig, config_handlers
from s3front.api.multi_delete import has_integrity_header
from s3front.lifecycle.rules import LIFECYCLE
from s3front.request import S3Request, S3Response
from s3front.xml import document, parse
from shared import constants as C
from shared.errors import S3Error
from shared.lifecycle import lifecycle_nodes, parse_lifecycle, rules_from_json, rules_to_json


def parse_body(body: bytes) -> list[dict[str, Any]]:
    """A LifecycleConfiguration body as the rules' stored form."""
    if not body:
        raise S3Error("MissingRequestBodyError", "Request Body is empty")
    return rules_to_json(parse_lifecycle(parse(body, C.LIFECYCLE_MAX_BODY)))


def render(stored: list[dict[str, Any]]) -> bytes:
    return document("LifecycleConfiguration", lifecycle_nodes(rules_from_json(stored)))


BUCKET_LIFECYCLE = BucketConfig(LIFECYCLE, parse_body, render, "NoSuchLifecycleConfiguration", C.LIFECYCLE_MAX_BODY)


def _require_integrity(req: S3Request) -> None:
    if not has_integrity_header(req.headers):      # AWS requires Content-MD5 or a checksum here
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")


HANDLERS = config_handlers(BUCKET_LIFECYCLE, "PutBucketLifecycleConfiguration", "GetBucketLifecycleConfiguration",
                           "DeleteBucketLifecycle", before_put=_require_integrity)
