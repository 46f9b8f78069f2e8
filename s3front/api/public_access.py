"""Put/Get/DeletePublicAccessBlock (s3front/public_access.py says what each switch does)."""
from __future__ import annotations

from s3front.body import read_small_body
from s3front.public_access import ATTR, SWITCHES
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import document, parse
from shared.errors import S3Error

MAX_BODY = 16 * 1024


def _parse(body: bytes) -> dict[str, bool]:
    root = parse(body)
    if root.tag != "PublicAccessBlockConfiguration":
        raise S3Error("MalformedXML")
    config = {}
    for child in root:
        value = (child.text or "").strip().lower()
        if child.tag not in SWITCHES or value not in ("true", "false"):
            raise S3Error("MalformedXML")
        config[child.tag] = value == "true"
    return {name: config.get(name, False) for name in SWITCHES}


async def put_public_access_block(req: S3Request) -> S3Response:
    config = _parse(await read_small_body(req, MAX_BODY))
    await req.frontend.metadata.update_bucket(req.bucket, set={ATTR: config})
    return S3Response(200)


async def get_public_access_block(req: S3Request) -> S3Response:
    config = req.access.bucket.extra.get(ATTR)
    if config is None:
        raise S3Error("NoSuchPublicAccessBlockConfiguration", BucketName=req.bucket)
    return xml_response(document("PublicAccessBlockConfiguration", [(n, bool(config.get(n))) for n in SWITCHES]))


async def delete_public_access_block(req: S3Request) -> S3Response:
    await req.frontend.metadata.update_bucket(req.bucket, unset=[ATTR])
    return S3Response(204)


HANDLERS = {
    "PutPublicAccessBlock": put_public_access_block,
    "GetPublicAccessBlock": get_public_access_block,
    "DeletePublicAccessBlock": delete_public_access_block,
}
