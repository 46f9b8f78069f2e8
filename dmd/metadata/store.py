"""The LevelDB store: one plyvel DB, split into sub-levels by key prefix (dmd-reference §2.1).

The directory is 0700; LevelDB's own files are 0600 through the daemon's umask (services.cli).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Iterator

import orjson
import plyvel

from shared import constants as C
from shared.errors import InternalError
from shared.security import private_dir, write_private

METASTORE = b"!__metastore!"
USERS = b"!users..bucket!"
GC = b"!__gc!"
SYS = b"!__sys!"
SEP = b"\x00"
SCHEMA_VERSION = 1


class StoreLocked(RuntimeError):
    """Another process holds the LevelDB lock."""


def bucket_prefix(bucket: str) -> bytes:
    return b"!" + bucket.encode() + b"!"


def mpu_prefix(bucket: str) -> bytes:
    return b"!mpuShadowBucket" + bucket.encode() + b"!"


def sublevel_prefix(name: str) -> bytes:
    """The prefix of a named sub-level: `__metastore`, `users..bucket`, a bucket, or `mpuShadowBucket<b>`."""
    return b"!" + name.encode() + b"!"


def metastore_key(bucket: str) -> bytes:
    return METASTORE + bucket.encode()


def users_key(owner: str, bucket: str) -> bytes:
    return USERS + owner.encode() + SEP + bucket.encode()


def object_key(bucket: str, key: str) -> bytes:
    """A raw key of a bucket sub-level: a master `key` or a version `key\\0vid`."""
    return bucket_prefix(bucket) + key.encode()


def gc_key(ms: int, data_key: str) -> str:
    """A `__gc` entry's key within its sub-level: due time order, then the data key."""
    return f"{ms:013d}\x00{data_key}"


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(raw: bytes | None) -> Any:
    return None if raw is None else orjson.loads(raw)


class MetadataStore:
    """Owns the plyvel DB. Writes go through the write gatherer only; reads are direct."""

    def __init__(self, path: str) -> None:
        root = private_dir(path)
        try:
            # A larger block cache than LevelDB's 8 MB default keeps listings of 10^5 keys in memory.
            self.db = plyvel.DB(str(root / "rootDB"), create_if_missing=True, lru_cache_size=C.LDB_CACHE_BYTES)
        except plyvel.IOError as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(
                    f"the metadata directory {root} is in use by another metadata daemon ({exc}); "
                    "only one daemon may own a LevelDB at a time") from exc
            raise
        self.db_uuid = self._init_system(root)

    def _init_system(self, root: Path) -> str:
        raw = self.db.get(SYS + b"db_uuid")
        if raw is None:
            raw = str(uuid.uuid4()).encode()
            with self.db.write_batch(sync=True) as wb:
                wb.put(SYS + b"schema", str(SCHEMA_VERSION).encode())
                wb.put(SYS + b"db_uuid", raw)
        uuid_file = root / "uuid"
        if not uuid_file.exists():
            write_private(uuid_file, raw)
        return raw.decode()

    def get(self, key: bytes) -> bytes | None:
        return self.db.get(key)

    def get_json(self, key: bytes) -> Any:
        return loads(self.db.get(key))

    def sublevel(self, prefix: bytes) -> plyvel.DB:
        return self.db.prefixed_db(prefix)

    def iterator(self, **kwargs: Any) -> Iterator:
        return self.db.iterator(**kwargs)

    def has_keys(self, prefix: bytes) -> bool:
        with self.db.iterator(prefix=prefix, include_value=False) as it:
            return next(it, None) is not None

    def sys_int(self, name: str) -> int:
        raw = self.db.get(SYS + name.encode())
        return int(raw) if raw else 0

    def apply(self, ops: list[tuple[bytes, bytes | None]], sync: bool) -> None:
        """Apply one batch atomically; called only from the gatherer's writer thread."""
        try:
            with self.db.write_batch(sync=sync) as wb:
                for key, value in ops:
                    if value is None:
                        wb.delete(key)
                    else:
                        wb.put(key, value)
        except plyvel.Error as exc:
            raise InternalError(f"LevelDB write failed: {exc}") from exc

    def close(self) -> None:
        self.db.close()


def check_disk_path(path: str) -> None:
    os.makedirs(path, exist_ok=True)
