"""`make bench`: Coffer's own benchmark. Starts `coffer serve`, runs the workloads, prints a table,
writes bench/results/NAME.json.

Small-object rates come from wrk with presigned URLs (a Python load generator would be the
bottleneck); server CPU per request is read from /proc, with the server pinned to core 0 and the
load to core 1, so the figure survives a noisy machine.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import RssSampler, Server, Wrk, cpu_seconds, ensure_debian, pin, write_results  # noqa: E402
from shared.metadata_client import MetadataClient  # noqa: E402

SMALL = 4096
LARGE = 64 * 2**20


def presign(s3, method: str, bucket: str, keys: list[str]) -> list[str]:
    op = "put_object" if method == "PUT" else "get_object"
    urls = [s3.generate_presigned_url(op, Params={"Bucket": bucket, "Key": k}, ExpiresIn=3600) for k in keys]
    return ["/" + u.split("/", 3)[3] for u in urls]       # path?query: wrk adds the host


def wrk(server: Server, paths: list[str], method: str, conc: int, seconds: int, body: Path | None) -> dict:
    return Wrk(server.endpoint, paths, method, conc, seconds, body, core=1).result()


def measured(server: Server, fn) -> tuple[object, float]:
    pids = list(server.pids().values())
    before = cpu_seconds(pids)
    result = fn()
    return result, cpu_seconds(pids) - before


async def _gather_stats(server: Server) -> dict:
    client = MetadataClient("127.0.0.1", server.md_port, server.secret)
    await client.start()
    await client.wait_ready(10)
    try:
        return (await client.get_stats())["gatherer"]
    finally:
        await client.close()


def small_phase(server: Server, s3, bucket: str, concs: list[int], seconds: int) -> list[dict]:
    body = Path(tempfile.mktemp()); body.write_bytes(os.urandom(SMALL))
    get_keys = [f"get/{i:04d}" for i in range(1000)]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=body.read_bytes()), get_keys))
    get_paths = presign(s3, "GET", bucket, get_keys)
    rows = []
    for conc in concs:
        # Fresh keys for the warm-up and for the measured run: an overwrite costs a data DELETE more.
        warm_paths = presign(s3, "PUT", bucket, [f"warm/c{conc}/{i:05d}" for i in range(10000)])
        put_paths = presign(s3, "PUT", bucket, [f"put/c{conc}/{i:05d}" for i in range(50000)])
        for method, paths in (("PUT", put_paths), ("GET", get_paths)):
            wrk(server, warm_paths if method == "PUT" else paths, method, conc, 2,
                body if method == "PUT" else None)                                     # warm-up
            stats_before = asyncio.run(_gather_stats(server)) if method == "PUT" else None
            res, cpu = measured(server, lambda: wrk(server, paths, method, conc, seconds,
                                                    body if method == "PUT" else None))
            secs = res["duration_us"] / 1e6
            row = {"workload": f"4 KiB {method}", "conc": conc, "req_s": round(res["requests"] / secs),
                   "p50_ms": res["p50_us"] / 1000, "p99_ms": res["p99_us"] / 1000,
                   "errors": res["errors"] + res["status_errors"],
                   "cpu_ms_per_req": round(cpu * 1000 / max(res["requests"], 1), 3)}
            if stats_before is not None:
                after = asyncio.run(_gather_stats(server))
                batches = after["batches"] - stats_before["batches"]
                row["avg_writes_per_batch"] = round((after["writes"] - stats_before["writes"]) / max(batches, 1), 1)
            rows.append(row)
            print_row(row)
    body.unlink()
    return rows


def large_phase(server: Server, s3, bucket: str, count: int, label: str = "") -> list[dict]:
    src = Path(tempfile.mktemp()); src.write_bytes(os.urandom(LARGE))
    keys = [f"large/{i}" for i in range(count)]
    put_urls = [server.endpoint + p for p in presign(s3, "PUT", bucket, keys)]
    get_urls = [server.endpoint + p for p in presign(s3, "GET", bucket, keys)]
    rows = []
    for method, urls in (("PUT", put_urls), ("GET", get_urls)):
        sampler = RssSampler(server.pids())
        def run() -> float:
            started = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda u: _curl(method, u, src), urls))
            return time.perf_counter() - started
        secs, cpu = measured(server, run)
        rss = sampler.stop()
        row = {"workload": f"64 MiB {method}{label}", "conc": 2, "mib_s": round(count * LARGE / 2**20 / secs, 1),
               "cpu_ms_per_mib": round(cpu * 1000 / (count * 64), 2), "rss_mib": rss}
        rows.append(row)
        print_row(row)
    src.unlink()
    return rows


def sse_phase(server: Server, s3, count: int, plain: list[dict] | None) -> list[dict]:
    """64 MiB PUT and GET into a bucket whose default encryption is SSE-S3, beside the plain figures
    of the same run (the large phase's): the GET's share of the plain GET's MiB/s is the issue's bar."""
    s3.create_bucket(Bucket="bench-sse")
    s3.put_bucket_encryption(Bucket="bench-sse", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    rows = large_phase(server, s3, "bench-sse", count, " SSE-S3")
    plain_rows = {r["workload"]: r for r in plain or []}
    for row in rows:
        base = plain_rows.get(row["workload"].replace(" SSE-S3", ""))
        if base and base["mib_s"]:
            row["of_plain_pct"] = round(100 * row["mib_s"] / base["mib_s"], 1)
            print_row({"workload": row["workload"], "of_plain_pct": row["of_plain_pct"]})
    return rows


def _curl(method: str, url: str, src: Path) -> None:
    args = ["taskset", "-c", "1", "curl", "-sf", "-o", "/dev/null", url]
    if method == "PUT":
        args += ["-T", str(src)]
    subprocess.run(args, check=True)


def list_phase(server: Server, s3, bucket: str) -> list[dict]:
    keys = [f"d{d:03d}/o{o:03d}" for d in range(100) for o in range(100)]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"x" * 16), keys))
    rows = []
    for name, kwargs, pages in (("full ListObjectsV2", {}, 10), ("root Delimiter=/", {"Delimiter": "/"}, 1)):
        times, cpus = [], []
        for _ in range(5):
            def run() -> float:
                started = time.perf_counter()
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kwargs):
                    pass
                return time.perf_counter() - started
            secs, cpu = measured(server, run)
            times.append(secs); cpus.append(cpu)
        row = {"workload": name, "pages": pages, "ms": round(statistics.median(times) * 1000, 1),
               "server_cpu_ms_per_page": round(statistics.median(cpus) * 1000 / pages, 2)}
        rows.append(row)
        print_row(row)
    return rows


def print_row(row: dict) -> None:
    print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="coffer")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--conc", default="1,16,64")
    parser.add_argument("--phases", default="small,large,list")
    parser.add_argument("--large-count", type=int, default=8)
    parser.add_argument("--sse", action="store_true", help="also 64 MiB PUT/GET with SSE-S3 (runs the large phase "
                                                            "too, for the plain figures beside them)")
    parser.add_argument("--quick", action="store_true", help="5 s steps at c=16, 2 large objects")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.conc, args.large_count = 5, "16", 2
    ensure_debian("wrk", "curl")
    server = Server()
    try:
        pin(list(server.pids().values()), 0)
        pin([os.getpid()], 1)
        s3 = server.client()
        s3.create_bucket(Bucket="bench")
        results: dict = {"name": args.name, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        phases = args.phases.split(",")
        if args.sse and "large" not in phases:
            phases.append("large")
        if "small" in phases:
            results["small"] = small_phase(server, s3, "bench", [int(c) for c in args.conc.split(",")], args.seconds)
        if "large" in phases:
            results["large"] = large_phase(server, s3, "bench", args.large_count)
        if args.sse:
            results["sse"] = sse_phase(server, s3, args.large_count, results.get("large"))
        if "list" in phases:
            s3.create_bucket(Bucket="bench-list")
            results["list"] = list_phase(server, s3, "bench-list")
    finally:
        server.stop()
    write_results(args.name, results)


if __name__ == "__main__":
    main()
