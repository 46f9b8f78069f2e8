"""The write path of architecture.md, shared by PutObject, CopyObject and UploadPart.

1. stream the bytes to the data daemon (durable on 201); 2. check the digests;
3. commit the metadata; 4. answer; 5. then delete what the commit replaced.
Data is deleted on the spot only when the metadata write is known not to have happened.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

from s3front.body import BodyReader
from s3front.request import S3Request
from shared.errors import ServiceUnavailable


async def write_data(req: S3Request, reader: BodyReader) -> list[dict[str, Any]] | None:
    """Stream the body to the data daemon; the location of the durable bytes, checked against the digests."""
    if reader.length == 0:
        async for _ in reader.chunks():
            pass
        reader.verify()
        return None
    # An unknown length (HTTP chunked) streams on to the daemon chunked; the reader learns the size.
    key = await req.frontend.data.put(reader.chunks(), reader.length)
    location = [{"key": key, "size": reader.length, "start": 0, "dataStoreName": "us-east-1"}]
    try:
        reader.verify()
    except Exception:
        await discard(req, location)
        raise
    if reader.length == 0:      # an empty chunked body: no data piece, like any empty object
        await discard(req, location)
        return None
    return location


async def write_stream(req: S3Request, chunks: AsyncIterator[bytes], length: int) -> list[dict[str, Any]] | None:
    """Store bytes produced by the front-end itself (a copy), as one data piece."""
    if length == 0:
        return None
    key = await req.frontend.data.put(chunks, length)
    return [{"key": key, "size": length, "start": 0, "dataStoreName": "us-east-1"}]


async def commit(req: S3Request, write: Awaitable[dict], location: list[dict] | None) -> dict:
    """Run the metadata write; on a known failure, delete the data it would have referenced."""
    try:
        return await write
    except ServiceUnavailable as exc:
        if not exc.outcome_unknown:
            await discard(req, location)
        raise          # outcome unknown: a committed record may point at the data; the sweeper decides
    except Exception:
        await discard(req, location)
        raise


async def discard(req: S3Request, location: list[dict] | None) -> None:
    for piece in location or []:
        await req.frontend.discard(piece["key"])
