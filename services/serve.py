"""`coffer serve`: the all-in-one embedded default, the dmd and one front-end as two supervised children
(or --workers N front-ends sharing the S3 port with SO_REUSEPORT).

The cluster secret is generated once and kept in the metadata directory, so restarts keep it;
with S3BACKEND=mem nothing is written anywhere: it is generated per run, for the children only.
A child that exits without being asked to is restarted at once, then after 0.5, 1, 2, 4 ... s
(capped at 10 s) if it keeps dying; a child that ran for 30 s starts afresh. The other child
keeps running meanwhile: the front-end answers 503 SlowDown until the dmd is back, and
reconnects by itself. Ctrl-C or SIGTERM stops both and waits for them (a second one kills them).
"""
from __future__ import annotations

import base64
import ctypes
import ctypes.util
import logging
import os
import secrets
import select
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from s3front.sse.keys import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV, generate_master_key_file
from shared import constants as C
from shared.config import Config
from shared.logging import setup_logging
from shared.security import private_dir, secret_is_set, write_private

SECRET_FILE = "cluster-secret"
MASTER_KEY_FILE = "kms-master-key"
_PR_SET_PDEATHSIG = 1

log = logging.getLogger("coffer.serve")


def cluster_secret(config: Config) -> str:
    """The configured secret, else the one kept in the metadata directory (made on first start)."""
    if secret_is_set(config.cluster_secret):
        return config.cluster_secret
    if config.backend == "mem":
        return secrets.token_hex(32)       # the store dies with the run: so may its secret
    path = private_dir(config.metadata_path) / SECRET_FILE
    if not path.exists():
        write_private(path, secrets.token_hex(32).encode())
    secret = path.read_text().strip()
    if not secret:
        raise SystemExit(f"coffer serve: the cluster secret file {path} is empty: delete it to make a new one")
    return secret


def kms_master_env(config: Config) -> dict[str, str]:
    """The master key of SSE-S3 and SSE-KMS for the children: the configured one, else one kept beside
    the cluster secret (made 0600 on first start, said once), else (S3BACKEND=mem) one for this run."""
    if os.environ.get(MASTER_KEY_ENV) or os.environ.get(MASTER_KEY_FILE_ENV):
        return {}
    if config.backend == "mem":
        return {MASTER_KEY_ENV: base64.b64encode(secrets.token_bytes(32)).decode()}
    path = private_dir(config.metadata_path) / MASTER_KEY_FILE
    if not path.exists():
        generate_master_key_file(path)
        log.warning("generated a master key for server-side encryption: back it up, objects encrypted "
                    "with SSE-S3 or SSE-KMS cannot be read without it", extra={"path": str(path)})
    return {MASTER_KEY_FILE_ENV: str(path)}


def child_env(config: Config) -> dict[str, str]:
    env = dict(os.environ)
    env.update(kms_master_env(config))
    env.pop("COFFER_CLUSTER_SECRET_FILE", None)
    env.pop("METADATA_HOSTS", None)         # serve's front-ends talk to its own metadata daemon
    env.update({"COFFER_CLUSTER_SECRET": cluster_secret(config), "S3BACKEND": config.backend,
                "S3DATAPATH": config.data_path,
                "S3METADATAPATH": config.metadata_path, "COFFER_PORT": str(config.port),
                "METADATA_PORT": str(config.metadata_port), "DATA_PORT": str(config.data_port),
                "LISTEN_ADDR": config.listen_addr, "LOG_LEVEL": config.log_level})
    if config.tls:
        env.update({"COFFER_TLS_CERT": config.tls_cert, "COFFER_TLS_KEY": config.tls_key,
                    "COFFER_TLS_CA": config.tls_ca, "COFFER_TLS_PORT": str(config.tls_port)})
    return env


def restart_delay(streak: int) -> float:
    """The wait before restarting a child that died `streak` times in a row already (0: at once)."""
    if streak <= 0:
        return 0.0
    return min(C.SERVE_RESTART_FIRST_DELAY_S * 2 ** (streak - 1), C.SERVE_RESTART_MAX_DELAY_S)


def describe_exit(returncode: int) -> dict[str, object]:
    """An exit status as log fields: the code, or the signal that ended the process."""
    if returncode < 0:
        try:
            return {"exitCode": None, "signal": signal.Signals(-returncode).name}
        except ValueError:
            return {"exitCode": None, "signal": -returncode}
    return {"exitCode": returncode, "signal": None}


