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
from s3front.auth.chunked import decode_chunked, declared_trailers
from s3front.request import S3Request
from shared import constants as C
from shared.checksums import ALGORITHMS, Checksum, header_name, valid_value
from shared.contract.records import ChecksumValue
from shared.errors import S3Error
from shared.params import parse_int

# x-amz-checksum-* headers that name no checksum value.
_NOT_VALUES = frozenset(["x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm"])


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


def body_length(req: S3Request, limit: int = C.MAX_PUT_BYTES) -> int | None:
    """The payload's length, from x-amz-decoded-content-length for aws-chunked bodies.

    None for an HTTP chunked body without Content-Length: its length is learnt as it streams.
    """
    h = req.headers
    value = h.get("x-amz-decoded-content-length") if _is_streaming(req) else h.get("content-length")
    if value is None and not _is_streaming(req) and "chunked" in h.get("transfer-encoding", "").lower():
        return None
    if value is None:
        raise S3Error("MissingContentLength")
    length = parse_int(value)
    if length is None:
        raise S3Error("InvalidArgument", "Content-Length is not a number", ArgumentName="Content-Length",
                      ArgumentValue=value)
    if length > limit:
        raise S3Error("EntityTooLarge", ProposedSize=value, MaxSizeAllowed=limit)
    return length


def _is_streaming(req: S3Request) -> bool:
    """aws-chunked framing is announced by x-amz-content-sha256 (STREAMING-*), not by Content-Encoding."""
    return bool(req.auth and req.auth.payload_hash.startswith("STREAMING-"))


def stored_content_encoding(headers: dict[str, str]) -> str | None:
    """Content-Encoding as the object keeps it: without the aws-chunked transfer framing."""
    value = headers.get("content-encoding")
    if value is None:
        return None
    kept = [v.strip() for v in value.split(",") if v.strip() and v.strip().lower() != "aws-chunked"]
    return ", ".join(kept) or None


def _header_checksums(headers: dict[str, str], validate: bool = True) -> list[tuple[str, str]]:
    """The x-amz-checksum-<algorithm> headers (not -mode, -type or -algorithm), each one checked."""
    found = []
    for name, value in headers.items():
        if not name.startswith("x-amz-checksum-") or name in _NOT_VALUES:
            continue
        algorithm = name[len("x-amz-checksum-"):]
        if algorithm not in ALGORITHMS:
            raise S3Error("InvalidRequest", "The algorithm type you specified in x-amz-checksum- header is invalid.")
        found.append((algorithm, value))
    if len(found) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                                        "not allowed.")
    for algorithm, value in found:
        # A value that cannot be the algorithm's digest cannot match the body either: BadDigest,
        # as s3-tests (checked against AWS) expect, refused before the body is read.
        if validate and not valid_value(algorithm, value):
            raise _bad_digest(algorithm)
    return found


def object_checksum_header(headers: dict[str, str]) -> ChecksumValue | None:
    """The whole object's checksum a CompleteMultipartUpload announces: {algorithm, value}, value unchecked.

    Its value may be composite (`<base64>-<N>`), so only the comparison with the computed one decides (BadDigest).
    """
    found = _header_checksums(headers, validate=False)
    return ChecksumValue(found[0][0], found[0][1]) if found else None


def _trailer_checksums(headers: dict[str, str]) -> list[str]:
    names = declared_trailers(headers)
    if any(not n.startswith("x-amz-checksum-") or n[len("x-amz-checksum-"):] not in ALGORITHMS for n in names):
        raise S3Error("InvalidRequest", "The value specified in the x-amz-trailer header is not supported")
    return [n[len("x-amz-checksum-"):] for n in names]


