"""The checksums S3 clients may send with a body: CRC32, CRC32C, CRC64NVME (awscrt), SHA-1, SHA-256."""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable

from awscrt import checksums as crt


class _Crc:
    def __init__(self, fn: Callable[[bytes, int], int], width: int) -> None:
        self.fn, self.width, self.value = fn, width, 0

    def update(self, data: bytes) -> None:
        self.value = self.fn(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(self.width, "big")


FACTORIES: dict[str, Callable[[], object]] = {
    "crc32": lambda: _Crc(crt.crc32, 4),
    "crc32c": lambda: _Crc(crt.crc32c, 4),
    "crc64nvme": lambda: _Crc(crt.crc64nvme, 8),
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
ALGORITHMS = tuple(FACTORIES)
DIGEST_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}


class Checksum:
    """A running checksum of one algorithm, rendered as S3 shows it (base64 of the digest)."""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self._h = FACTORIES[algorithm]()

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def b64(self) -> str:
        return base64.b64encode(self._h.digest()).decode()


def header_name(algorithm: str) -> str:
    return f"x-amz-checksum-{algorithm}"


def valid_value(algorithm: str, value: str) -> bool:
    """Is `value` the canonical base64 of a digest of the algorithm's size?"""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == DIGEST_SIZES[algorithm] and base64.b64encode(raw).decode() == value
