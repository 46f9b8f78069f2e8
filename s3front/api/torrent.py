"""GetObjectTorrent: a BitTorrent metainfo file (BEP 3) for an object, with the object's own URL as
its web seed (BEP 19), so that a BitTorrent client can fetch the bytes from Coffer itself.

Off unless COFFER_TORRENTS is set: then the answer is 404 NoSuchKey, as Ceph RGW answers when its
torrent support is not configured (and what s3-tests' test_get_object_torrent accepts).
"""
from __future__ import annotations

import hashlib
import time
from urllib.parse import quote

from s3front.api.objects import open_object, read_target
from s3front.sse.data import read_key
from s3front.request import S3Request, S3Response
from shared import constants as C
from shared.contract.records import ObjectMD
from shared.errors import S3Error

PIECE_BYTES = 256 * 1024


def bencode(value: object) -> bytes:
    """Bencoding (BEP 3): integers, byte strings, lists and dictionaries with sorted keys."""
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%b" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


async def _piece_hashes(req: S3Request, md: ObjectMD, size: int) -> bytes:
    """SHA-1 of every PIECE_BYTES of the object, streamed: memory stays at one piece."""
    if size == 0:
        return b""
    hashes, piece, filled = [], hashlib.sha1(), 0
    stream = await open_object(req, md, 0, size - 1, read_key(req, md))
    try:
        async for chunk in stream:
            view = memoryview(chunk)
            while view:
                take = min(len(view), PIECE_BYTES - filled)
                piece.update(view[:take])
                filled, view = filled + take, view[take:]
                if filled == PIECE_BYTES:
                    hashes.append(piece.digest())
                    piece, filled = hashlib.sha1(), 0
    finally:
        await stream.aclose()
    if filled:
        hashes.append(piece.digest())
    return b"".join(hashes)


async def get_object_torrent(req: S3Request) -> S3Response:
    _, md = read_target(req)
    if not req.frontend.config.torrents:
        raise S3Error("NoSuchKey", "Torrents are not enabled on this server (COFFER_TORRENTS).", Key=req.key)
    size = md.size
    if size >= C.MAX_PUT_BYTES:
        raise S3Error("InvalidRequest", "Torrent files are only available for objects smaller than 5 GB.")
    name = req.key.rsplit("/", 1)[-1] or req.key
    scheme = req.headers.get("x-forwarded-proto", "http")
    url = f"{scheme}://{req.headers.get('host', 'localhost')}/{quote(req.bucket)}/{quote(req.key)}"
    meta = {"created by": "Coffer", "creation date": int(time.time()), "url-list": [url],
            "info": {"length": size, "name": name, "piece length": PIECE_BYTES,
                     "pieces": await _piece_hashes(req, md, size)}}
    headers = {"Content-Type": "application/x-bittorrent",
               "Content-Disposition": f'attachment; filename="{quote(name)}.torrent"'}
    return S3Response(200, headers, bencode(meta))


HANDLERS = {"GetObjectTorrent": get_object_torrent}