@dataclass
class Child:
    """One supervised role, across its restarts."""
    role: str
    proc: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0                   # restarts so far, in all
    streak: int = 0                     # deaths in a row without a stable run between them
    due: float | None = None            # when a pending restart starts

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Starts the children, restarts the ones that die, stops them all on request."""

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.env = env
        # The dmd first, then the front-ends: with several, each binds the S3 port with SO_REUSEPORT
        # and the kernel spreads new connections over them (one dying leaves the others serving).
        self.children = [Child("dmd")] + [Child("s3server") for _ in range(workers)]
        if workers > 1:
            self.env = {**env, "COFFER_REUSE_PORT": "1"}
        self.stopping = False
        self.hurry = False
        self._preexec = _die_with_parent(os.getpid())

    def spawn(self, child: Child) -> None:
        # Their own process group: a terminal's Ctrl-C reaches this process only, which stops
        # the children in order; they die with it if it is killed (PR_SET_PDEATHSIG).
        child.proc = subprocess.Popen([sys.executable, "-m", "services.cli", child.role], env=self.env,
                                      process_group=0, preexec_fn=self._preexec)
        child.started, child.due = time.monotonic(), None
        log.info("child started", extra={"child": child.role, "pid": child.proc.pid, "restarts": child.restarts})

    def check(self, now: float) -> None:
        """Schedule a restart for every child that exited; start those whose restart is due."""
        for child in self.children:
            if child.due is None and child.proc is not None and child.proc.poll() is not None:
                self._schedule(child, now)
            if child.due is not None and child.due <= now and not self.stopping:
                child.restarts += 1
                self.spawn(child)

    def _schedule(self, child: Child, now: float) -> None:
        ran = now - child.started
        if ran >= C.SERVE_CHILD_STABLE_S:
            child.streak = 0
        delay = restart_delay(child.streak)
        child.streak += 1
        child.due = now + delay
        log.error("child exited unexpectedly; restarting it", extra={
            "child": child.role, "pid": child.proc.pid, **describe_exit(child.proc.returncode),
            "ranSeconds": round(ran, 3), "restarts": child.restarts + 1, "delaySeconds": delay})

    def next_wakeup(self, now: float) -> float:
        """How long the loop may sleep: until the next due restart, at most a second."""
        dues = [c.due for c in self.children if c.due is not None]
        return max(0.0, min([1.0] + [d - now for d in dues]))

    def request_stop(self, signum: int, _frame: object) -> None:
        """The signal handler: only flags, the loop does the work (no re-entrant Popen calls)."""
        self.hurry = self.stopping
        self.stopping = True

    def stop_all(self) -> None:
        """Stop the running children, the front-end first: its last requests still reach the dmd."""
        for child in reversed(self.children):
            if child.running():
                self._stop_one(child.proc)
        log.info("stopped")

    def _stop_one(self, proc: subprocess.Popen) -> None:
        """SIGTERM, wait; SIGKILL after the timeout or at once on a second Ctrl-C."""
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + C.SERVE_STOP_TIMEOUT_S
        while proc.poll() is None and time.monotonic() < deadline and not self.hurry:
            time.sleep(C.SERVE_POLL_S)
        if proc.poll() is None:
            log.warning("child did not stop in time; killing it", extra={"pid": proc.pid})
            proc.kill()
            proc.wait()

    def run(self) -> int:
        wake = _signal_wakeup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.request_stop)
        for child in self.children:
            self.spawn(child)
        while not self.stopping:
            select.select([wake], [], [], self.next_wakeup(time.monotonic()))
            _drain(wake)
            self.check(time.monotonic())
        self.stop_all()
        return 0


def _signal_wakeup() -> int:
    """A pipe that becomes readable whenever a signal arrives (a child's SIGCHLD included)."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    signal.signal(signal.SIGCHLD, lambda *_: None)      # a handler, so that SIGCHLD is delivered
    return read_end


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when this process dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:      # the parent died before prctl took effect
            os._exit(1)
    return preexec


def self_signed_names(config: Config) -> list[str]:
    """The names a throwaway certificate covers: this machine's loopback and host names, and the endpoints."""
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname()]
    if config.listen_addr not in ("0.0.0.0", "::", ""):
        names.append(config.listen_addr)
    names += [e for e in config.endpoints if e != "s3.amazonaws.com"]
    return list(dict.fromkeys(names))


def with_self_signed(config: Config, directory: Path) -> Config:
    """`config` serving HTTPS with a throwaway certificate kept in `directory`."""
    from shared.tls import self_signed
    files = self_signed(directory, self_signed_names(config))
    return replace(config, tls_cert=str(files.cert), tls_key=str(files.key), tls_ca=str(files.ca))


def run_serve(config: Config, self_signed: bool = False) -> int:
    from shared.locations import locations_or_exit
    locations_or_exit()             # a bad locationConfig.json stops here, not in a restart loop
    setup_logging("serve", config.log_level)
    scratch = None
    if self_signed:
        # With S3BACKEND=mem nothing is kept: the certificate lives as long as the run.
        scratch = tempfile.mkdtemp(prefix="coffer-tls-") if config.backend == "mem" else None
        config = with_self_signed(config, Path(scratch or Path(config.metadata_path) / C.TLS_SELF_SIGNED_DIR))
    env = child_env(config)
    log.info("coffer serve starting", extra={"port": config.port, "data": config.data_path,
                                             "metadata": config.metadata_path, "workers": config.workers})
    from services.announce import announce_when_up, banner, endpoints
    stop = threading.Event()
    announce_when_up(config, banner(config, endpoints(config), config.tls_ca if self_signed else None), stop)
    try:
        return Supervisor(env, config.workers).run()
    finally:
        stop.set()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
