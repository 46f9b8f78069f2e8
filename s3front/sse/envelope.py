"""The envelope format of encrypted object data: AES-256-GCM packages, sealed and opened as streams.

The plaintext of an object (or of one part of a multipart upload) is cut into packages of `pkg` bytes
(64 KiB); the last one may be shorter, and an empty body is one empty package. Each package is sealed
on its own, as its ciphertext followed by a 16-byte GCM tag, and the sealed data is the packages one
after the other with no header:

    sealed_size(n) = n + 16 * max(1, ceil(n / pkg))

- Key: a random 256-bit data key per object and per part (sealed elsewhere, see `keys.py`).
- Nonce of package i: the 96-bit salt XOR i (the TLS 1.3 construction). The salt is random per
  object (per part), so no nonce repeats under a key even if a data key were ever reused.
- Associated data of package i: a label, the format version, the part number, i and a flag saying
  whether it is the last package. A package moved elsewhere in the stream or into another part, or
  a stream cut short after a package that was not the last, fails authentication.

Everything the decryptor needs besides the key is the small dict `params` (`new_params()`), kept in
the object's metadata next to the sealed data key: {"v": version, "salt": base64, "pkg": bytes, "part": n}.
The plaintext size comes from the object's metadata too; a wrong size breaks the package layout, so
it fails authentication like any other tampering.
"""
from __future__ import annotations

import base64
import binascii
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared import constants as C
from shared.errors import InternalError

Params = dict[str, Any]
_LABEL = b"coffer-sse-pkg"
_MAX_PACKAGE = 16 * 2**20          # the largest package size a stored `pkg` may claim
_MAX_PART = 2**32 - 1


