"""`python bench/notify.py`: bucket event notifications (issue 19).

Starts redis-server (Debian package) and a webhook receiver on free ports and `coffer serve`
with one Redis target (access format) and one webhook target, then measures:
  - event latency, PUT acknowledged -> record received, p50 and p99, to Redis and to the webhook
    (sequential PUTs, one rule each);
  - delivery throughput to Redis: records/s drained from the outbox after Redis was away;
  - server CPU-ms per 4 KiB PUT with one notification rule beside none (same run, interleaved
    rounds), and the ratio (the goal: at most 1.15): the median of the rounds' ratios.
Prints a table and writes bench/results/notify.json. Never run by the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Server, cpu_seconds, free_port, pin  # noqa: E402

HERE = Path(__file__).resolve().parent
REDIS_ARN, HOOK_ARN = "arn:minio:sqs::BENCH:redis", "arn:minio:sqs::BENCH:webhook"
BODY = os.urandom(4096)


class Arrivals:
    """When each key's first record arrived (time.perf_counter)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    def seen(self, body: bytes) -> None:
        now = time.perf_counter()
        rows = json.loads(body)
        records = rows["Records"] if isinstance(rows, dict) else [r for row in rows for r in row["Event"]]
        with self.lock:
            for r in records:
                self.at.setdefault(r["s3"]["object"]["key"], now)


def webhook(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            arrivals.seen(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def redis_reader(port: int, arrivals: Arrivals, stop: threading.Event) -> None:
    import redis
    r = redis.Redis(port=port)
    while not stop.is_set():
        item = r.blpop(["bench-events"], timeout=1)
        if item:
            arrivals.seen(item[1])


def rule(s3, bucket: str, arn: str | None) -> None:
    s3.create_bucket(Bucket=bucket)
    if arn:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})


def latency(s3, bucket: str, arrivals: Arrivals, n: int, warm_up: int = 20) -> dict:
    """Steady-state latency: `warm_up` events first, not counted, so that the target's connection
    and the reader are up (uncounted, the first events of a run queue behind both: 40 ms and down)."""
    warm = [f"warm-{bucket}/{i:03d}" for i in range(warm_up)]
    for key in warm:
        s3.put_object(Bucket=bucket, Key=key, Body=BODY)
    deadline = time.time() + 60
    while not all(k in arrivals.at for k in warm) and time.time() < deadline:
        time.sleep(0.01)
    acked = {}
    for i in range(n):
        key = f"lat-{bucket}/{i:06d}"     # keys of their own: arrivals of both targets share one table
        s3.put_object(Bucket=bucket, Key=key, Body=BODY)
        acked[key] = time.perf_counter()
    deadline = time.time() + 60
    while len([k for k in acked if k in arrivals.at]) < n and time.time() < deadline:
        time.sleep(0.01)
    ms = sorted((arrivals.at[k] - t) * 1000 for k, t in acked.items() if k in arrivals.at)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2), "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 2)}


def puts(s3, bucket: str, n: int, conc: int, prefix: str) -> None:
    with ThreadPoolExecutor(conc) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"{prefix}/{i:07d}", Body=BODY), range(n)))


