"""`coffer serve`: the all-in-one embedded default, the dmd and one front-end as two child processes.

The cluster secret is generated once and kept in the metadata directory, so restarts keep it;
with S3BACKEND=mem nothing is written anywhere: it is generated per run, for the children only.
Ctrl-C (or SIGTERM) stops both children and waits for them.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.config import Config

SECRET_FILE = "cluster-secret"


def cluster_secret(config: Config) -> str:
    if config.cluster_secret:
        return config.cluster_secret
    if config.backend == "mem":
        return secrets.token_hex(32)       # the store dies with the run: so may its secret
    path = Path(config.metadata_path) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def child_env(config: Config) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"COFFER_CLUSTER_SECRET": cluster_secret(config), "S3BACKEND": config.backend,
                "S3DATAPATH": config.data_path,
                "S3METADATAPATH": config.metadata_path, "COFFER_PORT": str(config.port),
                "METADATA_PORT": str(config.metadata_port), "DATA_PORT": str(config.data_port),
                "LISTEN_ADDR": config.listen_addr, "LOG_LEVEL": config.log_level})
    return env


def run_serve(config: Config) -> int:
    env = child_env(config)
    cmd = [sys.executable, "-m", "services.cli"]
    children = [subprocess.Popen(cmd + ["dmd"], env=env)]
    children.append(subprocess.Popen(cmd + ["s3server"], env=env))
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(c.poll() is None for c in children) and not stopping:
        time.sleep(0.2)
    stop(signal.SIGTERM, None)
    deadline = time.time() + 15
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            child.kill()
    return max((c.returncode or 0) for c in children) if not stopping else 0
