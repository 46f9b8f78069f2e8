"""What every Coffer benchmark needs: a server in a temporary directory, CPU and RSS readings, pinning."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import psutil
from botocore.config import Config as BotoConfig

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY, SECRET_KEY = "accessKey1", "verySecretKey1"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=BotoConfig(max_pool_connections=64, retries={"max_attempts": 1},
                                          signature_version="s3v4"))


def ensure_debian(*packages: str) -> None:
    """Install the Debian packages a benchmark drives (wrk, curl) when they are missing."""
    missing = [p for p in packages if shutil.which(p) is None]
    if missing:
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)


class Server:
    """`coffer serve` in a temporary directory, on free ports."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coffer-bench-"))
        self.port, self.md_port, self.data_port = free_port(), free_port(), free_port()
        env = {**os.environ, "LOG_LEVEL": "WARNING", **(env or {})}
        cmd = [sys.executable, "-m", "services.cli", "serve", "--port", str(self.port), "--metadata-port",
               str(self.md_port), "--data-port", str(self.data_port), "--listen", "127.0.0.1",
               "--data-path", str(self.dir / "data"), "--metadata-path", str(self.dir / "metadata")]
        self.log = open(self.dir / "serve.log", "wb")
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_healthy()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def secret(self) -> str:
        return (self.dir / "metadata" / "cluster-secret").read_text().strip()

    def _wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.endpoint}/_/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"coffer serve did not become healthy; see {self.dir / 'serve.log'}")

    def pids(self) -> dict[str, int]:
        """The processes doing the work, by role (the `serve` parent only waits)."""
        out = {}
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            role = child.cmdline()[-1]
            out[role] = child.pid
        return out

    def client(self):
        return s3_client(self.endpoint)

    def stop(self) -> None:
        stop_and_remove(self.proc, self.dir)


def size_and_seconds(doc: str, option: str, default: int, quick: int, what: str) -> tuple[int, int]:
    """A bench's `--OPTION N --seconds S [--quick]`: (N, S), or (`quick`, 5) with --quick."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(f"--{option}", type=int, default=default)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help=f"{quick:,} {what}, 5 s steps")
    args = parser.parse_args()
    return (quick, 5) if args.quick else (getattr(args, option), args.seconds)


@contextlib.contextmanager
def pinned_server(env: dict[str, str] | None = None) -> Iterator[Server]:
    """`coffer serve` on core 0 and this process (the load side) on core 1, stopped on the way out."""
    server = Server(env)
    try:
        pin(list(server.pids().values()), 0)
        pin([os.getpid()], 1)
        yield server
    finally:
        server.stop()


def stop_and_remove(proc: subprocess.Popen, directory: Path) -> None:
    """Stop a server process (SIGTERM, SIGKILL after 20 s) and delete its temporary directory."""
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(directory, ignore_errors=True)


def cpu_seconds(pids: list[int]) -> float:
    """utime+stime of the processes (all their threads), from /proc/PID/stat."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def pin(pids: list[int], cpu: int) -> None:
    """Pin every thread of these processes to one core (server on 0, load on 1)."""
    if os.cpu_count() and os.cpu_count() > 1:
        for pid in pids:
            subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)], stdout=subprocess.DEVNULL, check=False)


class RssSampler:
    """Peak RSS of some processes, sampled every 50 ms in a thread."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {role: rss_mib(pid) for role, pid in pids.items()}
        self.peak = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for role, pid in self.pids.items():
                self.peak[role] = max(self.peak[role], rss_mib(pid))

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        self._thread.join()
        return {role: {"start": round(self.start[role], 1), "peak": round(self.peak[role], 1)} for role in self.pids}


class Wrk:
    """wrk cycling through presigned paths (bench/urls.lua); result() waits for it and parses its RESULT line."""

    def __init__(self, endpoint: str, paths: list[str], method: str, conc: int, seconds: float,
                 body: Path | None = None, core: int | None = None, threads: int = 1) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".urls", delete=False) as f:
            f.write("\n".join(paths) + "\n")
        self.url_file = Path(f.name)
        args = ["wrk", "-t", str(threads), "-c", str(conc), "-d", f"{seconds}s", "--latency",
                "-s", str(ROOT / "bench" / "urls.lua"), endpoint, "--", f.name, method] + ([str(body)] if body else [])
        if core is not None:
            args = ["taskset", "-c", str(core)] + args      # taskset execs wrk: same pid
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def result(self) -> dict:
        out, err = self.proc.communicate()
        self.url_file.unlink(missing_ok=True)
        if self.proc.returncode:
            raise RuntimeError(f"wrk failed ({self.proc.returncode}): {err.strip()}")
        line = next(line for line in out.splitlines() if line.startswith("RESULT "))
        return json.loads(line[len("RESULT "):])


def wrk_step(server: Server, paths: list[str], method: str, seconds: int, body: Path | None = None,
             conc: int = 16) -> dict:
    """One measured wrk run on core 1: rate, p99, errors and the server's CPU-ms per request."""
    pids = list(server.pids().values())
    before = cpu_seconds(pids)
    res = Wrk(server.endpoint, paths, method, conc, seconds, body, core=1).result()
    cpu = cpu_seconds(pids) - before
    return {"req_s": round(res["requests"] / (res["duration_us"] / 1e6)), "p99_ms": res["p99_us"] / 1000,
            "errors": res["errors"] + res["status_errors"],
            "cpu_ms_per_req": round(cpu * 1000 / max(res["requests"], 1), 3)}


class CpuMeter:
    """Each process's CPU use (% of one core), the whole machine's (% of all cores) and the rest's, start to stop."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.started = time.perf_counter()
        self.before = {role: cpu_seconds([pid]) for role, pid in pids.items()}
        self.machine = psutil.cpu_times()

    def stop(self) -> dict[str, float]:
        after = {role: cpu_seconds([pid]) for role, pid in self.pids.items()}
        wall = time.perf_counter() - self.started
        machine = psutil.cpu_times()
        total = _busy_total(machine) - _busy_total(self.machine)
        idle = (machine.idle + machine.iowait) - (self.machine.idle + self.machine.iowait)
        out = {role: round(100 * (after[role] - self.before[role]) / wall, 1) for role in self.pids}
        out["machine"] = round(100 * (1 - idle / total), 1) if total else 0.0
        # CPU (% of one core) used by processes not measured here: on a shared machine, the noise
        out["others"] = round(max(0.0, out["machine"] * (os.cpu_count() or 1) - sum(out[r] for r in self.pids)), 1)
        return out


def _busy_total(times) -> float:
    """All CPU time; guest time is already counted in user time."""
    return sum(times) - getattr(times, "guest", 0) - getattr(times, "guest_nice", 0)


def wait_quiet(busy_pct: float = 20.0, max_wait: float = 120.0) -> float:
    """Wait (up to max_wait s) until the shared machine is under busy_pct % busy; returns the last reading."""
    deadline = time.time() + max_wait
    while True:
        busy = psutil.cpu_percent(interval=1.0)
        if busy < busy_pct or time.time() >= deadline:
            return busy


def write_results(name: str, results: object) -> Path:
    """Write a benchmark's results to bench/results/NAME.json and say where."""
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return out
