"""Encryption on the data path: what each write is sealed with, sealing a stream, opening a range.

Handlers call these only where encryption is involved; an unencrypted object never reaches the
key service or the envelope:
- writes: `for_write()` (PutObject, CopyObject, CreateMultipartUpload; POST object can call it too)
  decides from the request's headers and the bucket's default encryption; `for_part()` (UploadPart,
  UploadPartCopy) from the upload's; `Sealing.seal()` turns a plaintext stream into sealed packages
  and records what the piece needs to be opened again (`Sealing.piece()`).
- reads: `read_key()` checks the SSE-C key of a GET, HEAD or copy source; `open_range()` opens the
  plaintext bytes [start, end] of an encrypted object, fetching and decrypting only the packages
  that hold them.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from s3front.sse import envelope
from s3front.sse.bucket_config import BucketEncryption, choose
from s3front.sse.headers import (AES256, CUSTOMER, KMS, SSE, CustomerKey, ObjectSse, check_kms_signature,
                                 READ, check_part, check_read, etag, parse_copy_source, parse_part,
                                 parse_read, parse_write, response_headers)
from s3front.sse.service import Encryption, s3_arn
from s3front.request import S3Request
from shared import constants as C
from shared.contract.data import DataStream
from shared.contract.records import ObjectMD, Piece
from shared.errors import S3Error

ENCRYPTION_CONFIG = "encryption"           # the bucket configuration kind of PutBucketEncryption
_READ_HEADERS = (SSE, SSE + "-aws-kms-key-id", SSE + "-context", SSE + "-bucket-key-enabled",
                 CUSTOMER + "algorithm", CUSTOMER + "key", CUSTOMER + "key-md5")


@dataclass
class Sealing:
    """How one write (an object, or one part) is encrypted; `seal` keeps what the piece needs."""
    obj: ObjectSse
    customer: CustomerKey | None = field(default=None, repr=False)
    part: int = 0
    _record: dict[str, Any] | None = None
    service: Encryption | None = field(default=None, repr=False)    # makes the opaque ETags

    async def seal(self, req: S3Request, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The sealed form of a plaintext stream, under a fresh data key for this piece."""
        data_key, self._record = await req.frontend.sse.encryption.new_piece(
            self.obj, req.bucket or "", req.key or "", self.part, self.customer)
        return envelope.encrypt(chunks, data_key, self._record["env"])

    def piece(self, piece: Piece, size: int) -> Piece:
        """The stored piece of `size` plaintext bytes, with its sealed key and sealed length."""
        return replace(piece, size=size, sse=self._record, stored_size=envelope.sealed_size(size))

    def etag(self, plaintext_md5: str) -> str:
        """The ETag (hex): the plaintext's MD5 (SSE-S3), else a keyed digest of it (headers.py)."""
        if self.obj.mode == AES256 or self.service is None:
            return plaintext_md5
        return etag(self.obj.mode, plaintext_md5, self.service.opaque_etag(self.obj, plaintext_md5, self.customer))

    def wire(self) -> dict[str, Any]:
        return self.obj.to_dict()

    def headers(self, operation: str) -> dict[str, str]:
        """The SSE headers of the write's answer (headers.WRITE, PART or COMPLETE)."""
        return response_headers(self.obj, operation, self.customer)


def read_headers(md: ObjectMD, customer: CustomerKey | None) -> dict[str, str]:
    """The SSE headers of a GET or HEAD answer."""
    return response_headers(stored_sse(md), READ, customer)


def _signature_version(req: S3Request) -> str | None:
    auth = req.auth
    if auth is None or auth.account is None:
        return None
    return "SigV4" if auth.scope else "SigV2"


async def bucket_default(req: S3Request) -> BucketEncryption | None:
    """The bucket's default encryption; no call at all when the bucket record says it has none."""
    bucket = req.access.bucket
    if ENCRYPTION_CONFIG not in bucket.configs:
        return None
    stored = await req.frontend.metadata.get_bucket_config(req.bucket, ENCRYPTION_CONFIG)
    return BucketEncryption.from_dict(stored) if stored else None