def requested_checksum(headers: dict[str, str]) -> tuple[str, str | None] | None:
    """The checksum a client asked for, and the value it sent in a header (None: it comes in a trailer)."""
    in_headers = _header_checksums(headers)
    in_trailers = _trailer_checksums(headers)
    if len(in_headers) + len(in_trailers) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header")
    wanted = in_headers[0] if in_headers else (in_trailers[0], None) if in_trailers else None
    sdk = headers.get("x-amz-sdk-checksum-algorithm")
    if sdk:
        if wanted is None:
            raise S3Error("InvalidRequest", "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                                            "x-amz-checksum-* or x-amz-trailer headers were found.")
        if sdk.lower() != wanted[0]:
            raise S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
    return wanted


def _bad_digest(algorithm: str) -> S3Error:
    return S3Error("BadDigest", f"The {algorithm.upper()} you specified did not match the calculated checksum.")


class BodyReader:
    """Streams a request's payload, computing MD5, SHA-256 and the requested checksum.

    `default_checksum` is computed (and kept) when the client names none, as S3 does for PutObject.
    """

    def __init__(self, req: S3Request, length: int | None, default_checksum: str | None = None,
                 body_checksums: bool = True, limit: int = C.MAX_PUT_BYTES,
                 source: AsyncIterator[bytes] | None = None, min_length: int = 0) -> None:
        self.req = req
        self.length = length      # None until an HTTP chunked body has been read to its end
        self.limit = limit
        self.min_length = min_length        # EntityTooSmall below it (a POST policy's content-length-range)
        self._body = source                 # the payload, when it is not the request's body (a POST form's file)
        self.received = 0
        self.md5 = hashlib.md5()
        payload = req.auth.payload_hash if req.auth else sigv4.UNSIGNED_PAYLOAD
        self.expected_sha256 = payload.lower() if len(payload) == 64 else None
        self.sha256 = hashlib.sha256() if self.expected_sha256 else None
        self.expected_md5 = content_md5(req.headers)
        # CompleteMultipartUpload's x-amz-checksum-* headers describe the object, not the XML body.
        wanted = requested_checksum(req.headers) if body_checksums else None
        if wanted and wanted[1] is None and not _is_streaming(req):
            raise S3Error("MalformedTrailerError")   # a trailer needs an aws-chunked body to travel in
        algorithm = wanted[0] if wanted else default_checksum
        self.checksum = Checksum(algorithm) if algorithm else None
        self.expected_checksum = wanted[1] if wanted else None
        self.trailer_checksum = bool(wanted) and wanted[1] is None
        self.trailers: dict[str, str] = {}

    def _source(self) -> AsyncIterator[bytes]:
        if self._body is not None:
            return self._body
        if _is_streaming(self.req):
            return decode_chunked(self.req, self.trailers)
        return self.req.raw_body()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The payload; the last piece is held back until every digest has been checked.

        Holding it back means a body that fails a check never reaches the data daemon whole,
        so the daemon never makes it durable.
        """
        held = b""
        async for chunk in self._source():
            self._count(chunk)
            if held:
                yield held
            held = chunk
        if self.length is None:
            self.length = self.received
        if self.received < self.length:
            raise S3Error("IncompleteBody", NumberBytesExpected=self.length, NumberBytesProvided=self.received)
        if self.received < self.min_length:
            raise S3Error("EntityTooSmall", ProposedSize=self.received, MinSizeAllowed=self.min_length)
        self.verify()
        if held:
            yield held

    def _count(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.length is None:
            if self.received > self.limit:
                raise S3Error("EntityTooLarge", ProposedSize=self.received, MaxSizeAllowed=self.limit)
        elif self.received > self.length:
            raise S3Error("IncompleteBody", "The body is longer than its Content-Length.")
        self.md5.update(chunk)
        if self.sha256:
            self.sha256.update(chunk)
        if self.checksum:
            self.checksum.update(chunk)

    @property
    def etag(self) -> str:
        return self.md5.hexdigest()

    def verify(self) -> ChecksumValue | None:
        """Check every digest the client announced; returns the checksum to store with the object."""
        if self.sha256 and self.sha256.hexdigest() != self.expected_sha256:
            raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=self.expected_sha256,
                          S3ComputedContentSHA256=self.sha256.hexdigest())
        if self.expected_md5 is not None and self.md5.digest() != self.expected_md5:
            raise S3Error("BadDigest", ExpectedDigest=self.req.headers.get("content-md5"),
                          CalculatedDigest=base64.b64encode(self.md5.digest()).decode())
        if self.checksum is None:
            return None
        algorithm, actual = self.checksum.algorithm, self.checksum.b64()
        sent = self.expected_checksum
        if self.trailer_checksum:
            sent = self.trailers.get(header_name(algorithm))
            if sent is None or not valid_value(algorithm, sent):
                raise S3Error("InvalidRequest", f"Value for {header_name(algorithm)} trailing header is invalid.")
        if sent is not None and sent != actual:
            raise _bad_digest(algorithm)
        return ChecksumValue(algorithm, actual)


async def read_small_body(req: S3Request, limit: int, body_checksums: bool = True) -> bytes:
    """A whole (XML) body, refused past `limit` bytes; aws-chunked framing removed, digests checked."""
    reader = BodyReader(req, limit, body_checksums=body_checksums)
    data = bytearray()
    async for chunk in reader._source():
        data += chunk
        if len(data) > limit:
            raise S3Error("MalformedXML", "The XML you provided was larger than the maximum allowed.")
        reader._count(chunk)
    reader.verify()
    return bytes(data)
