"""docker-compose.yml (or docker-compose.postgres.yml) without Docker: each service's command and
environment, run as local processes.

Service names resolve to 127.0.0.1, every container port gets a free loopback port, volumes and
secrets become directories and files under a temporary root, and the `lb` service is Debian's
HAProxy running deploy/haproxy.cfg with its server-template expanded to the local replicas. The
compose file's wiring (commands, variable names, ports, health checks) is what the tests exercise.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.cluster import free_port, stop_all, wait_port
from tests.postgres import SKIP_REASON, PostgresServer, pg_bindir

REPO = Path(__file__).resolve().parent.parent
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")
ROLE_PORT_VARS = {"mdserver": "METADATA_PORT", "dataserver": "DATA_PORT", "s3server": "COFFER_PORT"}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR} and ${VAR:-default}."""
    return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)


def load(path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    return yaml.safe_load(interpolate(path.read_text(), env or dict(os.environ)))


def haproxy_config(lb_port: int, s3_ports: list[int]) -> str:
    """deploy/haproxy.cfg listening on 127.0.0.1:lb_port, its Docker DNS template replaced by local front-ends."""
    cfg = (REPO / "deploy" / "haproxy.cfg").read_text()
    cfg = re.sub(r"resolvers docker\n(    .*\n)+", "", cfg)
    cfg = cfg.replace("bind *:8000", f"bind 127.0.0.1:{lb_port}")
    servers = "".join(f"    server s3-{i} 127.0.0.1:{p} check inter 500ms fall 2 rise 1\n"
                      for i, p in enumerate(s3_ports))
    return re.sub(r"    server-template .*\n", servers, cfg)


def start_haproxy(root: Path, lb_port: int, s3_ports: list[int]) -> subprocess.Popen:
    """Debian's HAProxy on that config (written under root, logging to root/lb.log), once it listens."""
    path = root / "haproxy.cfg"
    path.write_text(haproxy_config(lb_port, s3_ports))
    log = open(root / "lb.log", "ab")
    proc = subprocess.Popen([shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", str(path)],
                            stdout=log, stderr=subprocess.STDOUT)
    wait_port(lb_port)
    return proc


class LocalCompose:
    """A compose file's Coffer services as local processes; a `postgres` service is a local PostgreSQL
    (tests/postgres.py) whose database every METADATA_DSN_FILE secret names."""

    def __init__(self, root: Path, scale: int = 2, compose_file: Path = REPO / "docker-compose.yml",
                 postgres: PostgresServer | None = None) -> None:
        self.root = root
        self.spec = load(compose_file)
        self.services = self.spec["services"]
        self.scale = scale
        self.roles = {name: svc["command"][0] for name, svc in self.services.items() if svc.get("command") and
                      svc["command"][0] in ROLE_PORT_VARS}
        self.daemons = [name for name, role in self.roles.items() if role != "s3server"]
        self.ports = {name: free_port() for name in self.daemons}
        self.s3_ports = [free_port() for _ in range(scale)]
        self.lb_port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.postgres = postgres            # given: the caller's server (kept); else one of its own, if needed
        self._own_postgres = postgres is None
        self._secrets = self._write_secrets()

    def _first(self, role: str) -> str:
        return next(name for name, r in self.roles.items() if r == role)

    def _write_secrets(self) -> dict[str, Path]:
        out = {}
        for name in self.spec.get("secrets", {}):
            path = self.root / "secrets" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            out[f"/run/secrets/{name}"] = path
        return out

    def _paths(self, service: dict) -> dict[str, str]:
        """Container path -> local path, for the service's volumes and secrets."""
        mapping = {k: str(v) for k, v in self._secrets.items()}
        for mount in service.get("volumes", []):
            name, _, target = mount.partition(":")
            local = self.root / "volumes" / name.strip("./").replace("/", "_")
            local.mkdir(parents=True, exist_ok=True)
            mapping[target.split(":")[0]] = str(local)
        return mapping

    def _env(self, name: str, port: int | None) -> dict[str, str]:
        service = self.services[name]
        paths = self._paths(service)
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        for key, value in env.items():
            if value == "0.0.0.0":
                env[key] = "127.0.0.1"
            elif value in self.services and key.endswith("_HOST"):     # a service name as a host
                env[key] = "127.0.0.1"
            elif value in paths:
                env[key] = paths[value]
            elif local := self._addresses(value):    # service:port lists (METADATA_HOSTS)
                env[key] = local
        env["METADATA_PORT"] = str(self.ports[self._first("mdserver")])
        env["DATA_PORT"] = str(self.ports[self._first("dataserver")])
        if port is not None:
            env[ROLE_PORT_VARS[self.roles[name]]] = str(port)
        return {**os.environ, **env}

    def _addresses(self, value: str) -> str | None:
        """`service:port,...` with every service a local daemon: the same on 127.0.0.1; else None."""
        items = [item.rpartition(":") for item in value.split(",")]
        if not all(sep and host in self.ports for host, sep, _ in items):
            return None
        return ",".join(f"127.0.0.1:{self.ports[host]}" for host, _, _ in items)

    def _container_port(self, name: str) -> str:
        return str(self.services[name]["environment"][ROLE_PORT_VARS[self.roles[name]]])

    def start_service(self, name: str, replica: int = 0) -> None:
        service = self.services[name]
        port = self.s3_ports[replica] if name == "s3" else self.ports[name]
        tag = f"{name}-{replica}" if name == "s3" else name
        log = open(self.root / f"{tag}.log", "ab")
        cmd = [sys.executable, "-m", "services.cli", *service["command"]]
        self.procs[tag] = subprocess.Popen(cmd, env=self._env(name, port), cwd=REPO, stdout=log,
                                           stderr=subprocess.STDOUT)
        wait_port(port)
        self.wait_healthy(name, port)

    def wait_healthy(self, name: str, port: int, timeout: float = 20) -> None:
        """Run the service's own healthcheck command, pointed at the local port, until it passes."""
        test = self.services[name]["healthcheck"]["test"]
        assert test[0] == "CMD", "healthchecks are exec-form commands"
        argv = [sys.executable if a == "python" else a.replace(f":{self._container_port(name)}", f":{port}")
                .replace(f", {self._container_port(name)})", f", {port})") for a in test[1:]]
        deadline = time.time() + timeout
        while time.time() < deadline:
            if subprocess.run(argv, capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} never passed its healthcheck {argv}")

    def haproxy_config(self) -> str:
        """deploy/haproxy.cfg with the Docker DNS template replaced by the local replicas."""
        return haproxy_config(self.lb_port, self.s3_ports)

    def start_lb(self) -> None:
        self.procs["lb"] = start_haproxy(self.root, self.lb_port, self.s3_ports)

    def start_postgres(self) -> None:
        """The `postgres` service: a local server, and its database's DSN in every METADATA_DSN_FILE secret."""
        if self.postgres is None:
            bindir = pg_bindir()
            if bindir is None:
                raise RuntimeError(SKIP_REASON)
            self.postgres = PostgresServer(bindir).start()
        dsn = self.postgres.database()
        for name in self.daemons:
            secret = (self.services[name].get("environment") or {}).get("METADATA_DSN_FILE")
            if secret:
                self._secrets[secret].write_text(dsn)

    def up(self) -> "LocalCompose":
        if "postgres" in self.services:
            self.start_postgres()
        for name in sorted(self.daemons, key=lambda n: self.roles[n] != "mdserver"):
            self.start_service(name)
        for i in range(self.scale):
            self.start_service("s3", i)
        self.start_lb()
        return self

    def kill(self, tag: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(tag)
        proc.send_signal(sig)
        proc.wait(15)

    def pid(self, tag: str) -> int:
        return self.procs[tag].pid

    def down(self) -> None:
        stop_all(self.procs)
        if self.postgres is not None and self._own_postgres:
            self.postgres.cleanup()

    @property
    def lb_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    def s3_endpoint(self, i: int) -> str:
        return f"http://127.0.0.1:{self.s3_ports[i]}"
