"""Bodies stream end to end: a 1 GiB PUT and GET do not grow the front-end or the data daemon."""
from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.signing import EMPTY_SHA256, sign_v4

pytestmark = pytest.mark.needs_disk     # 1 GiB through the data daemon: in memory mode it would keep it all

MIB = 2**20
SIZE = 1024 * MIB
MAX_GROWTH = 50 * MIB


class PeakRss:
    """Samples the RSS of some processes every 50 ms in a thread, keeping the highest seen."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.base = {name: p.memory_info().rss for name, p in self.procs.items()}
        self.peak = dict(self.base)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for name, p in self.procs.items():
                self.peak[name] = max(self.peak[name], p.memory_info().rss)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def growth(self, name: str) -> int:
        return self.peak[name] - self.base[name]


def body(digest: "hashlib._Hash") -> Iterator[bytes]:
    """SIZE pseudo-random bytes, produced one MiB at a time and hashed on the way."""
    block = os.urandom(MIB)
    for i in range(SIZE // MIB):
        chunk = i.to_bytes(8, "big") + block[8:]          # every MiB differs from the others
        digest.update(chunk)
        yield chunk


def test_1_gib_put_and_get_keep_memory_flat(fresh_cluster):
    c = fresh_cluster()
    s3 = c.client()
    s3.create_bucket(Bucket="big")
    # Warm both paths up, so that lazy imports and pools do not count as growth.
    s3.put_object(Bucket="big", Key="warm", Body=os.urandom(4 * MIB))
    s3.get_object(Bucket="big", Key="warm")["Body"].read()
    url = f"{c.endpoint}/big/one-gib"
    sent = hashlib.sha256()
    with PeakRss({"s3": c.pid("s3-0"), "data": c.pid("data")}) as rss:
        headers = sign_v4("PUT", url, {"Content-Length": str(SIZE)}, "UNSIGNED-PAYLOAD")
        put = httpx.put(url, headers=headers, content=body(sent), timeout=300)
        assert put.status_code == 200, put.text
        received = hashlib.sha256()
        with httpx.stream("GET", url, headers=sign_v4("GET", url, {}, EMPTY_SHA256), timeout=300) as got:
            assert got.status_code == 200
            assert got.headers["content-length"] == str(SIZE)
            for chunk in got.iter_bytes(MIB):
                received.update(chunk)
    assert received.hexdigest() == sent.hexdigest()
    assert rss.growth("s3") < MAX_GROWTH, f"front-end grew {rss.growth('s3') / MIB:.1f} MiB"
    assert rss.growth("data") < MAX_GROWTH, f"data daemon grew {rss.growth('data') / MIB:.1f} MiB"
    s3.delete_object(Bucket="big", Key="one-gib")
