"""Keys of server-side encryption: the master key, keys derived from it, sealed data keys, SSE-C fingerprints.

- The master key (32 bytes) comes from COFFER_KMS_MASTER_KEY (base64) or from the file named by
  COFFER_KMS_MASTER_KEY_FILE (base64 text). It is never logged: `MasterKey` hides it from repr().
- Keys derived from it (HKDF-SHA256, one per purpose) seal SSE-S3 data keys and the built-in KMS's keys.
- A data key is sealed with AES-256-GCM under a key-encryption key; the associated data is the
  canonical JSON of a context naming what the key belongs to (bucket, object, algorithm, part), so
  a sealed key copied to another object does not open.
- SSE-C keys are never stored: a salted HMAC recognises the key on later requests, and the data
  key is sealed under a key derived from it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from s3front.sse.envelope import EnvelopeError
from shared import constants as C

MASTER_KEY_ENV = "COFFER_KMS_MASTER_KEY"
MASTER_KEY_FILE_ENV = "COFFER_KMS_MASTER_KEY_FILE"
SEALED_VERSION = 1
_NONCE_BYTES = 12
_KDF_LABEL = b"coffer/v1/"
_SSE_C_KEK = "sse-c-kek"
_SSE_C_ID = b"coffer/v1/sse-c-id"


class KeyUnsealError(EnvelopeError):
    """A sealed key that does not open: the wrong key-encryption key, context, or tampered bytes."""


class MasterKey:
    """The 32-byte master key. repr() and str() never show it, so it cannot end up in a log."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) != C.SSE_KEY_BYTES:
            raise ValueError(f"the master key must be {C.SSE_KEY_BYTES} bytes, not {len(secret)}")
        self._secret = bytes(secret)

    def derive(self, purpose: str) -> bytes:
        """The 32-byte key for one purpose ("sse-s3", "kms-keys"...): HKDF-SHA256 of the master key."""
        return derive_key(self._secret, purpose)

    def __repr__(self) -> str:
        return "MasterKey(<hidden>)"

    __str__ = __repr__


def derive_key(secret: bytes, purpose: str) -> bytes:
    """HKDF-SHA256 of `secret` for `purpose`: independent keys from one secret."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=C.SSE_KEY_BYTES, salt=None, info=_KDF_LABEL + purpose.encode())
    return hkdf.derive(secret)


def decode_key(text: str, what: str) -> bytes:
    """A base64 32-byte key; ValueError naming `what` (never the value) when it is not one."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None
    if len(key) != C.SSE_KEY_BYTES:
        raise ValueError(f"{what} must decode to {C.SSE_KEY_BYTES} bytes, not {len(key)}")
    return key


def load_master_key(env: Mapping[str, str] = os.environ) -> MasterKey | None:
    """The master key the environment names, or None when it names none (SSE-S3 and SSE-KMS are then off)."""
    if env.get(MASTER_KEY_ENV):
        return MasterKey(decode_key(env[MASTER_KEY_ENV], MASTER_KEY_ENV))
    if env.get(MASTER_KEY_FILE_ENV):
        path = Path(env[MASTER_KEY_FILE_ENV])
        return MasterKey(decode_key(path.read_text(), f"the master key in {path}"))
    return None


def generate_master_key_file(path: str | Path) -> None:
    """Write a new random master key (base64) to `path`, readable by its owner only; never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(os.urandom(C.SSE_KEY_BYTES)).decode() + "\n")
        f.flush()
        os.fsync(f.fileno())


def new_data_key() -> bytes:
    return os.urandom(C.SSE_KEY_BYTES)


def context_bytes(context: Mapping[str, Any]) -> bytes:
    """The canonical form of a context (sorted keys, compact JSON): the associated data of a sealed key."""
    return orjson.dumps(dict(context), option=orjson.OPT_SORT_KEYS)


def seal_key(kek: bytes, key: bytes, context: Mapping[str, Any]) -> bytes:
    """`key` sealed under `kek`: version || nonce || AES-256-GCM(key) with the context as associated data."""
    nonce = os.urandom(_NONCE_BYTES)
    return bytes([SEALED_VERSION]) + nonce + AESGCM(kek).encrypt(nonce, key, context_bytes(context))


def unseal_key(kek: bytes, sealed: bytes, context: Mapping[str, Any]) -> bytes:
    """The key `seal_key` sealed; KeyUnsealError if the key-encryption key or the context differ."""
    if len(sealed) < 1 + _NONCE_BYTES + C.SSE_TAG_BYTES or sealed[0] != SEALED_VERSION:
        raise KeyUnsealError("sealed key of an unknown format")
    nonce, body = sealed[1:1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES:]
    try:
        return AESGCM(kek).decrypt(nonce, body, context_bytes(context))
    except InvalidTag:
        raise KeyUnsealError("sealed key does not open with this key and context") from None


def encode(blob: bytes) -> str:
    """Base64 text of a sealed key, for the object's metadata."""
    return base64.b64encode(blob).decode()


def decode(text: str) -> bytes:
    """The bytes of base64 text from the object's metadata; KeyUnsealError if it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise KeyUnsealError("sealed key is not base64") from None


# -- SSE-C ----------------------------------------------------------------------------------------

def customer_kek(customer_key: bytes) -> bytes:
    """The key that seals an SSE-C object's data keys, derived from the customer's key."""
    return derive_key(customer_key, _SSE_C_KEK)


def customer_fingerprint(customer_key: bytes) -> dict[str, str]:
    """What is stored of an SSE-C key: a random salt and HMAC-SHA256(key, label || salt).

    The HMAC reveals nothing of the key and cannot decrypt anything; it only recognises the key.
    """
    salt = os.urandom(16)
    mac = hmac.new(customer_key, _SSE_C_ID + salt, hashlib.sha256).digest()
    return {"salt": encode(salt), "hmac": encode(mac)}


def customer_matches(customer_key: bytes, fingerprint: Mapping[str, str]) -> bool:
    """Whether `customer_key` is the key `fingerprint` was made of (in constant time)."""
    try:
        salt, expected = decode(fingerprint["salt"]), decode(fingerprint["hmac"])
    except (KeyError, KeyUnsealError):
        return False
    mac = hmac.new(customer_key, _SSE_C_ID + salt, hashlib.sha256).digest()
    return hmac.compare_digest(mac, expected)
