"""What Prometheus metrics cost a GET: server CPU-ms per 4 KiB GET with metrics on (the default)
beside COFFER_METRICS=0, two servers started side by side and measured in alternating rounds
(on, off, on, off, ...). Prints a table and writes bench/results/NAME.json.

    .venv/bin/python bench/metrics_ab.py [--seconds 8] [--rounds 2] [--conc 16]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Server, ensure_debian, s3_client, write_results  # noqa: E402
from bench.policy import cpu_per_get, presigned_gets  # noqa: E402



def started(metrics: str) -> Server:
    os.environ["COFFER_METRICS"] = metrics
    try:
        return Server()
    finally:
        del os.environ["COFFER_METRICS"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="metrics-ab")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--conc", type=int, default=16)
    args = parser.parse_args()
    ensure_debian("wrk")
    servers = {"metrics on": started("1"), "metrics off": started("0")}
    try:
        paths = {}
        for label, server in servers.items():
            s3 = s3_client(server.endpoint)
            s3.create_bucket(Bucket="bench")
            keys = [f"get/{i:03d}" for i in range(200)]
            for key in keys:
                s3.put_object(Bucket="bench", Key=key, Body=os.urandom(4096))
            paths[label] = presigned_gets(s3, "bench", keys)
        rows = []
        for round_ in range(args.rounds):
            for label, server in servers.items():
                cpu, rate = cpu_per_get(server, paths[label], args.conc, args.seconds)
                rows.append({"round": round_ + 1, "workload": label, "cpu_ms_per_get": round(cpu, 4), "req_s": rate})
                print(f"round={round_ + 1}  {label:12s} cpu_ms_per_get={cpu:.4f}  req_s={rate}", flush=True)
        mean = {label: sum(r["cpu_ms_per_get"] for r in rows if r["workload"] == label) / args.rounds
                for label in servers}
        ratio = mean["metrics on"] / mean["metrics off"]
        print(f"on/off CPU ratio: {ratio:.3f}")
        write_results(args.name, {"rows": rows, "mean_cpu_ms": mean, "ratio": ratio})
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
