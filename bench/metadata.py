"""`python bench/metadata.py [--engine postgres [--daemons 2]]`: the metadata daemon alone, driven
through the front-end's client (shared/metadata_hosts.py).

Starts `coffer mdserver` (synced commits, as in production) in a temporary directory on a free
port, pinned to core 0 while this process runs on core 1, then measures: synced putObject/s and
getObject/s at 64 concurrent callers, a full listing of 100k keys (--list-keys), and the first
delimiter page at the root of 1M keys (--keys) under 10 prefixes. Prints a table, writes
bench/results/metadata[-postgres-N].json.

With --engine postgres it first starts a PostgreSQL of its own (Debian's `postgresql` package,
fsync on, not pinned: its CPU is reported apart) and --daemons metadata daemons on one database;
the client spreads its calls over them, as a front-end given METADATA_HOSTS does.
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

import psutil
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import cpu_seconds, free_port, pin, rss_mib, stop_and_remove  # noqa: E402
from shared.metadata_hosts import MetadataHosts  # noqa: E402
from tests.postgres import SKIP_REASON, PostgresServer, pg_bindir  # noqa: E402

HERE = Path(__file__).resolve().parent
SECRET = "bench-metadata-secret"
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
GOALS = {"put_per_s": (">=", 3000), "get_per_s": (">=", 6000), "list_keys_per_s": (">=", 100_000),
         "first_page_ms": ("<", 20)}


class Daemons:
    """`coffer mdserver` in a temporary directory: one on LevelDB, or `count` on one PostgreSQL database."""

    def __init__(self, engine: str, count: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coffer-mdbench-"))
        self.postgres: PostgresServer | None = None
        env = {**os.environ, "COFFER_CLUSTER_SECRET": SECRET, "S3METADATAPATH": str(self.dir / "md"),
               "LOG_LEVEL": "WARNING"}
        env.pop("COFFER_UNSAFE_NO_FSYNC", None)
        if engine == "postgres":
            bindir = pg_bindir()
            if bindir is None:
                raise SystemExit(SKIP_REASON)
            self.postgres = PostgresServer(bindir, fsync=True).start()
            env.update({"METADATA_ENGINE": "postgres", "METADATA_DSN": self.postgres.database()})
        self.ports = [free_port() for _ in range(count)]
        self.procs = []
        for i, port in enumerate(self.ports):
            log = open(self.dir / f"mdserver-{i}.log", "wb")
            self.procs.append(subprocess.Popen([sys.executable, "-m", "services.cli", "mdserver"],
                                               env={**env, "METADATA_PORT": str(port)}, cwd=HERE.parent,
                                               stdout=log, stderr=subprocess.STDOUT))

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    def db_cpu(self) -> float:
        """CPU seconds of the PostgreSQL server and its backends so far (0 on LevelDB)."""
        if self.postgres is None:
            return 0.0
        pid = int((self.postgres.data / "postmaster.pid").read_text().split()[0])
        server = psutil.Process(pid)
        total = 0.0
        for proc in [server, *server.children()]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        for proc in self.procs[1:]:
            proc.terminate()
            proc.wait(20)
        stop_and_remove(self.procs[0], self.dir)
        if self.postgres is not None:
            self.postgres.cleanup()


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


async def callers(n: int, seconds: float, op: Callable[[int, int], Awaitable[object]]) -> list[int]:
    """n concurrent callers repeating op(worker, i) for `seconds`; the calls each completed."""
    deadline = time.perf_counter() + seconds
    done = [0] * n

    async def worker(w: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            await op(w, i)
            i += 1
        done[w] = i

    await asyncio.gather(*(worker(w) for w in range(n)))
    return done


async def create_bucket(client: MetadataHosts, name: str) -> None:
    await client.create_bucket(name, {"owner": OWNER, "ownerDisplayName": "Bart"})


async def bench_puts(client: MetadataHosts, daemon: Daemons, conc: int, seconds: float) -> dict:
    await create_bucket(client, "puts")
    cpu0, db0, t0 = daemon.cpu(), daemon.db_cpu(), time.perf_counter()
    stats0 = await gatherer_stats(client)
    done = await callers(conc, seconds, lambda w, i: client.put_object("puts", f"w{w:02d}/{i:07d}", object_md("", i)))
    n, elapsed = sum(done), time.perf_counter() - t0
    stats1 = await gatherer_stats(client)
    batches = stats1["batches"] - stats0["batches"]
    return {"calls": n, "per_worker": done, "per_s": n / elapsed, "daemon_cpu_ms_per_call": (daemon.cpu() - cpu0) * 1000 / n,
            "postgres_cpu_ms_per_call": (daemon.db_cpu() - db0) * 1000 / n,
            "writes_per_batch": (stats1["writes"] - stats0["writes"]) / max(batches, 1),
            "commit_ms": stats1["avgCommitMs"]}


async def gatherer_stats(client: MetadataHosts) -> dict:
    """The write gatherers' counters, summed over the daemons (the commit time: their mean)."""
    each = [(await member.get_stats())["gatherer"] for member in client.members]
    return {"batches": sum(s["batches"] for s in each), "writes": sum(s["writes"] for s in each),
            "avgCommitMs": statistics.mean(s["avgCommitMs"] for s in each)}