class EnvelopeError(InternalError):
    """Sealed data that does not authenticate: tampered, truncated, reordered, or the wrong key.

    Raised before a response starts it becomes 500 InternalError; raised mid-body the caller must cut
    the connection. Never are wrong bytes returned.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"encrypted data failed to authenticate: {message}")


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


def new_params(part: int = 0, package: int = C.SSE_PACKAGE_BYTES) -> Params:
    """Fresh envelope parameters for one object (part 0) or one part of a multipart upload."""
    salt = base64.b64encode(os.urandom(C.SSE_SALT_BYTES)).decode()
    return {"v": C.SSE_FORMAT_VERSION, "salt": salt, "pkg": package, "part": part}


def package_count(size: int, package: int = C.SSE_PACKAGE_BYTES) -> int:
    """How many packages `size` plaintext bytes make (an empty body is one empty package)."""
    return max(1, -(-size // package))


def sealed_size(size: int, package: int = C.SSE_PACKAGE_BYTES) -> int:
    """The length of the sealed data of `size` plaintext bytes."""
    return size + C.SSE_TAG_BYTES * package_count(size, package)


@dataclass(frozen=True)
class Span:
    """What to fetch and what to keep for a plaintext range: packages first..last of the sealed data."""
    first_package: int
    last_package: int
    sealed_first: int            # inclusive byte offsets into the sealed data
    sealed_last: int
    skip: int                    # plaintext bytes to drop from the start of the first package
    length: int                  # plaintext bytes the range holds

    @property
    def sealed_length(self) -> int:
        return self.sealed_last - self.sealed_first + 1


def sealed_span(size: int, first: int, last: int, package: int = C.SSE_PACKAGE_BYTES) -> Span:
    """The sealed byte range holding plaintext bytes first..last (inclusive) of a `size`-byte body.

    For an empty body pass first=0, last=-1: the span is its one empty package, so that even an
    empty read is authenticated.
    """
    if size == 0 and (first, last) == (0, -1):
        return Span(0, 0, 0, C.SSE_TAG_BYTES - 1, 0, 0)
    if not 0 <= first <= last < size:
        raise ValueError(f"range {first}-{last} is not inside a body of {size} bytes")
    sealed_package = package + C.SSE_TAG_BYTES
    first_package, last_package = first // package, last // package
    plain_end = min(size, (last_package + 1) * package)          # end of the last package's plaintext
    sealed_last = plain_end + C.SSE_TAG_BYTES * (last_package + 1) - 1
    return Span(first_package, last_package, first_package * sealed_package, sealed_last,
                first - first_package * package, last - first + 1)


def split_range(sizes: Sequence[int], first: int, last: int) -> list[tuple[int, int, int]]:
    """A range of an object made of several pieces (parts) as (piece index, first, last) within each."""
    out, start = [], 0
    for index, size in enumerate(sizes):
        end = start + size - 1
        if size and start <= last and end >= first:
            out.append((index, max(first, start) - start, min(last, end) - start))
        start += size
    return out


class _Packages:
    """Seals and opens single packages of one object or part, given its key and parameters."""

    def __init__(self, key: bytes, params: Mapping[str, Any]) -> None:
        version, package, part = params.get("v"), params.get("pkg"), params.get("part")
        if version != C.SSE_FORMAT_VERSION:
            raise EnvelopeError(f"unknown envelope format version {version!r}")
        if not isinstance(package, int) or not 0 < package <= _MAX_PACKAGE:
            raise EnvelopeError(f"invalid package size {package!r}")
        if not isinstance(part, int) or not 0 <= part <= _MAX_PART:
            raise EnvelopeError(f"invalid part number {part!r}")
        try:
            salt = base64.b64decode(params.get("salt", ""), validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise EnvelopeError("invalid salt") from None
        if len(salt) != C.SSE_SALT_BYTES or len(key) != C.SSE_KEY_BYTES:
            raise EnvelopeError("invalid salt or key length")
        self.package = package
        self._aead = AESGCM(key)
        self._salt = int.from_bytes(salt, "big")
        self._prefix = _LABEL + bytes([version]) + part.to_bytes(4, "big")

    def _nonce_aad(self, index: int, final: bool) -> tuple[bytes, bytes]:
        nonce = (self._salt ^ index).to_bytes(C.SSE_SALT_BYTES, "big")
        return nonce, self._prefix + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")

    def seal(self, index: int, plaintext: bytes | bytearray, final: bool) -> bytes:
        nonce, aad = self._nonce_aad(index, final)
        return self._aead.encrypt(nonce, plaintext, aad)

    def open(self, index: int, sealed: bytes | bytearray | memoryview, final: bool) -> bytes:
        nonce, aad = self._nonce_aad(index, final)
        try:
            return self._aead.decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise EnvelopeError(f"package {index} does not authenticate") from None


async def encrypt(source: AsyncIterator[bytes], key: bytes, params: Mapping[str, Any],
                  sealed_hash: Hasher | None = None) -> AsyncIterator[bytes]:
    """Seal a plaintext stream (chunks of any size): yields one sealed package at a time.

    Memory stays at one package whatever the stream's length. A full package is held back until
    more data arrives, since only then is it known not to be the last. `sealed_hash` (an MD5, say)
    sees every sealed byte, for the ETag of SSE-C and SSE-KMS objects.
    """
    packages = _Packages(key, params)
    size, index, buf = packages.package, 0, bytearray()
    async for chunk in source:
        view, pos = memoryview(chunk), 0
        while pos < len(view):
            if len(buf) == size:
                sealed = packages.seal(index, buf, final=False)
                index += 1
                buf.clear()
                if sealed_hash is not None:
                    sealed_hash.update(sealed)
                yield sealed
            take = min(size - len(buf), len(view) - pos)
            buf += view[pos:pos + take]
            pos += take
    sealed = packages.seal(index, buf, final=True)
    if sealed_hash is not None:
        sealed_hash.update(sealed)
    yield sealed


async def decrypt(source: AsyncIterator[bytes], key: bytes, params: Mapping[str, Any], size: int,
                  first: int = 0, last: int | None = None) -> AsyncIterator[bytes]:
    """Open the sealed bytes of `sealed_span(size, first, last)` and yield plaintext bytes first..last.

    `source` must yield exactly the span's sealed bytes, in chunks of any size. Every package is
    authenticated before any of its bytes are yielded; anything wrong raises EnvelopeError.
    """
    last = size - 1 if last is None else last
    packages = _Packages(key, params)
    span = sealed_span(size, first, last, packages.package)
    reader = _SpanReader(packages, span, size)
    async for chunk in source:
        for plaintext in reader.feed(chunk):
            yield plaintext
    reader.end()


class _SpanReader:
    """Cuts the sealed bytes of a span into packages, opens them, and keeps the range's bytes."""

    def __init__(self, packages: _Packages, span: Span, size: int) -> None:
        self._packages, self._span, self._size = packages, span, size
        self._index = span.first_package
        self._buf = bytearray()
        self._skip, self._left = span.skip, span.length
        self._final = package_count(size, packages.package) - 1

    def _sealed_length(self, index: int) -> int:
        plain = min(self._packages.package, self._size - index * self._packages.package)
        return plain + C.SSE_TAG_BYTES

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buf += chunk
        out = []
        while self._index <= self._span.last_package:
            need = self._sealed_length(self._index)
            if len(self._buf) < need:
                return out
            plaintext = self._packages.open(self._index, self._buf[:need], self._index == self._final)
            del self._buf[:need]
            self._index += 1
            piece = plaintext[self._skip:self._skip + self._left]
            self._skip, self._left = 0, self._left - len(piece)
            if piece:
                out.append(piece)
        if self._buf:
            raise EnvelopeError("more sealed data than the object holds")
        return out

    def end(self) -> None:
        if self._index <= self._span.last_package or self._buf:
            raise EnvelopeError(f"sealed data ends early, in package {self._index}")


def seal_bytes(data: bytes, key: bytes, params: Mapping[str, Any]) -> bytes:
    """The sealed form of a body held in memory (small objects, tests)."""
    packages = _Packages(key, params)
    size, count = packages.package, package_count(len(data), packages.package)
    return b"".join(packages.seal(i, data[i * size:(i + 1) * size], i == count - 1) for i in range(count))


def open_bytes(sealed: bytes, key: bytes, params: Mapping[str, Any], size: int) -> bytes:
    """The plaintext of sealed data held in memory; EnvelopeError unless it authenticates whole."""
    packages = _Packages(key, params)
    reader = _SpanReader(packages, sealed_span(size, 0, size - 1, packages.package), size)
    out = b"".join(reader.feed(sealed))
    reader.end()
    return out


def package_size(params: Mapping[str, Any]) -> int:
    """The package size stored parameters claim; EnvelopeError unless it is a sane one."""
    package = params.get("pkg")
    if not isinstance(package, int) or isinstance(package, bool) or not 0 < package <= _MAX_PACKAGE:
        raise EnvelopeError(f"invalid package size {package!r}")
    return package


def open_span(sealed: bytes, key: bytes, params: Mapping[str, Any], size: int, first: int, last: int) -> bytes:
    """Plaintext bytes first..last of a `size`-byte body, from the sealed bytes of their span, in memory."""
    packages = _Packages(key, params)
    reader = _SpanReader(packages, sealed_span(size, first, last, packages.package), size)
    out = b"".join(reader.feed(sealed))
    reader.end()
    return out
