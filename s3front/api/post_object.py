"""PostObject: a browser form upload (`POST /bucket`, multipart/form-data).

Authorization has read the form up to its file part (s3front/post_request.py, `req.access.post`).
The fields stand for PutObject's headers, so the upload is PutObject's own write path
(objects.store_object) on a request whose headers are the form's, with the file part as its body:
streamed to the data location chunk by chunk, never held whole, and bounded by the policy's
content-length-range (EntityTooLarge as soon as the stream passes it, EntityTooSmall before the
last chunk is made durable). The answer is success_action_redirect, or success_action_status.
"""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from s3front.addressing import split_target
from s3front.api.common import etag
from s3front.api.conditions import write_condition
from s3front.api.objects import check_new_object, new_object_headers, store_object, with_gc
from s3front.body import BodyReader
from s3front.post_form import boundary_of, success_response
from s3front.request import S3Request, S3Response
from shared import constants as C
from shared.errors import S3Error


def _location(req: S3Request) -> str:
    """The new object's URL, addressed as the form was (virtual-hosted or path-style)."""
    host = req.headers.get("host", "")
    scheme = "https" if req.secure else "http"
    virtual = split_target(host, "/", req.frontend.config.endpoints)[0] is not None
    path = "" if virtual else f"/{quote(req.bucket, safe='')}"
    return f"{scheme}://{host}{path}/{quote(req.key, safe='')}"


def _reader(upload: S3Request) -> BodyReader:
    """The file part as PutObject's body reader, within the policy's content-length-range."""
    post = upload.access.post
    policy = post.policy
    high = C.MAX_PUT_BYTES if policy is None or policy.max_size is None else min(policy.max_size, C.MAX_PUT_BYTES)
    return BodyReader(upload, None, C.DEFAULT_CHECKSUM, limit=high, source=post.form.file,
                      min_length=policy.min_size if policy else 0)


async def post_object(req: S3Request) -> S3Response:
    post = req.access.post
    if post is None:                # not a form: authorization went by the headers alone
        boundary_of(req.headers.get("content-type"))
        raise S3Error("MalformedPOSTRequest")
    upload = replace(req, headers=post.headers)     # the PutObject this form stands for
    check_new_object(upload)
    md, result, sealing = await store_object(upload, _reader(upload), write_condition(upload.headers),
                                              "s3:ObjectCreated:Post")
    status, headers, body = success_response(post.form.fields, req.bucket, req.key, etag(md), _location(req))
    answer = S3Response(status, {**new_object_headers(md, result, req.access.bucket, sealing), **headers}, body)
    return with_gc(req, answer, result.garbage)


HANDLERS = {"PostObject": post_object}
