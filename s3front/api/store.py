"""The write path of design.md, shared by PutObject, CopyObject and UploadPart.

1. stream the bytes to the data location (durable once it answers); 2. check the digests;
3. commit the metadata; 4. answer; 5. then delete what the commit replaced.
Data is deleted on the spot only when the metadata write is known not to have happened.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from typing import TypeVar

from s3front.body import BodyReader
from s3front.request import S3Request
from shared import constants as C
from s3front.sse import envelope
from s3front.sse.data import Sealing
from shared.contract.records import Piece
from shared.errors import ServiceUnavailable

T = TypeVar("T")


def put_location(req: S3Request) -> str:
    """Where a write's bytes go: x-amz-meta-scal-location-constraint, else the location serving its
    x-amz-storage-class, else its bucket's (InvalidStorageClass, InvalidArgument for what names nothing)."""
    headers = req.headers
    return req.frontend.placement.object(req.access.bucket.location, headers.get(C.LOCATION_HEADER),
                                         headers.get("x-amz-storage-class"))


async def write_data(req: S3Request, reader: BodyReader, sealing: Sealing | None = None, *,
                     location: str) -> tuple[Piece, ...]:
    """Stream the body to a data location (sealed first, with `sealing`); the pieces of the durable
    bytes, checked against the digests."""
    if reader.length == 0:
        async for _ in reader.chunks():
            pass
        reader.verify()
        return ()
    # An unknown length (HTTP chunked) streams on chunked; the reader learns the size.
    if sealing is None:
        piece = await req.frontend.data.put(location, reader.chunks(), reader.length, hint=_hint(req))
        pieces = (replace(piece, size=reader.length),)
    else:
        piece = await _put_sealed(req, sealing, reader.chunks(), reader.length, location)
        pieces = (sealing.piece(piece, reader.length),)
    try:
        reader.verify()
    except Exception:
        await discard(req, pieces)
        raise
    if reader.length == 0:      # an empty chunked body: no data piece, like any empty object
        await discard(req, pieces)
        return ()
    return pieces


async def write_stream(req: S3Request, chunks: AsyncIterator[bytes], length: int,
                       sealing: Sealing | None = None, *, location: str) -> tuple[Piece, ...]:
    """Store bytes produced by the front-end itself (a copy), as one data piece in a location (sealed,
    with `sealing`)."""
    if length == 0:
        return ()
    if sealing is not None:
        return (sealing.piece(await _put_sealed(req, sealing, chunks, length, location), length),)
    return (await req.frontend.data.put(location, chunks, length, hint=_hint(req)),)


async def _put_sealed(req: S3Request, sealing: Sealing, chunks: AsyncIterator[bytes], length: int | None,
                      location: str) -> Piece:
    """The data key is made before any byte moves; the location sees sealed packages only."""
    sealed = envelope.sealed_size(length) if length is not None else None
    return await req.frontend.data.put(location, await sealing.seal(req, chunks), sealed,
                                       hint=_hint(req))


def _hint(req: S3Request) -> str:
    """What the bytes are for ("bucket/key"), for locations that name what they store by the object."""
    return f"{req.bucket}/{req.key}"


async def commit(req: S3Request, write: Awaitable[T], pieces: tuple[Piece, ...]) -> T:
    """Run the metadata write; on a known failure, delete the data it would have referenced."""
    try:
        return await write
    except ServiceUnavailable as exc:
        if not exc.outcome_unknown:
            await discard(req, pieces)
        raise          # outcome unknown: a committed record may point at the data; the sweeper decides
    except Exception:
        await discard(req, pieces)
        raise


async def discard(req: S3Request, pieces: tuple[Piece, ...]) -> None:
    for piece in pieces:
        await req.frontend.discard(piece)
