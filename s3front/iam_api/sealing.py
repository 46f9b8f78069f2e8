"""Secrets at rest and session tokens: AES-256-GCM under keys derived from the cluster secret.

Every front-end holds the cluster secret, so each can open what another sealed: a stored access
key's secret (bound to its key id) and an STS session token (which carries its own expiry, so no
lookup is needed to verify it, and survives restarts).
"""
from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRETS_LABEL = b"coffer/iam/secret-keys/v1"
TOKENS_LABEL = b"coffer/sts/session-tokens/v1"
_NONCE = 12
_PREFIX = "v1:"


class Unsealable(ValueError):
    """Sealed text that does not open: tampered with, truncated, or sealed under another secret."""


@lru_cache(maxsize=8)
def derive(cluster_secret: str, label: bytes) -> AESGCM:
    """The cipher for one purpose (`label`), its key derived from the cluster secret."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(cluster_secret.encode())
    return AESGCM(key)


def seal(cipher: AESGCM, plain: bytes, bound_to: bytes = b"") -> str:
    """`plain` sealed (URL-safe text); it opens only with the same `bound_to`."""
    nonce = os.urandom(_NONCE)
    return _PREFIX + base64.urlsafe_b64encode(nonce + cipher.encrypt(nonce, plain, bound_to)).decode()


def unseal(cipher: AESGCM, sealed: str, bound_to: bytes = b"") -> bytes:
    """What seal() sealed; Unsealable for anything else."""
    if not isinstance(sealed, str) or not sealed.startswith(_PREFIX):
        raise Unsealable("not sealed text")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(_PREFIX):].encode())
    except (ValueError, TypeError):
        raise Unsealable("not base64") from None
    if len(raw) <= _NONCE:
        raise Unsealable("too short")
    try:
        return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], bound_to)
    except InvalidTag:
        raise Unsealable("does not authenticate") from None