async def for_write(req: S3Request, action: str = "s3:PutObject",
                    headers: Mapping[str, str] | None = None) -> Sealing | None:
    """The encryption of a new object (or upload): the request's SSE headers, else the bucket's default.

    POST object passes its form fields as `headers` (lower-case names), then hands the Sealing to
    write_data() and new_object_md() as PutObject does.
    """
    sse = req.frontend.sse
    request = parse_write(req.headers if headers is None else headers, req.secure, sse.allow_http)
    default = await bucket_default(req)
    if request.mode is None and request.customer is None and default is None:
        return None
    resource = s3_arn(req.bucket or "", req.key)
    principal = req.principal
    requester = getattr(principal, "arn", "") or f"arn:aws:iam::{getattr(req.account, 'account_id', '')}:root"
    write = choose(request, default, None, action=action, requester_arn=requester, resource_arn=resource)
    if write is None:
        return None
    if request.mode == KMS:
        check_kms_signature(request.mode, _signature_version(req))
    obj = await sse.encryption.begin(write, req.bucket or "", req.key or "")
    return Sealing(obj, write.customer, service=sse.encryption)


def for_part(req: S3Request, upload: ObjectSse | None, part: int) -> Sealing | None:
    """The encryption of one part: the upload's; the SSE-C key must come again, and be the same."""
    customer = parse_part(req.headers, req.secure, req.frontend.sse.allow_http)
    check_part(upload, customer)
    return None if upload is None else Sealing(upload, customer, part, service=req.frontend.sse.encryption)


def stored_sse(md: ObjectMD | None) -> ObjectSse | None:
    return None if md is None or md.sse is None else ObjectSse.from_dict(md.sse)


def read_key(req: S3Request, md: ObjectMD, source: bool = False) -> CustomerKey | None:
    """GET, HEAD, GetObjectAttributes or a copy source: the SSE-C key given, checked against the object.

    For an unencrypted object and a request without SSE headers this costs a few dict lookups.
    """
    headers = req.headers
    if md.sse is None and not source and not any(name in headers for name in _READ_HEADERS):
        return None
    allow = req.frontend.sse.allow_http
    given = parse_copy_source(headers, req.secure, allow) if source else parse_read(headers, req.secure, allow)
    check_read(stored_sse(md), given)
    return given


def _wanted(md: ObjectMD, start: int, end: int) -> list[tuple[Piece, int, int]]:
    wanted = [(p, max(start, p.start) - p.start, min(end, p.end) - p.start)
              for p in md.pieces if p.start <= end and p.end >= start]
    if not wanted:
        raise S3Error("InternalError")
    return wanted


async def open_range(req: S3Request, md: ObjectMD, start: int, end: int, customer: CustomerKey | None,
                     source: bool = False) -> SealedStream:
    """Plaintext bytes [start, end] of an encrypted object (the copy source's, with `source`); its first
    piece opens before headers go out."""
    access = req.access
    where = (access.source_bucket.name, access.source_key) if source else (req.bucket or "", req.key or "")
    stream = SealedStream(req, stored_sse(md), customer, _wanted(md, start, end), where)
    await stream.open_next()
    return stream


class SealedStream:
    """An encrypted object's pieces, each fetched as the sealed span of its range and decrypted."""

    def __init__(self, req: S3Request, obj: ObjectSse | None, customer: CustomerKey | None,
                 ranges: list[tuple[Piece, int, int]], where: tuple[str, str]) -> None:
        if obj is None:
            raise S3Error("InternalError")
        self._req, self._obj, self._customer, self._rest = req, obj, customer, ranges
        self._where = where             # the object's bucket and key, which its data keys are bound to
        self._current: DataStream | None = None
        self._plain: AsyncIterator[bytes] | None = None
        self._ready: bytes | None = None

    async def open_next(self) -> None:
        piece, first, last = self._rest.pop(0)
        req = self._req
        self._ready, self._plain = None, None
        data_key, params = await req.frontend.sse.encryption.open_piece(
            self._obj, piece.sse or {}, *self._where, self._customer)
        span = envelope.sealed_span(piece.size, first, last, envelope.package_size(params))
        self._current = await req.frontend.data.open(piece, span.sealed_first, span.sealed_last)
        if not self._rest and span.sealed_length <= C.SSE_BUFFERED_READ_BYTES:
            # A small read opens whole before the answer starts: tampering gets a clean 500, never bytes.
            sealed = self._current.ready()
            if sealed is None:
                sealed = b"".join([chunk async for chunk in self._current])
            self._ready = envelope.open_span(sealed, data_key, params, piece.size, first, last)
            return
        self._plain = envelope.decrypt(self._current.__aiter__(), data_key, params, piece.size, first, last)

    def ready(self) -> bytes | None:
        return self._ready

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            if self._ready is not None:
                yield self._ready
            elif self._plain is not None:
                async for chunk in self._plain:
                    yield chunk
            await self.aclose()
            if not self._rest:
                return
            await self.open_next()

    async def aclose(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            await current.aclose()
