"""What keeps other hosts and other local users out: the cluster secret check and private files."""
from __future__ import annotations

import hmac
import logging
import os
import stat
from pathlib import Path

from shared import constants as C

log = logging.getLogger("coffer")

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


def private_umask() -> None:
    """Files and directories this process creates, LevelDB's included, are readable by its user only."""
    os.umask(C.PRIVATE_UMASK)


def private_dir(path: str | Path) -> Path:
    """Create a directory 0700 (parents too), or tighten an existing one that others can enter."""
    path = Path(path)
    path.mkdir(mode=C.PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            path.chmod(C.PRIVATE_DIR_MODE)
            log.warning("tightened a directory other users could read", extra={"path": str(path),
                                                                                "was": oct(mode)})
        except OSError as exc:      # not ours (a shared mount): say so, keep going
            log.warning("a store directory is readable by other users", extra={"path": str(path),
                                                                               "mode": oct(mode), "error": str(exc)})
    return path


def write_private(path: str | Path, data: bytes) -> None:
    """Write a small file 0600 atomically (temporary file, fsync, rename): never seen half-written."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)         # a leftover would keep its own mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, C.PRIVATE_FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
