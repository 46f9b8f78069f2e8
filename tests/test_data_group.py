"""Group commit of small data files: bodies stored together share two syncfs calls."""
from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

from dmd.data.group import SmallFileGroup
from dmd.data.store import FileStore


def test_store_batch_puts_every_body_in_its_place(tmp_path):
    store = FileStore(str(tmp_path / "data"))
    bodies = [os.urandom(n) for n in (1, 100, 4096, 65536)]
    keys = store.store_batch(bodies)
    assert len(set(keys)) == len(bodies)
    for key, body in zip(keys, bodies):
        assert store.path(key).read_bytes() == body
    assert not list((tmp_path / "data").glob("*/*.tmp"))


def test_concurrent_small_bodies_share_batches_and_all_land(tmp_path):
    store = FileStore(str(tmp_path / "data"))
    group = SmallFileGroup(store)
    calls = []
    original = store.store_batch

    def counting(bodies):
        calls.append(len(bodies))
        return original(bodies)

    store.store_batch = counting

    async def main():
        bodies = [os.urandom(512) for _ in range(200)]
        keys = await asyncio.gather(*(group.store_small(b) for b in bodies))
        return bodies, keys

    bodies, keys = asyncio.run(main())
    assert sum(calls) == 200 and len(calls) < 200          # several bodies per sync
    assert all(store.path(k).read_bytes() == b for k, b in zip(keys, bodies))


def test_small_puts_through_s3_leave_no_temporary_files(cluster, s3, bucket):
    bodies = {f"g/{uuid.uuid4().hex}": os.urandom(1000 + i) for i in range(64)}
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), bodies.items()))
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert not list((cluster.root / "data").glob("*/*.tmp"))
