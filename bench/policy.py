"""What a bucket policy costs a GET: server CPU-ms per 4 KiB GET authorized by the owner's own keys
(no policy) beside the same GET by another account, let in by a 20-statement bucket policy (the
last statement is the one that allows; the others name other prefixes, actions and conditions, so
the evaluator scans them all). Runs alternate A, B, A, B... in one server; prints a table and
writes bench/results/NAME.json.

    .venv/bin/python bench/policy.py [--seconds 8] [--rounds 2] [--conc 16]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Server, Wrk, cpu_seconds, ensure_debian, s3_client, write_results  # noqa: E402
from shared.config import DEFAULT_ACCOUNTS  # noqa: E402

OWNER, OTHER = DEFAULT_ACCOUNTS


def twenty_statements(bucket: str) -> str:
    """19 statements that do not match a GET of get/*, then the one that allows it."""
    other = f"arn:aws:iam::{OTHER.account_id}:root"
    statements = []
    for i in range(19):
        statements.append({"Sid": f"S{i}", "Effect": "Allow", "Principal": {"AWS": other},
                           "Action": ["s3:PutObject", "s3:GetObjectTagging"] if i % 2 else "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{bucket}/other{i}/*",
                           "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}} if i % 3 == 0 else {}})
    statements.append({"Sid": "Get", "Effect": "Allow", "Principal": {"AWS": other}, "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/get/*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    for st in statements:
        if not st["Condition"]:
            del st["Condition"]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def presigned_gets(client, bucket: str, keys: list[str]) -> list[str]:
    return ["/" + client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": k},
                                                ExpiresIn=3600).split("/", 3)[3] for k in keys]


def cpu_per_get(server: Server, paths: list[str], conc: int, seconds: int) -> tuple[float, int]:
    pids = list(server.pids().values())
    Wrk(server.endpoint, paths, "GET", conc, 1, None, core=1).result()          # warm-up
    before = cpu_seconds(pids)
    res = Wrk(server.endpoint, paths, "GET", conc, seconds, None, core=1).result()
    used = cpu_seconds(pids) - before
    if res["errors"] or res["status_errors"]:
        raise RuntimeError(f"{res['status_errors']} error answers: the GETs must all succeed")
    return used * 1000 / max(res["requests"], 1), round(res["requests"] / (res["duration_us"] / 1e6))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="policy")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--conc", type=int, default=16)
    args = parser.parse_args()
    ensure_debian("wrk")
    server = Server()
    try:
        owner = s3_client(server.endpoint)
        other = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                             aws_access_key_id=OTHER.access_key, aws_secret_access_key=OTHER.secret_key,
                             config=BotoConfig(signature_version="s3v4"))
        keys = [f"get/{i:03d}" for i in range(200)]
        for bucket in ("plain", "policed"):
            owner.create_bucket(Bucket=bucket)
            for key in keys:
                owner.put_object(Bucket=bucket, Key=key, Body=os.urandom(4096))
        owner.put_bucket_policy(Bucket="policed", Policy=twenty_statements("policed"))
        runs = {"owner keys, no policy": presigned_gets(owner, "plain", keys),
                "other account, 20-statement policy": presigned_gets(other, "policed", keys)}
        rows = []
        for round_ in range(args.rounds):
            for label, paths in runs.items():
                cpu, rate = cpu_per_get(server, paths, args.conc, args.seconds)
                rows.append({"round": round_ + 1, "workload": label, "cpu_ms_per_get": round(cpu, 4), "req_s": rate})
                print(f"round={round_ + 1}  {label:38s} cpu_ms_per_get={cpu:.4f}  req_s={rate}", flush=True)
        mean = {label: sum(r["cpu_ms_per_get"] for r in rows if r["workload"] == label) / args.rounds
                for label in runs}
        a, b = mean.values()
        print(f"policy/owner CPU ratio: {b / a:.3f}")
        write_results(args.name, {"rows": rows, "mean_cpu_ms": mean, "ratio": b / a})
    finally:
        server.stop()


if __name__ == "__main__":
    main()
