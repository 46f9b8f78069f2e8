"""Bucket configurations with an XML body (CORS, tagging, and the ones to come): read, parse, store, answer.

A configuration every request needs (CORS) is an attribute of the cached bucket record (hot);
one that only its own calls read is kept apart by the daemon (cold: `get_bucket_config`), so
that it does not ride along with every request. Either way the three handlers of a configuration
come from `config_handlers`.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from s3front.body import read_small_body
from s3front.request import S3Request, S3Response, xml_response
from shared.contract.records import bucket_changes_to_wire
from shared.errors import S3Error


@dataclass(frozen=True)
class BucketConfig:
    kind: str                           # the BucketInfo attribute (hot) or the configuration kind (cold)
    parse: Callable[[bytes], Any]       # a request body -> what is stored; S3Error for a bad body
    render: Callable[[Any], bytes]      # what is stored -> the body of the GET answer
    missing: str                        # the error code of a GET when the bucket has none
    max_body: int
    hot: bool = False
    put_status: int = 200


async def read_config(req: S3Request, config: BucketConfig) -> Any:
    """The bucket's configuration of this kind, or None."""
    bucket = req.access.bucket
    if config.hot:
        return getattr(bucket, config.kind) or None
    if config.kind not in bucket.configs:
        return None                     # the record says so: no second read
    return await req.frontend.metadata.get_bucket_config(req.bucket, config.kind) or None


async def store_config(req: S3Request, config: BucketConfig, value: Any) -> None:
    """Store (None: delete) a configuration; the daemon drops the cached bucket record first."""
    if config.hot:
        await req.frontend.metadata.update_bucket(req.bucket, *bucket_changes_to_wire({config.kind: value}))
    else:
        await req.frontend.metadata.put_bucket_config(req.bucket, config.kind, value)


async def put_config(req: S3Request, config: BucketConfig) -> S3Response:
    value = config.parse(await read_small_body(req, config.max_body))
    await store_config(req, config, value)
    return S3Response(config.put_status)


async def get_config(req: S3Request, config: BucketConfig) -> S3Response:
    value = await read_config(req, config)
    if value is None:
        raise S3Error(config.missing, BucketName=req.bucket)
    return xml_response(config.render(value))


async def delete_config(req: S3Request, config: BucketConfig) -> S3Response:
    await store_config(req, config, None)
    return S3Response(204)


Handler = Callable[[S3Request], Awaitable[S3Response]]


def config_handlers(config: BucketConfig, put: str, get: str, delete: str,
                    before_put: Callable[[S3Request], None] | None = None) -> dict[str, Handler]:
    """The Put/Get/Delete handlers of one configuration, by operation name; `before_put` may refuse
    a PUT before its body is read (a header the operation requires)."""
    async def put_handler(req: S3Request) -> S3Response:
        if before_put is not None:
            before_put(req)
        return await put_config(req, config)

    async def get_handler(req: S3Request) -> S3Response:
        return await get_config(req, config)

    async def delete_handler(req: S3Request) -> S3Response:
        return await delete_config(req, config)
    return {put: put_handler, get: get_handler, delete: delete_handler}