def put_cpu(server: Server, s3, n: int, conc: int, rounds: int) -> dict:
    pids = list(server.pids().values())
    costs: dict[str, list[float]] = {"none": [], "one_rule": []}
    for r in range(rounds):
        for label, bucket in (("none", "plain"), ("one_rule", "ruled")) if r % 2 == 0 else \
                (("one_rule", "ruled"), ("none", "plain")):
            before = cpu_seconds(pids)
            puts(s3, bucket, n, conc, f"cpu{r}")
            costs[label].append((cpu_seconds(pids) - before) * 1000 / n)
    none, one = statistics.median(costs["none"]), statistics.median(costs["one_rule"])
    # Each round measures both back to back, so a round's ratio leaves out the drift between rounds
    # (LevelDB's compactions grow with the store); the figure is the median of those ratios.
    pairs = [o / n for n, o in zip(costs["none"], costs["one_rule"])]
    return {"none_cpu_ms": round(none, 3), "one_rule_cpu_ms": round(one, 3),
            "ratio": round(statistics.median(pairs), 3), "round_ratios": [round(r, 3) for r in pairs],
            "rounds": costs}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency-puts", type=int, default=500)
    ap.add_argument("--drain-records", type=int, default=5000)
    ap.add_argument("--cpu-puts", type=int, default=2000)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    rdir, rport = Path(tempfile.mkdtemp(prefix="coffer-bench-redis-")), free_port()
    redis_proc = subprocess.Popen([binary, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--dir", str(rdir)],
                                  stdout=subprocess.DEVNULL)
    arrivals, stop = Arrivals(), threading.Event()
    hook = webhook(arrivals)
    os.environ.update({"COFFER_NOTIFY_REDIS_BENCH_ADDRESS": f"127.0.0.1:{rport}",
                       "COFFER_NOTIFY_REDIS_BENCH_KEY": "bench-events", "COFFER_NOTIFY_REDIS_BENCH_FORMAT": "access",
                       "COFFER_NOTIFY_WEBHOOK_BENCH_ENDPOINT": f"http://127.0.0.1:{hook.server_port}/"})
    server = Server()
    results: dict = {}
    try:
        # Coffer on core 0; boto3's load, Redis and the webhook on core 1 (their CPU is not Coffer's,
        # and unpinned they made the per-PUT figure swing by a third between runs).
        pin(list(server.pids().values()), 0)
        pin([os.getpid(), redis_proc.pid], 1)
        s3 = server.client()
        rule(s3, "to-redis", REDIS_ARN)
        rule(s3, "to-hook", HOOK_ARN)
        rule(s3, "plain", None)
        rule(s3, "ruled", REDIS_ARN)
        threading.Thread(target=redis_reader, args=(rport, arrivals, stop), daemon=True).start()
        results["latency_redis"] = latency(s3, "to-redis", arrivals, args.latency_puts)
        results["latency_webhook"] = latency(s3, "to-hook", arrivals, args.latency_puts)
        stop.set()
        time.sleep(1.5)                                 # the reader has let go of the list
        import redis
        r = redis.Redis(port=rport)
        r.delete("bench-events")
        r.config_set("maxclients", 1)                   # hold the notifier off ...
        r.client_kill_filter(skipme=True)
        puts(s3, "to-redis", args.drain_records, args.conc, "drain")
        r.config_set("maxclients", 10000)               # ... and let it drain, timed from its first record
        deadline = time.time() + 300                    # (not from here: the worker may be in its backoff)
        while r.llen("bench-events") == 0 and time.time() < deadline:
            time.sleep(0.001)
        started, first = time.perf_counter(), r.llen("bench-events")
        while r.llen("bench-events") < args.drain_records and time.time() < deadline:
            time.sleep(0.01)
        drained = r.llen("bench-events") - first
        results["redis_drain_per_s"] = round(drained / (time.perf_counter() - started))
        results["put_cpu"] = put_cpu(server, s3, args.cpu_puts, args.conc, args.rounds)
    finally:
        server.stop()
        hook.shutdown()
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(rdir, ignore_errors=True)
    for name in ("latency_redis", "latency_webhook"):
        print(f"{name:18} p50 {results[name]['p50_ms']:8.2f} ms   p99 {results[name]['p99_ms']:8.2f} ms")
    print(f"{'redis drain':18} {results['redis_drain_per_s']:8d} records/s")
    cpu = results["put_cpu"]
    print(f"{'4 KiB PUT CPU':18} none {cpu['none_cpu_ms']:.3f} ms   one rule {cpu['one_rule_cpu_ms']:.3f} ms   "
          f"ratio {cpu['ratio']:.3f} (goal <= 1.15; median of rounds {min(cpu['round_ratios']):.3f}-"
          f"{max(cpu['round_ratios']):.3f})")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "notify.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
