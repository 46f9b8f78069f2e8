"""A real PostgreSQL for the tests, from Debian's `postgresql` package: initdb into a temporary
directory, pg_ctl on a free loopback port, run as the package's `postgres` user when the tests run
as root (PostgreSQL refuses to run as root). Tests without the package are skipped, saying so."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.cluster import free_port

SKIP_REASON = "PostgreSQL is not installed: install the Debian package `postgresql` (apt-get install postgresql)"
USER = "coffer"


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """One PostgreSQL cluster in its own directory; `database()` makes an empty database per caller."""

    def __init__(self, bindir: Path, fsync: bool = False) -> None:
        self.bindir = bindir
        self.fsync = fsync
        # Not under pytest's tmp_path: its parents are 0700 root, which the postgres user cannot cross.
        self.root = Path(tempfile.mkdtemp(prefix="coffer-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> "PostgresServer":
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8")
        return self.start_again()

    def start_again(self) -> "PostgresServer":
        """Start the server (again, after stop()) on its port."""
        # fsync off for the tests: they check behaviour, not power-loss durability, on a shared machine
        # (benchmarks turn it on).
        fsync = "on" if self.fsync else "off"
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync={fsync} "
                   "-c max_connections=200 -c shared_buffers=32MB")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """The DSN of a new, empty database."""
        name = "t" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """The session's PostgreSQL server (skipped, naming the package, when it is not installed)."""
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip(SKIP_REASON)
    server = PostgresServer(bindir).start()
    yield server
    server.cleanup()