async def bench_gets(client: MetadataHosts, daemon: Daemons, conc: int, seconds: float, written: list[int]) -> dict:
    """Gets of the keys the puts wrote (writer w wrote w{w}/0 .. written[w]-1; writers are not all as fast)."""
    wrote = [(w, count) for w, count in enumerate(written) if count]

    def get(w: int, i: int) -> Awaitable[object]:
        writer, count = wrote[w % len(wrote)]
        return client.get_object("puts", f"w{writer:02d}/{i % count:07d}")

    cpu0, db0, t0 = daemon.cpu(), daemon.db_cpu(), time.perf_counter()
    n = sum(await callers(conc, seconds, get))
    elapsed = time.perf_counter() - t0
    return {"calls": n, "per_s": n / elapsed, "daemon_cpu_ms_per_call": (daemon.cpu() - cpu0) * 1000 / n,
            "postgres_cpu_ms_per_call": (daemon.db_cpu() - db0) * 1000 / n}


async def populate(client: MetadataHosts, bucket: str, total: int, prefixes: int) -> float:
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


async def bench_full_listing(client: MetadataHosts, daemon: Daemons, bucket: str, total: int) -> dict:
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


async def bench_first_page(client: MetadataHosts, bucket: str, prefixes: int, repeat: int = 30) -> dict:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        page = await client.call("listObjects", bucket=bucket, query={"delimiter": "/", "maxKeys": 1000})
        times.append((time.perf_counter() - t0) * 1000)
        assert len(page["CommonPrefixes"]) == prefixes and not page["Contents"], page
    return {"first_ms": times[0], "median_ms": statistics.median(times), "max_ms": max(times)}


async def run(args: argparse.Namespace, daemon: Daemons) -> dict:
    client = MetadataHosts([("127.0.0.1", port) for port in daemon.ports], SECRET)
    await client.start()
    for member in client.members:
        if not await member.wait_ready(60):
            raise SystemExit(f"a metadata daemon did not answer; see {daemon.dir}/mdserver-*.log")
    pin(daemon.pids, 0)
    pin([os.getpid()], 1)
    try:
        out: dict = {}
        out["put"] = await bench_puts(client, daemon, args.concurrency, args.seconds)
        out["get"] = await bench_gets(client, daemon, args.concurrency, args.seconds, out["put"]["per_worker"])
        if not args.skip_listing:
            out["populate_100k_s"] = await populate(client, "list100k", args.list_keys, 0)
            out["list"] = await bench_full_listing(client, daemon, "list100k", args.list_keys)
            out["populate_1m_s"] = await populate(client, "list1m", args.keys, 10)
            out["first_page"] = await bench_first_page(client, "list1m", 10)
        out["daemon_rss_mib"] = round(sum(rss_mib(pid) for pid in daemon.pids), 1)
        out["stats"] = [await member.get_stats() for member in client.members]
        return out
    finally:
        await client.close()


def summary(out: dict) -> dict:
    figures = {"put_per_s": out["put"]["per_s"], "get_per_s": out["get"]["per_s"]}
    if "list" in out:
        figures["list_keys_per_s"] = out["list"]["keys_per_s"]
        figures["first_page_ms"] = out["first_page"]["median_ms"]
    return figures


def print_table(figures: dict, out: dict, args: argparse.Namespace) -> None:
    print(f"{'figure':<18}{'measured':>14}{'goal':>12}  met")
    for name, value in figures.items():
        op, goal = GOALS[name]
        met = value >= goal if op == ">=" else value < goal
        print(f"{name:<18}{value:>14,.1f}{op + ' ' + format(goal, ','):>12}  {'yes' if met else 'NO'}")
    gathered = (f"{out['put']['writes_per_batch']:.1f} writes per synced batch, {out['put']['commit_ms']:.2f} ms per commit"
                if out["put"]["writes_per_batch"] else "each in its own locked transaction (not gathered)")
    print(f"put: {gathered}, {out['put']['daemon_cpu_ms_per_call']:.3f} daemon CPU ms "
          f"and {out['put']['postgres_cpu_ms_per_call']:.3f} PostgreSQL CPU ms per put")
    print(f"get: {out['get']['daemon_cpu_ms_per_call']:.3f} daemon CPU ms and "
          f"{out['get']['postgres_cpu_ms_per_call']:.3f} PostgreSQL CPU ms per get")
    if "list" in out:
        print(f"listing: {out['list']['page_ms']:.2f} ms per page of 1000, "
              f"{out['list']['daemon_cpu_ms_per_page']:.2f} daemon CPU ms per page; "
              f"first delimiter page cold {out['first_page']['first_ms']:.2f} ms, max {out['first_page']['max_ms']:.2f} ms")
        print(f"populate: {args.list_keys:,} keys in {out['populate_100k_s']:.1f} s, "
              f"{args.keys:,} keys in {out['populate_1m_s']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--list-keys", type=int, default=100_000)
    parser.add_argument("--keys", "--big-keys", dest="keys", type=int, default=1_000_000,
                        help="keys under 10 prefixes for the first delimiter page")
    parser.add_argument("--skip-listing", action="store_true", help="puts and gets only")
    parser.add_argument("--engine", choices=["leveldb", "postgres"], default="leveldb")
    parser.add_argument("--daemons", type=int, default=1, help="metadata daemons on one database (postgres)")
    parser.add_argument("--name", help="results file name under bench/results/ (default: from the engine)")
    args = parser.parse_args()
    if args.daemons < 1 or (args.daemons > 1 and args.engine != "postgres"):
        parser.error("--daemons above 1 needs --engine postgres (one daemon owns a LevelDB)")
    args.name = args.name or ("metadata" if args.engine == "leveldb" else f"metadata-postgres-{args.daemons}")
    daemon = Daemons(args.engine, args.daemons)
    try:
        out = uvloop.run(run(args, daemon))           # the front-end runs on uvloop too
    finally:
        daemon.stop()
    figures = summary(out)
    print_table(figures, out, args)
    (HERE / "results").mkdir(exist_ok=True)
    result = {"figures": figures, "goals": {k: list(v) for k, v in GOALS.items()}, "detail": out,
              "args": vars(args), "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (HERE / "results" / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
