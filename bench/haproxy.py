"""`make bench-haproxy`: 4 KiB GETs per second through HAProxy with 1, 2 and 3 S3 front-ends.

The deployment is docker-compose.yml run as local processes (tests/compose.py): one metadata daemon,
one data daemon, N front-ends, Debian's HAProxy. wrk sends presigned GETs to the load balancer's port.
Nothing is pinned, since the point is how the front-ends spread over the cores; instead every
process's CPU use is read from /proc during each step, so the table names the one at 100% of a core.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import CpuMeter, Wrk, ensure_debian, s3_client, wait_quiet  # noqa: E402
from bench.run import SMALL, presign  # noqa: E402
from tests.compose import LocalCompose  # noqa: E402

HERE = Path(__file__).resolve().parent
BUCKET, KEYS = "bench", 1000
SATURATED = 90.0        # % of one core: a single event loop at this is the bottleneck


def seed(lb_endpoint: str) -> list[str]:
    """1000 objects of 4 KiB, and presigned GETs for them through the load balancer."""
    s3 = s3_client(lb_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    keys = [f"get/{i:04d}" for i in range(KEYS)]
    body = os.urandom(SMALL)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=BUCKET, Key=k, Body=body), keys))
    return presign(s3, "GET", BUCKET, keys)


def roles(compose: LocalCompose) -> dict[str, int]:
    out = {"metadata": compose.pid("metadata"), "data": compose.pid("data")}
    out.update({f"s3-{i}": compose.pid(f"s3-{i}") for i in range(compose.scale)})
    out["haproxy"] = compose.pid("lb")
    return out


def step(compose: LocalCompose, paths: list[str], conc: int, seconds: int, warmup: int) -> dict:
    """A warm-up, then a measured wrk run; CPU is read over a window strictly inside the run."""
    busy_before = wait_quiet()      # the machine is shared: start when others have stopped, if they do
    Wrk(compose.lb_endpoint, paths, "GET", conc, warmup).result()
    run = Wrk(compose.lb_endpoint, paths, "GET", conc, seconds)
    try:
        time.sleep(0.5)         # past wrk's connection set-up
        meter = CpuMeter({**roles(compose), "wrk": run.pid})
        time.sleep(max(seconds - 1.0, 0.5))
        cpu = meter.stop()
        res = run.result()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()
    secs = res["duration_us"] / 1e6
    return {"frontends": compose.scale, "conc": conc, "req_s": round(res["requests"] / secs),
            "p50_ms": res["p50_us"] / 1000, "p99_ms": res["p99_us"] / 1000,
            "errors": res["errors"] + res["status_errors"], "machine_busy_before_pct": busy_before, "cpu_pct": cpu,
            "bottleneck": bottleneck(cpu)}


def bottleneck(cpu: dict[str, float]) -> str:
    """The processes at a full core, and whether the machine's cores are all busy."""
    cores = os.cpu_count() or 1
    hot = [role for role, pct in cpu.items() if role not in ("machine", "others") and pct >= SATURATED]
    if cpu["machine"] >= 95.0:
        hot.append(f"all {cores} cores")
    return " + ".join(hot) or "none (latency-bound)"


COLUMNS = ["metadata", "data", "s3-0", "s3-1", "s3-2", "haproxy", "wrk", "others", "machine"]


def print_header() -> None:
    cpu = " ".join(f"{c:>8}" for c in COLUMNS)
    print(f"{'fe':>2} {'conc':>4} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} | CPU %: {cpu} | bottleneck",
          flush=True)


def print_row(row: dict) -> None:
    cpu = " ".join(f"{row['cpu_pct'].get(c, ''):>8}" for c in COLUMNS)
    print(f"{row['frontends']:>2} {row['conc']:>4} {row['req_s']:>6} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} "
          f"{row['errors']:>4} |        {cpu} | {row['bottleneck']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--scales", default="1,2,3")
    parser.add_argument("--conc", default="16,64")
    args = parser.parse_args()
    ensure_debian("wrk")
    root = Path(tempfile.mkdtemp(prefix="coffer-bench-haproxy-"))
    rows = []
    print_header()
    try:
        for scale in (int(s) for s in args.scales.split(",")):
            (root / str(scale)).mkdir()
            compose = LocalCompose(root / str(scale), scale=scale)
            try:
                compose.up()
                paths = seed(compose.lb_endpoint)
                for conc in (int(c) for c in args.conc.split(",")):
                    rows.append(step(compose, paths, conc, args.seconds, args.warmup))
                    print_row(rows[-1])
            finally:
                compose.down()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out = HERE / "results" / "haproxy.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cores": os.cpu_count(),
                               "seconds": args.seconds, "object_bytes": SMALL, "rows": rows}, indent=2))
    print(f"CPU % is of one core (machine: of all {os.cpu_count()} cores; others: everything else, i.e. other "
          f"processes, kernel threads, softirq); wrote {out}")


if __name__ == "__main__":
    main()
