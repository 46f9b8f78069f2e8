"""Bucket default encryption: PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption.

A cold bucket configuration (s3front/api/bucket_config.py): only writes read it, and only when the
bucket record says there is one (s3front/sse/data.py bucket_default), so other requests pay nothing.
"""
from __future__ import annotations

from s3front.api.bucket_config import BucketConfig, config_handlers
from s3front.request import S3Request, S3Response
from s3front.sse.bucket_config import BucketEncryption, parse_config, render_config
from s3front.sse.data import ENCRYPTION_CONFIG
from shared import constants as C

CONFIG = BucketConfig(ENCRYPTION_CONFIG, lambda body: parse_config(body).to_dict(),
                      lambda stored: render_config(BucketEncryption.from_dict(stored)),
                      "ServerSideEncryptionConfigurationNotFoundError", C.SSE_CONFIG_MAX_BODY)


HANDLERS = config_handlers(CONFIG, "PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption")
