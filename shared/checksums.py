"""The checksums S3 clients may send with a body: CRC32, CRC32C, CRC64NVME (awscrt), SHA-1, SHA-256."""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable

from awscrt import checksums as crt

from shared.errors import S3Error


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


# The CRCs whose value for a whole object can be combined from its parts' values (FULL_OBJECT type).
_COMBINE: dict[str, tuple[Callable[[int, int, int], int], int]] = {
    "crc32": (crt.combine_crc32, 4),
    "crc32c": (crt.combine_crc32c, 4),
    "crc64nvme": (crt.combine_crc64nvme, 8),
}
COMPOSITE, FULL_OBJECT = "COMPOSITE", "FULL_OBJECT"


def combine_crcs(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """The base64 CRC of concatenated data, from each part's base64 CRC and byte length (no data read)."""
    combine, width = _COMBINE[algorithm]
    value: int | None = None
    for b64, length in parts:
        crc = int.from_bytes(base64.b64decode(b64), "big")
        value = crc if value is None else combine(value, crc, length)
    if value is None:
        raise ValueError("no parts to combine")
    return base64.b64encode(value.to_bytes(width, "big")).decode()


def upload_checksum_type(algorithm: str | None, requested: str | None) -> str | None:
    """The checksum type of a multipart upload (x-amz-checksum-type), checked against its algorithm as S3 does."""
    if requested is None:
        if algorithm is None:
            return None
        return FULL_OBJECT if algorithm == "crc64nvme" else COMPOSITE
    kind = requested.upper()
    if kind not in (COMPOSITE, FULL_OBJECT):
        raise S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
    if algorithm is None:
        raise S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used with the "
                                        "x-amz-checksum-algorithm header.")
    if kind == FULL_OBJECT and algorithm not in _COMBINE or kind == COMPOSITE and algorithm == "crc64nvme":
        raise S3Error("InvalidRequest", f"The {kind} checksum type cannot be used with the {algorithm} "
                                        "checksum algorithm.")
    return kind
