"""Object bytes in the data daemon's memory (`S3BACKEND=mem`): the FileStore interface, no disk.

For CI pipelines and unit tests: every stored byte lives in this process's RAM until it is
deleted, and everything is gone when the process stops. Nothing bounds it but the machine's
memory (a body being received is held whole before it is committed). Keys, listing order and
the sweeper's cursor are the FileStore's, so the GC and fsck work unchanged.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from itertools import islice

from sortedcontainers import SortedDict

from dmd.data.store import hash_dir
from shared import constants as C


@dataclass
class MemoryUpload:
    """A body being received: its bytes until `commit`."""
    key: str
    buffer: bytearray = field(default_factory=bytearray)
    written: int = 0


@dataclass(frozen=True)
class MemoryBlob:
    """A stored body open for reading; reads are slices, cheap enough for the event loop."""
    data: bytes
    mtime: float
    blocking = False

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, n: int) -> bytes:
        return self.data[offset:offset + n]

    def close(self) -> None:
        pass


def _order(key: str) -> tuple[int, str]:
    """FileStore's listing order: by hash directory, then by key."""
    return hash_dir(key), key


class MemoryStore:
    """Stored bodies by data key, behind a lock (the data app calls in from worker threads)."""

    sync = False

    def __init__(self) -> None:
        self._blobs: SortedDict = SortedDict(_order)
        self._lock = threading.Lock()

    def begin(self) -> MemoryUpload:
        return MemoryUpload(secrets.token_hex(C.DATA_KEY_BYTES))

    def write(self, up: MemoryUpload, data: bytes) -> None:
        up.buffer += data
        up.written += len(data)

    def commit(self, up: MemoryUpload) -> None:
        blob = MemoryBlob(bytes(up.buffer), time.time())
        up.buffer = bytearray()
        with self._lock:
            self._blobs[up.key] = blob

    def abort(self, up: MemoryUpload) -> None:
        up.buffer = bytearray()

    def store_small(self, data: bytes) -> str:
        up = self.begin()
        self.write(up, data)
        self.commit(up)
        return up.key

    def store_batch(self, bodies: list[bytes]) -> list[str]:
        return [self.store_small(data) for data in bodies]

    def open_blob(self, key: str) -> MemoryBlob:
        """The stored body; FileNotFoundError when there is none, as for a missing data file."""
        with self._lock:
            blob = self._blobs.get(key)
        if blob is None:
            raise FileNotFoundError(key)
        return blob

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._blobs.pop(key, None) is not None

    def writable(self) -> bool:
        return True

    def clean_temporaries(self, max_age: float = C.DATA_TMP_MAX_AGE_S) -> int:
        """Nothing to clean: an unfinished body was never stored, and a restart forgets everything."""
        return 0

    def disk_usage(self) -> dict[str, int]:
        """The machine's memory, as the file store reports its disk (plus the bytes stored here)."""
        page = os.sysconf("SC_PAGE_SIZE")
        available = os.sysconf("SC_AVPHYS_PAGES") * page
        with self._lock:
            stored = sum(len(blob.data) for blob in self._blobs.values())
        return {"total": os.sysconf("SC_PHYS_PAGES") * page, "free": available, "available": available,
                "stored": stored}

    def list_keys(self, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Stored bodies in FileStore's (directory number, key) order, with its `d/key` cursor."""
        start = after.partition("/")[2] if after else None
        with self._lock:
            following = self._blobs.irange(start, inclusive=(False, False)) if start else iter(self._blobs)
            found = list(islice(following, limit + 1))
            items = [{"key": k, "size": len(self._blobs[k].data), "mtime": self._blobs[k].mtime}
                     for k in found[:limit]]
        more = len(found) > limit and items
        return items, f"{hash_dir(items[-1]['key'])}/{items[-1]['key']}" if more else None
