"""Reading a request body: decoded as it streams, hashed on the way, checked at the end.

The MD5 (the ETag), the SHA-256 the signature promised, and any x-amz-checksum-* are computed
in one pass; nothing is buffered beyond one chunk.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator

from s3front.auth import sigv4
from s3front.checksums import ALGORITHMS, Checksum, header_name
from s3front.request import S3Request
from shared import constants as C
from shared.errors import S3Error


def content_md5(headers: dict[str, str]) -> bytes | None:
    """The Content-MD5 header as 16 raw bytes; InvalidDigest when it is not that."""
    value = headers.get("content-md5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise S3Error("InvalidDigest")
    return digest


def body_length(req: S3Request, limit: int = C.MAX_PUT_BYTES) -> int:
    """The payload's length, from x-amz-decoded-content-length for aws-chunked bodies."""
    h = req.headers
    value = h.get("x-amz-decoded-content-length") if _is_streaming(req) else h.get("content-length")
    if value is None:
        raise S3Error("MissingContentLength")
    if not value.isdigit():
        raise S3Error("InvalidArgument", "Content-Length is not a number", ArgumentName="Content-Length",
                      ArgumentValue=value)
    length = int(value)
    if length > limit:
        raise S3Error("EntityTooLarge", ProposedSize=length, MaxSizeAllowed=limit)
    return length


def _is_streaming(req: S3Request) -> bool:
    return bool(req.auth and req.auth.payload_hash.startswith("STREAMING-")) or \
        "aws-chunked" in req.headers.get("content-encoding", "")


def requested_checksum(headers: dict[str, str]) -> tuple[str, str | None] | None:
    """The checksum algorithm a client asked for, and the value it sent in a header (if any)."""
    for algorithm in ALGORITHMS:
        value = headers.get(header_name(algorithm))
        if value is not None:
            return algorithm, value
    sdk = headers.get("x-amz-sdk-checksum-algorithm") or headers.get("x-amz-checksum-algorithm")
    if sdk:
        algorithm = sdk.lower()
        if algorithm not in ALGORITHMS:
            raise S3Error("InvalidRequest", f"Checksum algorithm {sdk} is not supported.")
        return algorithm, None
    return None


class BodyReader:
    """Streams a request's payload, computing MD5, SHA-256 and the requested checksum."""

    def __init__(self, req: S3Request, length: int) -> None:
        self.req = req
        self.length = length
        self.received = 0
        self.md5 = hashlib.md5()
        payload = req.auth.payload_hash if req.auth else sigv4.UNSIGNED_PAYLOAD
        self.expected_sha256 = payload if len(payload) == 64 else None
        self.sha256 = hashlib.sha256() if self.expected_sha256 else None
        self.expected_md5 = content_md5(req.headers)
        wanted = requested_checksum(req.headers)
        self.checksum = Checksum(wanted[0]) if wanted else None
        self.expected_checksum = wanted[1] if wanted else None
        self.trailers: dict[str, str] = {}

    def _source(self) -> AsyncIterator[bytes]:
        if _is_streaming(self.req):
            from s3front.auth.chunked import decode_chunked
            return decode_chunked(self.req, self.trailers)
        return self.req.raw_body()

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._source():
            self.received += len(chunk)
            if self.received > self.length:
                raise S3Error("IncompleteBody", "The body is longer than its Content-Length.")
            self.md5.update(chunk)
            if self.sha256:
                self.sha256.update(chunk)
            if self.checksum:
                self.checksum.update(chunk)
            yield chunk
        if self.received < self.length:
            raise S3Error("IncompleteBody")

    @property
    def etag(self) -> str:
        return self.md5.hexdigest()

    def verify(self) -> dict[str, str]:
        """Check every digest the client announced; returns the checksum to store with the object."""
        if self.sha256 and self.sha256.hexdigest() != self.expected_sha256:
            raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=self.expected_sha256,
                          S3ComputedContentSHA256=self.sha256.hexdigest())
        if self.expected_md5 is not None and self.md5.digest() != self.expected_md5:
            raise S3Error("BadDigest", ExpectedDigest=self.req.headers.get("content-md5"),
                          CalculatedDigest=base64.b64encode(self.md5.digest()).decode())
        if self.checksum is None:
            return {}
        sent = self.expected_checksum or self.trailers.get(header_name(self.checksum.algorithm))
        actual = self.checksum.b64()
        if sent is not None and sent != actual:
            raise S3Error("BadDigest", f"The {self.checksum.algorithm.upper()} you specified did not match "
                                       "the calculated checksum.")
        return {"algorithm": self.checksum.algorithm, "value": actual}


async def read_small_body(req: S3Request, limit: int) -> bytes:
    """A whole (XML) body, refused past `limit` bytes."""
    data = bytearray()
    async for chunk in req.raw_body():
        data += chunk
        if len(data) > limit:
            raise S3Error("MalformedXML", "The XML you provided was larger than the maximum allowed.")
    return bytes(data)
