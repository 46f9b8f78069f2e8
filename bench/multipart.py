"""`make bench-multipart`: a 1 GiB multipart upload through boto3 (16 MiB parts, 4 at a time) and its download.

Against `coffer serve`. Reports MiB/s each way (the download checked by SHA-256), each process's CPU
use, and every Coffer process's RSS at the start and at its peak: the front-end streams parts, so its
peak during the upload must stay under 150 MiB however large the object.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from boto3.s3.transfer import TransferConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import CpuMeter, RssSampler, Server, wait_quiet, write_results  # noqa: E402

MIB = 2**20
PART = 16 * MIB
CONCURRENCY = 4
FRONTEND_RSS_LIMIT_MIB = 150


def random_file(path: Path, size: int) -> str:
    """Random bytes on disk, written a part at a time; returns their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for offset in range(0, size, PART):
            chunk = os.urandom(min(PART, size - offset))
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(PART):
            digest.update(chunk)
    return digest.hexdigest()


def transfer(server: Server, fn, size: int) -> dict:
    """Run one transfer, timing it and sampling every process's RSS and CPU meanwhile."""
    busy_before = wait_quiet()      # the machine is shared: start when others have stopped, if they do
    pids = {"serve": server.proc.pid, **server.pids()}
    sampler = RssSampler(pids)
    meter = CpuMeter({**pids, "client": os.getpid()})
    started = time.perf_counter()
    fn()
    secs = time.perf_counter() - started
    cpu = meter.stop()
    # CPU time per MiB survives a busy machine better than MiB/s does
    server_ms = sum(cpu[role] for role in pids) * secs * 10 / (size / MIB)
    return {"machine_busy_before_pct": busy_before, "seconds": round(secs, 2), "mib_s": round(size / MIB / secs, 1), "cpu_pct": cpu,
            "server_cpu_ms_per_mib": round(server_ms, 2), "rss_mib": sampler.stop()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=1024, help="object size in MiB")
    args = parser.parse_args()
    size = args.mib * MIB
    work = Path(tempfile.mkdtemp(prefix="coffer-bench-multipart-"))
    server = Server()
    try:
        src, dst = work / "source", work / "download"
        digest = random_file(src, size)
        s3 = server.client()
        s3.create_bucket(Bucket="bench")
        config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=CONCURRENCY)
        up = transfer(server, lambda: s3.upload_file(str(src), "bench", "big", Config=config), size)
        down = transfer(server, lambda: s3.download_file("bench", "big", str(dst), Config=config), size)
        down["sha256_match"] = sha256(dst) == digest
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    front_peak = up["rss_mib"]["s3server"]["peak"]
    result = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "object_mib": args.mib,
              "part_mib": PART // MIB, "concurrency": CONCURRENCY, "upload": up, "download": down,
              "frontend_peak_rss_upload_mib": front_peak, "frontend_rss_ok": front_peak < FRONTEND_RSS_LIMIT_MIB}
    print_table(result)
    write_results("multipart", result)
    return 0 if result["frontend_rss_ok"] and down["sha256_match"] else 1


def print_table(result: dict) -> None:
    print(f"{result['object_mib']} MiB object, {result['part_mib']} MiB parts, {result['concurrency']} in parallel")
    for phase in ("upload", "download"):
        r = result[phase]
        cpu = "  ".join(f"{role} {pct}%" for role, pct in r["cpu_pct"].items())
        print(f"  {phase:9} {r['mib_s']:>7} MiB/s  {r['seconds']:>6} s  {r['server_cpu_ms_per_mib']:>5} server CPU ms/MiB"
              f"   CPU: {cpu}")
    print(f"  {'RSS MiB':9} {'upload start/peak':>24} {'download start/peak':>24}")
    for role in result["upload"]["rss_mib"]:
        u, d = result["upload"]["rss_mib"][role], result["download"]["rss_mib"][role]
        print(f"  {role:9} {u['start']:>11} / {u['peak']:<10} {d['start']:>11} / {d['peak']:<10}")
    ok = "under" if result["frontend_rss_ok"] else "OVER"
    print(f"  front-end peak RSS during upload: {result['frontend_peak_rss_upload_mib']} MiB "
          f"({ok} {FRONTEND_RSS_LIMIT_MIB} MiB); download SHA-256 match: {result['download']['sha256_match']}")


if __name__ == "__main__":
    sys.exit(main())
