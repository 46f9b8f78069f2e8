"""`python bench/metadata.py`: the metadata daemon alone, driven through MetadataClient.

Starts `coffer mdserver` (synced commits, as in production) in a temporary directory on a free
port, pinned to core 0 while this process runs on core 1, then measures: synced putObject/s and
getObject/s at 64 concurrent callers, a full listing of 100k keys, and the first delimiter page
at the root of 1M keys under 10 prefixes. Prints a table, writes bench/results/metadata.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import cpu_seconds, free_port, pin, rss_mib, stop_and_remove  # noqa: E402
from shared.metadata_client import MetadataClient  # noqa: E402

HERE = Path(__file__).resolve().parent
SECRET = "bench-metadata-secret"
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
GOALS = {"put_per_s": (">=", 3000), "get_per_s": (">=", 6000), "list_keys_per_s": (">=", 100_000),
         "first_page_ms": ("<", 20)}


class Daemon:
    """`coffer mdserver` in a temporary directory."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coffer-mdbench-"))
        self.port = free_port()
        env = {**os.environ, "COFFER_CLUSTER_SECRET": SECRET, "S3METADATAPATH": str(self.dir / "md"),
               "METADATA_PORT": str(self.port), "LOG_LEVEL": "WARNING"}
        env.pop("COFFER_UNSAFE_NO_FSYNC", None)
        self.log = open(self.dir / "mdserver.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "services.cli", "mdserver"], env=env,
                                     cwd=HERE.parent, stdout=self.log, stderr=subprocess.STDOUT)

    def cpu(self) -> float:
        return cpu_seconds([self.proc.pid])

    def stop(self) -> None:
        stop_and_remove(self.proc, self.dir)


def object_md(key: str, i: int) -> dict:
    """What the front-end stores for a 4 KiB PUT (about 500 bytes of JSON)."""
    return {"content-length": 4096, "content-md5": f"{i:032x}", "content-type": "application/octet-stream",
            "last-modified": "2026-01-01T00:00:00.000Z", "owner-id": OWNER, "owner-display-name": "Bart",
            "x-amz-storage-class": "STANDARD", "acl": {"Canned": "private"}, "x-amz-meta-bench": "yes",
            "location": [{"key": f"{i:040x}", "size": 4096, "start": 0, "dataStoreName": "us-east-1"}]}


def stored_md(key: str, i: int) -> dict:
    """A value as the daemon would have stored it (for populating with raw batches)."""
    return {**object_md(key, i), "key": key, "versionId": f"{99999999999999 - i:014d}999999RG001  ",
            "md-model-version": 1}


