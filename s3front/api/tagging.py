"""Tagging: Put/Get/DeleteObjectTagging (of a version, with versionId) and Put/Get/DeleteBucketTagging.

An object's tags live in its (version's) metadata, changed by the metadata daemon under the key
lock; a bucket's in its attributes. The document, header and limits are s3front/tagging.py's.
"""
from __future__ import annotations

from s3front.api.bucket_config import BucketConfig, config_handlers
from s3front.api.common import version_header
from s3front.api.objects import read_target
from s3front.body import read_small_body
from s3front.notify import event_request
from s3front.request import S3Request, S3Response, xml_response
from s3front.tagging import TAGS, parse_tagging, render_tagging
from shared import constants as C


async def _change_object_tags(req: S3Request, tags: dict[str, str] | None) -> S3Response:
    attrs, md = read_target(req)
    # Name the version that was authorized, so that a PUT racing with us cannot receive these tags.
    version_id = req.access.version_id if req.access.version_id is not None else md.version_id
    if tags is None:
        await req.frontend.metadata.update_object(req.bucket, req.key, version_id, unset=[TAGS],
                                                  event=event_request(req, "s3:ObjectTagging:Delete"))
    else:
        await req.frontend.metadata.update_object(req.bucket, req.key, version_id, set={TAGS: tags},
                                                  event=event_request(req, "s3:ObjectTagging:Put"))
    return S3Response(204 if tags is None else 200, version_header(md, attrs))


async def put_object_tagging(req: S3Request) -> S3Response:
    tags = parse_tagging(await read_small_body(req, C.TAGGING_MAX_BODY), C.TAGS_MAX_OBJECT)
    return await _change_object_tags(req, tags)


async def get_object_tagging(req: S3Request) -> S3Response:
    attrs, md = read_target(req)
    return xml_response(render_tagging(md.extra.get(TAGS) or {}), headers=version_header(md, attrs))


async def delete_object_tagging(req: S3Request) -> S3Response:
    return await _change_object_tags(req, None)


# A bucket's tag set is read by its own calls only: a cold configuration.
BUCKET_TAGGING = BucketConfig("tagging", lambda body: parse_tagging(body, C.TAGS_MAX_BUCKET), render_tagging,
                              "NoSuchTagSet", C.TAGGING_MAX_BODY, put_status=204)


HANDLERS = {
    "PutObjectTagging": put_object_tagging, "GetObjectTagging": get_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
    **config_handlers(BUCKET_TAGGING, "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging"),
}
