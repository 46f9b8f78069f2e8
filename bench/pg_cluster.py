"""`python bench/pg_cluster.py --port 8000 [-- COMMAND...]`: a Coffer cluster on PostgreSQL, for
s3-tests and load runs.

Starts a PostgreSQL of its own (Debian's `postgresql` package, initdb into a temporary directory),
N metadata daemons on that one database, a data daemon, M front-ends each given every metadata
daemon (METADATA_HOSTS), and HAProxy (deploy/haproxy.cfg) on 127.0.0.1:PORT in front of them.
Prints the endpoint, then either runs COMMAND (with S3_ENDPOINT set) and stops everything when it
ends, exiting with its status, or serves until interrupted. The accounts are the default ones
(accessKey1/verySecretKey1, accessKey2/verySecretKey2), as s3-tests expects.

    python bench/pg_cluster.py --port 8108 -- /work/shared/tools/s3compat/run --port 8108 ...
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.cluster import Cluster  # noqa: E402
from tests.compose import start_haproxy  # noqa: E402
from tests.postgres import SKIP_REASON, PostgresServer, pg_bindir  # noqa: E402


class PgCluster:
    """PostgreSQL, the Coffer processes over it, and HAProxy: started together, stopped together."""

    def __init__(self, root: Path, port: int, daemons: int, frontends: int, fsync: bool) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise SystemExit(SKIP_REASON)
        self.root, self.port = root, port
        self.postgres = PostgresServer(bindir, fsync=fsync)
        self.cluster: Cluster | None = None
        self.lb: subprocess.Popen | None = None
        self.shape = (daemons, frontends)

    def start(self) -> "PgCluster":
        self.postgres.start()
        daemons, frontends = self.shape
        self.cluster = Cluster(self.root, frontends, {"LOG_LEVEL": "WARNING"}, self.postgres.database(),
                               metadata_daemons=daemons, failover=True)
        self.cluster.start()
        self.lb = start_haproxy(self.root, self.port, self.cluster.s3_ports)
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.lb is not None and self.lb.poll() is None:
            self.lb.terminate()
            self.lb.wait(10)
        if self.cluster is not None:
            self.cluster.stop()
        self.postgres.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="HAProxy's port on 127.0.0.1")
    parser.add_argument("--daemons", type=int, default=2, help="metadata daemons on the one database")
    parser.add_argument("--frontends", type=int, default=2)
    parser.add_argument("--fsync", action="store_true", help="PostgreSQL with fsync on (off: faster, for tests)")
    parser.add_argument("--dir", type=Path, help="where the processes keep data and logs (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the directory (logs) when done")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND...: run it, then stop")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="coffer-pgcluster-"))
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    cluster = PgCluster(root, args.port, args.daemons, args.frontends, args.fsync)
    try:
        cluster.start()
        print(f"endpoint {cluster.endpoint}: {args.daemons} metadata daemons on PostgreSQL port "
              f"{cluster.postgres.port}, {args.frontends} front-ends behind HAProxy; logs in {root}", flush=True)
        if command:
            return subprocess.run(command, env={**os.environ, "S3_ENDPOINT": cluster.endpoint}).returncode
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        return 0
    finally:
        cluster.stop()
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