async def callers(n: int, seconds: float, op: Callable[[int, int], Awaitable[object]]) -> int:
    """n concurrent callers repeating op(worker, i) for `seconds`; the number of completed calls."""
    deadline = time.perf_counter() + seconds
    done = [0] * n

    async def worker(w: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            await op(w, i)
            i += 1
        done[w] = i

    await asyncio.gather(*(worker(w) for w in range(n)))
    return sum(done)


async def create_bucket(client: MetadataClient, name: str) -> None:
    await client.create_bucket(name, {"owner": OWNER, "ownerDisplayName": "Bart"})


async def bench_puts(client: MetadataClient, daemon: Daemon, conc: int, seconds: float) -> dict:
    await create_bucket(client, "puts")
    cpu0, t0 = daemon.cpu(), time.perf_counter()
    stats0 = (await client.get_stats())["gatherer"]
    n = await callers(conc, seconds, lambda w, i: client.put_object("puts", f"w{w:02d}/{i:07d}", object_md("", i)))
    elapsed = time.perf_counter() - t0
    stats1 = (await client.get_stats())["gatherer"]
    batches = stats1["batches"] - stats0["batches"]
    return {"calls": n, "per_s": n / elapsed, "daemon_cpu_ms_per_call": (daemon.cpu() - cpu0) * 1000 / n,
            "writes_per_batch": (stats1["writes"] - stats0["writes"]) / max(batches, 1),
            "commit_ms": stats1["avgCommitMs"]}


async def bench_gets(client: MetadataClient, daemon: Daemon, conc: int, seconds: float, written: int) -> dict:
    per_worker = max(written // conc, 1)
    cpu0, t0 = daemon.cpu(), time.perf_counter()
    n = await callers(conc, seconds, lambda w, i: client.get_object("puts", f"w{w:02d}/{i % per_worker:07d}"))
    elapsed = time.perf_counter() - t0
    return {"calls": n, "per_s": n / elapsed, "daemon_cpu_ms_per_call": (daemon.cpu() - cpu0) * 1000 / n}


async def populate(client: MetadataClient, bucket: str, total: int, prefixes: int) -> float:
    """`total` object-shaped keys by raw batches of 10k ops, two in flight; returns the seconds it took."""
    await create_bucket(client, bucket)
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(2)

    def key(i: int) -> str:
        return f"p{i % prefixes}/obj{i:08d}" if prefixes else f"obj{i:08d}"

    async def one(start: int) -> None:
        async with sem:
            ops = [{"type": "put", "key": key(i), "value": stored_md(key(i), i)}
                   for i in range(start, min(start + 10_000, total))]
            await client.call("batch", timeout=120, db=bucket, ops=ops)

    await asyncio.gather(*(one(s) for s in range(0, total, 10_000)))
    return time.perf_counter() - t0


async def bench_full_listing(client: MetadataClient, daemon: Daemon, bucket: str, total: int) -> dict:
    cpu0, t0 = daemon.cpu(), time.perf_counter()
    seen, marker, pages = 0, None, 0
    while True:
        params = {"maxKeys": 1000, **({"marker": marker} if marker else {})}
        page = await client.call("listObjects", bucket=bucket, query=params)
        pages += 1
        seen += len(page["Contents"])
        if not page["IsTruncated"]:
            break
        marker = page["Contents"][-1]["key"]
    elapsed = time.perf_counter() - t0
    assert seen == total, (seen, total)
    return {"keys": seen, "pages": pages, "keys_per_s": seen / elapsed, "page_ms": elapsed * 1000 / pages,
            "daemon_cpu_ms_per_page": (daemon.cpu() - cpu0) * 1000 / pages}


async def bench_first_page(client: MetadataClient, bucket: str, prefixes: int, repeat: int = 30) -> dict:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        page = await client.call("listObjects", bucket=bucket, query={"delimiter": "/", "maxKeys": 1000})
        times.append((time.perf_counter() - t0) * 1000)
        assert len(page["CommonPrefixes"]) == prefixes and not page["Contents"], page
    return {"first_ms": times[0], "median_ms": statistics.median(times), "max_ms": max(times)}


async def run(args: argparse.Namespace, daemon: Daemon) -> dict:
    client = MetadataClient("127.0.0.1", daemon.port, SECRET)
    await client.start()
    if not await client.wait_ready(30):
        raise SystemExit(f"the metadata daemon did not answer; see {daemon.dir / 'mdserver.log'}")
    pin([daemon.proc.pid], 0)
    pin([os.getpid()], 1)
    try:
        out: dict = {}
        out["put"] = await bench_puts(client, daemon, args.concurrency, args.seconds)
        out["get"] = await bench_gets(client, daemon, args.concurrency, args.seconds, out["put"]["calls"])
        if not args.skip_listing:
            out["populate_100k_s"] = await populate(client, "list100k", args.list_keys, 0)
            out["list"] = await bench_full_listing(client, daemon, "list100k", args.list_keys)
            out["populate_1m_s"] = await populate(client, "list1m", args.big_keys, 10)
            out["first_page"] = await bench_first_page(client, "list1m", 10)
        out["daemon_rss_mib"] = round(rss_mib(daemon.proc.pid), 1)
        out["stats"] = await client.get_stats()
        return out
    finally:
        await client.close()


def summary(out: dict) -> dict:
    figures = {"put_per_s": out["put"]["per_s"], "get_per_s": out["get"]["per_s"]}
    if "list" in out:
        figures["list_keys_per_s"] = out["list"]["keys_per_s"]
        figures["first_page_ms"] = out["first_page"]["median_ms"]
    return figures


def print_table(figures: dict, out: dict) -> None:
    print(f"{'figure':<18}{'measured':>14}{'goal':>12}  met")
    for name, value in figures.items():
        op, goal = GOALS[name]
        met = value >= goal if op == ">=" else value < goal
        print(f"{name:<18}{value:>14,.1f}{op + ' ' + format(goal, ','):>12}  {'yes' if met else 'NO'}")
    print(f"put: {out['put']['writes_per_batch']:.1f} writes per synced batch, "
          f"{out['put']['commit_ms']:.2f} ms per commit, {out['put']['daemon_cpu_ms_per_call']:.3f} daemon CPU ms per put")
    print(f"get: {out['get']['daemon_cpu_ms_per_call']:.3f} daemon CPU ms per get")
    if "list" in out:
        print(f"listing: {out['list']['page_ms']:.2f} ms per page of 1000, "
              f"{out['list']['daemon_cpu_ms_per_page']:.2f} daemon CPU ms per page; "
              f"first delimiter page cold {out['first_page']['first_ms']:.2f} ms, max {out['first_page']['max_ms']:.2f} ms")
        print(f"populate: 100k keys in {out['populate_100k_s']:.1f} s, 1M keys in {out['populate_1m_s']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--list-keys", type=int, default=100_000)
    parser.add_argument("--big-keys", type=int, default=1_000_000)
    parser.add_argument("--skip-listing", action="store_true", help="puts and gets only")
    parser.add_argument("--name", default="metadata", help="results file name under bench/results/")
    args = parser.parse_args()
    daemon = Daemon()
    try:
        out = uvloop.run(run(args, daemon))           # the front-end runs on uvloop too
    finally:
        daemon.stop()
    figures = summary(out)
    print_table(figures, out)
    (HERE / "results").mkdir(exist_ok=True)
    result = {"figures": figures, "goals": {k: list(v) for k, v in GOALS.items()}, "detail": out,
              "args": vars(args), "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (HERE / "results" / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
