"""What keeps other hosts and other local users out: the cluster secret check."""
from __future__ import annotations

import hmac

SECRET_SETTINGS = "COFFER_CLUSTER_SECRET or COFFER_CLUSTER_SECRET_FILE"


def secret_is_set(secret: str | None) -> bool:
    """Whether a configured cluster secret is usable: empty or blank is no secret."""
    return bool(secret and secret.strip())


def secret_matches(given: object, expected: str) -> bool:
    """Whether `given` is the cluster secret, compared in constant time.

    Never true when no secret is expected: a daemon that somehow runs without one refuses every
    client instead of accepting the empty string.
    """
    if not secret_is_set(expected) or not isinstance(given, (str, bytes)):
        return False
    given_bytes = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(given_bytes, expected.encode())
