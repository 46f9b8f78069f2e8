"""`coffer serve` as a real subprocess on free loopback ports, for the supervision and security tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.cluster import REPO_ROOT, free_port, s3_client

_ENV_DROPPED = ("COFFER_CLUSTER_SECRET", "COFFER_CLUSTER_SECRET_FILE", "COFFER_ACCESS_KEY_ID",
                "COFFER_SECRET_ACCESS_KEY", "COFFER_CONFIG", "S3AUTH_CONFIG")


class Serve:
    """One `coffer serve` in its own session (so that a process-group signal reaches it alone)."""

    def __init__(self, root: Path, args: tuple[str, ...] = (), extra_env: dict[str, str] | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port, self.md_port, self.data_port = free_port(), free_port(), free_port()
        self.data_path, self.metadata_path = root / "data", root / "metadata"
        self.log_path = root / "serve.log"
        env = {k: v for k, v in os.environ.items() if k not in _ENV_DROPPED}
        env.update({"LOG_LEVEL": "INFO", **(extra_env or {})})
        cmd = [sys.executable, "-m", "services.cli", "serve", "--port", str(self.port),
               "--metadata-port", str(self.md_port), "--data-port", str(self.data_port), "--listen", "127.0.0.1",
               "--data-path", str(self.data_path), "--metadata-path", str(self.metadata_path), *args]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **config):
        return s3_client(self.endpoint, **config)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.endpoint}/_/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            assert self.proc.poll() is None, f"coffer serve exited: {self.logs()[-2000:]}"
            time.sleep(0.05)
        raise TimeoutError(f"coffer serve never became healthy: {self.logs()[-2000:]}")

    def children(self) -> dict[str, int]:
        """The live children by role (`dmd`, `s3server`)."""
        out = {}
        for child in psutil.Process(self.proc.pid).children():
            try:
                out[child.cmdline()[-1]] = child.pid
            except (psutil.NoSuchProcess, IndexError):
                pass
        return out

    def frontends(self) -> list[int]:
        """The pids of the live `s3server` children (several with --workers)."""
        found = []
        for child in psutil.Process(self.proc.pid).children():
            try:
                if child.cmdline()[-1] == "s3server" and child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child.pid)
            except (psutil.NoSuchProcess, IndexError):
                pass
        return sorted(found)

    def wait_new_child(self, role: str, old_pid: int, timeout: float = 20.0) -> int:
        """The pid of the child that replaced `old_pid` in `role`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.children().get(role)
            if pid is not None and pid != old_pid:
                return pid
            time.sleep(0.01)
        raise TimeoutError(f"no new {role} child: {self.logs()[-2000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal serve and wait; if it hangs, SIGKILL it and its children (a test must not leak them)."""
        if self.proc.poll() is None:
            children = [p.pid for p in psutil.Process(self.proc.pid).children()]
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in children + [self.proc.pid]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def gone(pids: list[int], timeout: float = 20.0) -> bool:
    """Whether every one of these processes has ended (zombies count as ended) within the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
