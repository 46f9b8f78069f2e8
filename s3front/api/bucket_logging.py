"""Server access logging: PutBucketLogging and GetBucketLogging.

The BucketLoggingStatus document and the checks of its target are s3front/logging_config.py's; the
configuration is a cold bucket configuration (s3front/api/bucket_config.py). The records and their
delivery are s3front/access_log.py's.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from s3front import logging_config as G
from s3front.api.bucket_config import BucketConfig, read_config, store_config
from s3front.body import read_small_body
from s3front.request import S3Request, S3Response, xml_response
from shared import constants as C
from shared.contract.records import BucketInfo
from shared.errors import S3Error
from shared.models import http_date, iso_now

MTIME = "mtime"          # when the configuration last changed (Last-Modified of GetBucketLogging)


def _never(_: Any) -> Any:
    raise AssertionError("the logging configuration is read and written by its own handlers")


# Its own calls read it (and the front-ends' access loggers, keyed by the bucket record's revision).
LOGGING = BucketConfig(G.KIND, _never, _never, "", C.LOGGING_MAX_BODY)


async def put_bucket_logging(req: S3Request) -> S3Response:
    config = G.parse_logging(await read_small_body(req, C.LOGGING_MAX_BODY), req.frontend.config.accounts)
    stored = await read_config(req, LOGGING)
    if config is None:
        if stored is not None:
            await store_config(req, LOGGING, None)
        return S3Response(200)
    if config.key_format is None:               # AWS answers the simple form when none was given
        config = replace(config, key_format=G.SIMPLE)
    await _check_target(req, config)
    value = config.to_dict()
    if stored is not None and {k: v for k, v in stored.items() if k != MTIME} == value:
        return S3Response(200)                  # the same configuration again: it did not change
    await store_config(req, LOGGING, {**value, MTIME: iso_now()})
    return S3Response(200)


async def _check_target(req: S3Request, config: G.LoggingConfig) -> None:
    """The target exists, closes no loop, and lets log delivery write (AccessDenied if not)."""
    source = req.access.bucket
    target = await _target_bucket(req, config.target_bucket)
    if target is None:
        raise S3Error("InvalidTargetBucketForLogging", G.MSG_NO_TARGET, TargetBucket=config.target_bucket)
    G.check_loop(source.name, config, G.KIND in target.configs)
    account = req.frontend.config.account_by_canonical_id(source.owner)
    # The delivery permission decides, for a target of the same owner as for one of another account.
    if not G.target_permits(config, source, target, account.account_id if account else None):
        raise S3Error("AccessDenied", G.MSG_NO_DELIVERY)


async def _target_bucket(req: S3Request, name: str) -> BucketInfo | None:
    try:
        return await req.frontend.metadata.get_bucket(name)
    except S3Error as err:
        if err.code == "NoSuchBucket":
            return None
        raise


async def get_bucket_logging(req: S3Request) -> S3Response:
    stored = await read_config(req, LOGGING)
    accounts = req.frontend.config.accounts
    if stored is None:
        return xml_response(G.render_logging(None, accounts))
    headers = {"Last-Modified": http_date(stored[MTIME])} if stored.get(MTIME) else {}
    return xml_response(G.render_logging(G.LoggingConfig.from_dict(stored), accounts), headers=headers)


HANDLERS = {"PutBucketLogging": put_bucket_logging, "GetBucketLogging": get_bucket_logging}
