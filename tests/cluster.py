"""Real Coffer processes on free loopback ports, for the tests: no mocks, no in-process shortcuts."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
from botocore.config import Config as BotoConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY, SECRET_KEY = "accessKey1", "verySecretKey1"
ALT_ACCESS_KEY, ALT_SECRET_KEY = "accessKey2", "verySecretKey2"
SECRET = "test-cluster-secret"
# For tests that watch the data daemon's files, memory or metrics: every body goes to it (small ones
# would otherwise live in their records, docs/design.md §8.5; tests/test_inline.py covers those).
NOT_INLINE = {"COFFER_INLINE_MAX": "0"}
# COFFER_TEST_BACKEND=mem runs every cluster's daemons in memory mode (S3BACKEND=mem): see conftest.py.
BACKEND = os.environ.get("COFFER_TEST_BACKEND", "file")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def s3_client(endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, **config):
    """A boto3 client with no retries unless asked for, so that tests see every error."""
    config.setdefault("retries", {"max_attempts": 1, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, config=BotoConfig(**config))


def stop_all(procs: dict[str, subprocess.Popen]) -> None:
    """Terminate every process (SIGTERM, then SIGKILL after 10 s) and forget it."""
    for name in list(procs):
        proc = procs.pop(name)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Cluster:
    """Metadata daemons (one, or several on PostgreSQL), a data daemon and N S3 front-ends, each its own process.

    With `dsn` the metadata daemons keep the metadata in that PostgreSQL database (METADATA_ENGINE=postgres),
    and front-end i talks to metadata daemon i % metadata_daemons; with `failover`, every front-end is
    given every daemon (METADATA_HOSTS) and spreads its calls over them.
    """

    def __init__(self, root: Path, frontends: int = 1, env: dict[str, str] | None = None, dsn: str | None = None,
                 metadata_daemons: int = 1, failover: bool = False) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.md_ports = [free_port() for _ in range(metadata_daemons)]
        self.md_port, self.data_port = self.md_ports[0], free_port()
        self.s3_ports = [free_port() for _ in range(frontends)]
        engine = {"METADATA_ENGINE": "postgres", "METADATA_DSN": dsn} if dsn else {}
        # The caller's own accounts and config file stay out; a test's `env` may name its own.
        inherited = {k: v for k, v in os.environ.items()
                     if k not in ("COFFER_ACCESS_KEY_ID", "COFFER_SECRET_ACCESS_KEY", "COFFER_CONFIG", "S3AUTH_CONFIG")}
        self.env = {**inherited, "COFFER_CLUSTER_SECRET": SECRET, "S3BACKEND": BACKEND, "S3DATAPATH": str(root / "data"),
                    "S3METADATAPATH": str(root / "metadata"), "METADATA_PORT": str(self.md_port),
                    "DATA_PORT": str(self.data_port), "LISTEN_ADDR": "127.0.0.1", "LOG_LEVEL": "INFO",
                    **engine, **(env or {})}
        self.procs: dict[str, subprocess.Popen] = {}
        self.failover = failover

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_ports[0]}"

    def _spawn(self, name: str, role: str, extra: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", role], env={**self.env, **(extra or {})},
                                stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        self.procs[name] = proc
        return proc

    def start_metadata(self, i: int = 0) -> None:
        self._spawn("metadata" if i == 0 else f"metadata-{i}", "mdserver", {"METADATA_PORT": str(self.md_ports[i])})
        wait_port(self.md_ports[i])

    def start_data(self) -> None:
        self._spawn("data", "dataserver")
        wait_port(self.data_port)

    def start_frontend(self, i: int = 0) -> None:
        extra = {"COFFER_PORT": str(self.s3_ports[i]), "METADATA_PORT": str(self.md_ports[i % len(self.md_ports)])}
        if self.failover:
            extra["METADATA_HOSTS"] = ",".join(f"127.0.0.1:{port}" for port in self.md_ports)
        self._spawn(f"s3-{i}", "s3server", extra)
        wait_port(self.s3_ports[i])
        self.wait_healthy(i)

    def wait_healthy(self, i: int = 0, timeout: float = 20.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.s3_ports[i]}/_/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError("the front-end never became healthy")

    def start(self) -> "Cluster":
        for i in range(len(self.md_ports)):
            self.start_metadata(i)
        self.start_data()
        for i in range(len(self.s3_ports)):
            self.start_frontend(i)
        return self

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(15)

    def stop(self) -> None:
        stop_all(self.procs)

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, i: int = 0, **config):
        return s3_client(f"http://127.0.0.1:{self.s3_ports[i]}", access_key, secret_key, **config)

    def logs(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")
