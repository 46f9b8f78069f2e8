"""`make bench-locations`: 4 KiB GET/PUT and 64 MiB PUT/GET in a bucket on the local `file` location
and in a bucket on an `aws_s3` location, side by side, through one Coffer.

The remote is a second `coffer serve` (a real S3 endpoint on this machine: the figures show what the
aws_s3 path costs Coffer's front-end, not what a network adds). The measured Coffer is pinned to
core 0; the load generator and the remote share core 1, so `cpu_ms_per_req` (the measured Coffer's
CPU, all its processes) is comparable between the two rows; the remote's own CPU is reported apart.
Prints a table and writes bench/results/NAME.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ACCESS_KEY, SECRET_KEY, Server, cpu_seconds, ensure_debian, pin, write_results  # noqa: E402
from bench.run import large_phase, print_row, small_phase  # noqa: E402

REMOTE_BUCKET = "coffer-data"
BUCKETS = {"file": ("bench-local", None), "aws_s3": ("bench-remote", "remote")}


def location_file(remote: Server, directory: Path) -> Path:
    """us-east-1 is the Coffer's own data daemon; `remote` the other Coffer's bucket (bucketMatch false)."""
    doc = {"us-east-1": {"type": "file", "legacyAwsBehavior": True},
           "remote": {"type": "aws_s3", "details": {
               "awsEndpoint": remote.endpoint, "bucketName": REMOTE_BUCKET, "bucketMatch": False,
               "credentials": {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}, "prefix": "bench/"}}}
    path = directory / "locationConfig.json"
    path.write_text(json.dumps(doc))
    return path


def start(args: argparse.Namespace) -> tuple[Server, Server, Path]:
    remote = Server()
    s3 = remote.client()
    s3.create_bucket(Bucket=REMOTE_BUCKET)
    s3.put_bucket_versioning(Bucket=REMOTE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    directory = Path(tempfile.mkdtemp(prefix="coffer-bench-locations-"))
    try:
        server = Server(env={"S3_LOCATION_FILE": str(location_file(remote, directory))})
    except Exception:
        remote.stop()
        raise
    pin(list(server.pids().values()), 0)
    pin(list(remote.pids().values()) + [os.getpid()], 1)
    return server, remote, directory


def run_location(server: Server, remote: Server, kind: str, args: argparse.Namespace) -> dict:
    """Both workloads on one location's bucket: the rows, tagged with the location, and the remote's CPU."""
    bucket, constraint = BUCKETS[kind]
    s3 = server.client()
    if constraint:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": constraint})
    else:
        s3.create_bucket(Bucket=bucket)
    remote_pids = list(remote.pids().values())
    before = cpu_seconds(remote_pids)
    print(f"-- {kind} location (bucket {bucket})", flush=True)
    rows = small_phase(server, s3, bucket, [int(c) for c in args.conc.split(",")], args.seconds)
    rows += large_phase(server, s3, bucket, args.large_count)
    for row in rows:
        row["location"] = kind
    return {"rows": rows, "remote_cpu_s": round(cpu_seconds(remote_pids) - before, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="locations")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--conc", default="1,16")
    parser.add_argument("--large-count", type=int, default=4)
    args = parser.parse_args()
    ensure_debian("wrk", "curl")
    server, remote, directory = start(args)
    results: dict = {"name": args.name, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        for kind in BUCKETS:
            results[kind] = run_location(server, remote, kind, args)
    finally:
        server.stop()
        remote.stop()
        (directory / "locationConfig.json").unlink(missing_ok=True)
        directory.rmdir()
    print("-- side by side")
    for kind in BUCKETS:
        for row in results[kind]["rows"]:
            print_row(row)
    write_results(args.name, results)


if __name__ == "__main__":
    main()
