"""`python bench/scale.py [--objects 10000000] [--quick]`: is a request's cost flat in the store's size? (issue 21)

Starts `coffer serve` (server on core 0, load on core 1) and measures, in one bucket, 4 KiB GET and
PUT at c=16 with wrk (server CPU-ms per request, req/s), and the first root `Delimiter=/` page:
first with 1,000 objects, then again after filling the bucket with `--objects` more. The fill
copies the record of a real 4 KiB PUT (its body inline, docs/design.md §8.5) under new keys in
100 prefixes, by raw synced batches of 500 records through the metadata RPC: an S3 PUT each
would take hours, and what is measured is the cost of the store's size, not the fill. The GETs
after the fill read filled keys spread over the whole key space. Last, the server is stopped, its
LevelDB compacted and the metadata bytes on disk per object reported. Before the second round the
bench waits for the server to go idle: the fill leaves LevelDB compactions running in the daemon.

A filled record holds its 4 KiB body (about 6 KB of LevelDB data each), so 10 million objects
need about 60 GB of free disk: the bench refuses to start without twice its estimate.
--quick: 100,000 objects and 5 s steps. Prints a table, writes bench/results/scale.json.
Never run by the tests.
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (Server, Wrk, cpu_seconds, ensure_debian, pinned_server,  # noqa: E402
                           size_and_seconds, wrk_step, write_results)
from dmd.metadata.engine.leveldb import LevelDBEngine  # noqa: E402
from shared.metadata_client import MetadataClient  # noqa: E402

BUCKET = "bench-scale"
PREFIXES = 100
BATCH = 500                             # records per synced batch (3 MB of 4 KiB inline records)
RECORD_BYTES_ESTIMATE = 6_000           # a 4 KiB inline object's record, as LevelDB keeps it


def key_of(i: int) -> str:
    return f"p{i % PREFIXES:02d}/o{i:09d}"


def presign(s3, op: str, keys: list[str]) -> list[str]:
    return ["/" + s3.generate_presigned_url(op, Params={"Bucket": BUCKET, "Key": k}, ExpiresIn=7200).split("/", 3)[3]
            for k in keys]


def step(server: Server, paths: list[str], method: str, seconds: int, body: Path | None = None) -> dict:
    Wrk(server.endpoint, paths[: len(paths) // 10], method, 16, 2, body, core=1).result()     # warm-up
    return wrk_step(server, paths[len(paths) // 10:], method, seconds, body)


def first_page(s3, repeat: int = 15) -> dict:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        page = s3.list_objects_v2(Bucket=BUCKET, Delimiter="/")
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2),
            "prefixes": len(page.get("CommonPrefixes", []))}


def measure(server: Server, s3, get_keys: list[str], label: str, seconds: int, body: Path) -> dict:
    puts = presign(s3, "put_object", [f"new-{label}/{i:06d}" for i in range(40_000)])
    return {"get": step(server, presign(s3, "get_object", get_keys), "GET", seconds),
            "put": step(server, puts, "PUT", seconds, body), "first_page": first_page(s3)}


async def fill(server: Server, template: dict, total: int) -> float:
    """`total` copies of `template` under key_of(0..total-1), four batches in flight; the seconds it took."""
    client = MetadataClient("127.0.0.1", server.md_port, server.secret)
    await client.start()
    await client.wait_ready(30)
    sem = asyncio.Semaphore(4)
    t0 = time.perf_counter()

    async def one(start: int) -> None:
        async with sem:
            ops = [{"type": "put", "key": key_of(i), "value": {**template, "key": key_of(i)}}
                   for i in range(start, min(start + BATCH, total))]
            await client.call("batch", timeout=300, db=BUCKET, ops=ops)

    try:
        await asyncio.gather(*(one(s) for s in range(0, total, BATCH)))
    finally:
        await client.close()
    return time.perf_counter() - t0


async def stored_record(server: Server, key: str) -> dict:
    client = MetadataClient("127.0.0.1", server.md_port, server.secret)
    await client.start()
    await client.wait_ready(30)
    try:
        return await client.call("get", db=BUCKET, key=key)
    finally:
        await client.close()


def settle(server: Server, limit: float = 300.0) -> float:
    """Wait until the server is idle (LevelDB's compactions after the fill run in the daemon's threads
    and would be counted as request CPU); the seconds it took."""
    pids, t0 = list(server.pids().values()), time.perf_counter()
    while time.perf_counter() - t0 < limit:
        before = cpu_seconds(pids)
        time.sleep(2)
        if cpu_seconds(pids) - before < 0.04:         # under 2 % of a core
            break
    return round(time.perf_counter() - t0, 1)


def compacted_bytes(metadata: Path) -> int:
    """The metadata directory's size after a full compaction of its store (the server stopped)."""
    engine = LevelDBEngine(str(metadata))
    engine.compact()
    engine.close()
    return sum(p.stat().st_size for p in metadata.rglob("*") if p.is_file())


def main() -> None:
    total, seconds = size_and_seconds(__doc__, "objects", 10_000_000, 100_000, "objects")
    need = 2 * total * RECORD_BYTES_ESTIMATE
    if shutil.disk_usage("/tmp").free < need:
        raise SystemExit(f"bench/scale.py: {total:,} objects need about {need / 1e9:.0f} GB free under /tmp")
    ensure_debian("wrk")
    body = Path("/tmp/coffer-scale-body"); body.write_bytes(os.urandom(4096))
    out: dict = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "objects": total}
    with pinned_server() as server:
        s3 = server.client()
        s3.create_bucket(Bucket=BUCKET)
        small = [f"get/{i:04d}" for i in range(1000)]
        for k in small:
            s3.put_object(Bucket=BUCKET, Key=k, Body=body.read_bytes())
        out["small_bucket"] = measure(server, s3, small, "small", seconds, body)
        template = asyncio.run(stored_record(server, small[0]))
        out["fill_seconds"] = round(asyncio.run(fill(server, template, total)), 1)
        out["settle_seconds"] = settle(server)
        spread = [key_of(i) for i in random.Random(7).sample(range(total), 1000)]
        assert s3.get_object(Bucket=BUCKET, Key=spread[0])["Body"].read() == body.read_bytes()
        out["full_bucket"] = measure(server, s3, spread, "full", seconds, body)
        server.proc.terminate()
        server.proc.wait(60)
        out["metadata_bytes_per_object"] = round(compacted_bytes(server.dir / "metadata") / (total + 1000 + 80_000))
    body.unlink()
    print_table(out)
    write_results("scale", out)


def print_table(out: dict) -> None:
    small, full = out["small_bucket"], out["full_bucket"]
    print(f"{'':34}{'1,000 objects':>16}{out['objects'] + 1000:>16,} objects{'ratio':>8}")
    for op in ("get", "put"):
        a, b = small[op], full[op]
        print(f"4 KiB {op.upper()} c=16 server CPU-ms/req{a['cpu_ms_per_req']:>16.3f}{b['cpu_ms_per_req']:>24.3f}"
              f"{b['cpu_ms_per_req'] / a['cpu_ms_per_req']:>8.2f}")
        print(f"4 KiB {op.upper()} c=16 req/s{a['req_s']:>27,}{b['req_s']:>24,}")
    print(f"first Delimiter=/ page, median ms{small['first_page']['median_ms']:>17.2f}"
          f"{full['first_page']['median_ms']:>24.2f}")
    print(f"fill: {out['fill_seconds']} s, then {out['settle_seconds']} s for the daemon to go idle; metadata on disk after compaction: {out['metadata_bytes_per_object']:,} "
          "bytes per object")


if __name__ == "__main__":
    main()
