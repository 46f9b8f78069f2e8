"""Write gathering: concurrent PUTs share synced LevelDB batches (design.md §3)."""
from __future__ import annotations

import asyncio
import hashlib

import httpx

from shared.metadata_client import MetadataClient
from tests.cluster import SECRET, Cluster
from tests.signing import sign_v4

PUTS = 200


def gatherer_stats(c: Cluster) -> dict:
    """The metadata daemon's write-gathering counters, read over its RPC."""
    async def run() -> dict:
        client = MetadataClient("127.0.0.1", c.md_port, SECRET)
        await client.start()
        try:
            assert await client.wait_ready(10), "the metadata client never became ready"
            return (await client.get_stats())["gatherer"]
        finally:
            await client.close()

    return asyncio.run(run())


async def put_all(c: Cluster) -> list[int]:
    """PUT every object at once: requests are signed first so that they reach the server together."""
    body = b"x" * 1024
    signed = [(f"{c.endpoint}/gather/k{i:04d}",
               sign_v4("PUT", f"{c.endpoint}/gather/k{i:04d}", {"Content-Length": str(len(body))},
                       hashlib.sha256(body).hexdigest())) for i in range(PUTS)]
    limits = httpx.Limits(max_connections=PUTS)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        answers = await asyncio.gather(*(http.put(url, headers=h, content=body) for url, h in signed))
    return [r.status_code for r in answers]


def test_concurrent_puts_commit_in_far_fewer_batches(fresh_cluster):
    c = fresh_cluster()
    c.client().create_bucket(Bucket="gather")
    before = gatherer_stats(c)
    assert asyncio.run(put_all(c)) == [200] * PUTS
    after = gatherer_stats(c)
    writes = after["writes"] - before["writes"]
    batches = after["batches"] - before["batches"]
    assert writes >= PUTS                       # one gathered write per PUT (a GC pass may add some)
    assert batches < PUTS // 2, f"{writes} writes took {batches} batches"
    assert after["maxWritesPerBatch"] > 1
    assert after["failures"] == before["failures"] == 0
