"""Configuration: environment variables first, then the JSON file named by COFFER_CONFIG, then defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from shared import constants as C
from shared.notify.targets import TargetError, merge, targets_from_env, targets_from_file


@dataclass(frozen=True)
class Account:
    access_key: str
    secret_key: str
    name: str
    email: str
    canonical_id: str
    account_id: str

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"


DEFAULT_ACCOUNTS = (
    Account("accessKey1", "verySecretKey1", "Bart", "sampleaccount1@sampling.com",
            "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "123456789012"),
    Account("accessKey2", "verySecretKey2", "Lisa", "sampleaccount2@sampling.com",
            "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf", "123456789013"),
)


@dataclass
class Config:
    listen_addr: str = "0.0.0.0"
    port: int = C.S3_PORT
    backend: str = "file"           # S3BACKEND: `file` (LevelDB and data files) or `mem` (RAM only, nothing on disk)
    data_path: str = "./localData"
    metadata_path: str = "./localMetadata"
    metadata_engine: str = "leveldb"  # METADATA_ENGINE (file backend): `leveldb` under metadata_path, or `postgres`
    metadata_dsn: str = ""          # METADATA_DSN: postgresql://user@host:port/db, for METADATA_ENGINE=postgres
    metadata_pool_size: int = C.PG_POOL_SIZE   # METADATA_POOL_SIZE: PostgreSQL connections per pool (two pools)
    data_host: str = "127.0.0.1"
    data_port: int = C.DATA_PORT
    metadata_host: str = "127.0.0.1"
    metadata_port: int = C.METADATA_PORT
    # METADATA_HOSTS=h1:p1,h2:p2: a front-end's metadata daemons (of one PostgreSQL database), each
    # (host, port); port 0 is METADATA_PORT's. Empty: the one at METADATA_HOST:METADATA_PORT.
    metadata_hosts: tuple[tuple[str, int], ...] = ()
    metadata_bind: str = C.DEFAULT_BIND
    data_bind: str = C.DEFAULT_BIND
    cluster_secret: str = ""
    replication_group_id: str = C.REPLICATION_GROUP_ID
    endpoints: list[str] = field(default_factory=lambda: ["localhost", "127.0.0.1", "s3.amazonaws.com"])
    rest_endpoints: dict[str, str] = field(default_factory=dict)    # restEndpoints: host name -> default location
    region: str = "us-east-1"
    log_level: str = "INFO"
    unsafe_no_fsync: bool = False
    torrents: bool = False          # GetObjectTorrent serves .torrent files (off: 404, like RGW unconfigured)
    http_header_timeout: float = C.HTTP_HEADER_TIMEOUT_S   # every port: see services/http_limits.py
    http_body_timeout: float = C.HTTP_BODY_TIMEOUT_S
    http_idle_timeout: float = C.HTTP_IDLE_TIMEOUT_S
    accounts: tuple[Account, ...] = DEFAULT_ACCOUNTS
    default_credentials: bool = True
    tls_cert: str = ""              # PEM certificate (chain) this process serves TLS with, when it does
    tls_key: str = ""
    tls_ca: str = ""                # PEM CA bundle clients check the daemons' certificates with (else the system's)
    tls_port: int = 0               # the front-end's HTTPS port beside its HTTP one (0: HTTPS on `port` alone)
    metadata_tls: bool = False      # the metadata daemon's port speaks TLS
    data_tls: bool = False          # the data daemon's port speaks TLS
    metrics: bool = True            # /_/metrics and the counters behind it (COFFER_METRICS=0: off)
    metrics_public: bool = False    # /_/metrics without the cluster secret
    console: bool = True            # the web console at /_/console/ (COFFER_CONSOLE=0: off)
    gc_interval: float = C.GC_INTERVAL_S    # seconds between a front-end's GC rounds
    lifecycle_worker: bool = True   # COFFER_LIFECYCLE_WORKER=0: this front-end never runs the expiry worker
    lifecycle_day: int = C.LIFECYCLE_DAY_S  # COFFER_LIFECYCLE_DAY_SECONDS: a lifecycle "day" (shorter for tests)
    lifecycle_interval: float = 0.0 # COFFER_LIFECYCLE_INTERVAL: seconds between passes (0: from the day)
    lifecycle_lease: float = C.LIFECYCLE_LEASE_TTL_S   # COFFER_LIFECYCLE_LEASE_SECONDS: the worker's lease
    notify_targets: dict[str, Any] = field(default_factory=dict)   # notification targets by ARN (shared/notify)
    workers: int = 1                # `coffer serve --workers N`: N front-ends on the one S3 port
    reuse_port: bool = False        # COFFER_REUSE_PORT: bind the S3 port with SO_REUSEPORT (workers share it)
    inline_max: int = C.INLINE_MAX_BYTES    # bodies up to this size live in their metadata record (0: none)
    access_log_flush: float = C.ACCESS_LOG_FLUSH_S  # the longest a server access log record waits for delivery

    @property
    def metadata_daemons(self) -> tuple[tuple[str, int], ...]:
        """The metadata daemons a front-end or tool talks to, as (host, port)."""
        if not self.metadata_hosts:
            return ((self.metadata_host, self.metadata_port),)
        return tuple((host, port or self.metadata_port) for host, port in self.metadata_hosts)

    @property
    def tls(self) -> bool:
        """Whether the front-end serves HTTPS."""
        return bool(self.tls_cert)

    def account_by_access_key(self, access_key: str) -> Account | None:
        return self._by_key.get(access_key)

    def account_by_canonical_id(self, canonical_id: str) -> Account | None:
        return next((a for a in self.accounts if a.canonical_id == canonical_id), None)

    def __post_init__(self) -> None:
        self._by_key = {a.access_key: a for a in self.accounts}


# (environment variable, config-file key, attribute, type)
_SETTINGS: list[tuple[str, str, str, type | str]] = [
    ("LISTEN_ADDR", "listenOn", "listen_addr", str),
    ("COFFER_PORT", "port", "port", int),
    ("S3BACKEND", "backend", "backend", str),
    ("S3DATAPATH", "dataPath", "data_path", str),
    ("S3METADATAPATH", "metadataPath", "metadata_path", str),
    ("METADATA_ENGINE", "metadataEngine", "metadata_engine", str),
    ("METADATA_DSN", "metadataDsn", "metadata_dsn", str),
    ("METADATA_POOL_SIZE", "metadataPoolSize", "metadata_pool_size", int),
    ("DATA_HOST", "dataHost", "data_host", str),
    ("DATA_PORT", "dataPort", "data_port", int),
    ("METADATA_HOST", "metadataHost", "metadata_host", str),
    ("METADATA_PORT", "metadataPort", "metadata_port", int),
    ("METADATA_HOSTS", "metadataHosts", "metadata_hosts", "hosts"),
    ("METADATA_BIND", "metadataBind", "metadata_bind", str),
    ("DATA_BIND", "dataBind", "data_bind", str),
    ("COFFER_CLUSTER_SECRET", "clusterSecret", "cluster_secret", str),
    ("COFFER_REPLICATION_GROUP_ID", "replicationGroupId", "replication_group_id", str),
    ("COFFER_REGION", "region", "region", str),
    ("LOG_LEVEL", "logLevel", "log_level", str),
    ("COFFER_UNSAFE_NO_FSYNC", "unsafeNoFsync", "unsafe_no_fsync", bool),
    ("COFFER_TORRENTS", "torrents", "torrents", bool),
    ("COFFER_HTTP_HEADER_TIMEOUT", "httpHeaderTimeout", "http_header_timeout", float),
    ("COFFER_HTTP_BODY_TIMEOUT", "httpBodyTimeout", "http_body_timeout", float),
    ("COFFER_HTTP_IDLE_TIMEOUT", "httpIdleTimeout", "http_idle_timeout", float),
    ("COFFER_TLS_CERT", "", "tls_cert", str),      # the file's are in certFilePaths: see _tls_paths
    ("COFFER_TLS_KEY", "", "tls_key", str),
    ("COFFER_TLS_CA", "", "tls_ca", str),
    ("COFFER_TLS_PORT", "tlsPort", "tls_port", int),
    ("METADATA_TLS", "metadataTls", "metadata_tls", bool),
    ("DATA_TLS", "dataTls", "data_tls", bool),
    ("COFFER_METRICS", "metrics", "metrics", bool),
    ("COFFER_METRICS_PUBLIC", "metricsPublic", "metrics_public", bool),
    ("COFFER_CONSOLE", "console", "console", bool),
    ("COFFER_GC_INTERVAL", "gcInterval", "gc_interval", float),
    ("COFFER_LIFECYCLE_WORKER", "lifecycleWorker", "lifecycle_worker", bool),
    ("COFFER_LIFECYCLE_DAY_SECONDS", "lifecycleDaySeconds", "lifecycle_day", int),
    ("COFFER_LIFECYCLE_INTERVAL", "lifecycleInterval", "lifecycle_interval", float),
    ("COFFER_LIFECYCLE_LEASE_SECONDS", "lifecycleLeaseSeconds", "lifecycle_lease", float),
    ("COFFER_ACCESS_LOG_FLUSH_SECONDS", "accessLogFlushSeconds", "access_log_flush", float),
    ("COFFER_INLINE_MAX", "inlineMax", "inline_max", int),
    ("COFFER_WORKERS", "workers", "workers", int),
    ("COFFER_REUSE_PORT", "reusePort", "reuse_port", bool),
]


def _coerce(value: Any, kind: type | str) -> Any:
    if kind == "hosts":
        return host_list(value)
    if kind is bool and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return kind(value)


def load_config(**overrides: Any) -> Config:
    """Build the configuration; explicit overrides (command-line flags) win over everything."""
    env = os.environ
    file_conf: dict[str, Any] = {}
    if env.get("COFFER_CONFIG"):
        file_conf = orjson.loads(Path(env["COFFER_CONFIG"]).read_bytes())
    values: dict[str, Any] = _tls_paths(file_conf, Path(env.get("COFFER_CONFIG", ".")).parent)
    for env_name, file_key, attr, kind in _SETTINGS:
        if env_name in env:
            values[attr] = _coerce(env[env_name], kind)
        elif file_key and file_key in file_conf:
            values[attr] = _coerce(file_conf[file_key], kind)
    if "cluster_secret" not in values and env.get("COFFER_CLUSTER_SECRET_FILE"):
        # Compose and swarm secrets arrive as files, never in the image or the environment.
        values["cluster_secret"] = Path(env["COFFER_CLUSTER_SECRET_FILE"]).read_text().strip()
    if "metadata_dsn" not in values and env.get("METADATA_DSN_FILE"):
        # The DSN holds the database password: a compose or swarm secret too.
        values["metadata_dsn"] = Path(env["METADATA_DSN_FILE"]).read_text().strip()
    values["rest_endpoints"] = _rest_endpoints(file_conf)
    values["endpoints"] = _endpoints(env, values["rest_endpoints"])
    values["notify_targets"] = _notify_targets(env, file_conf)
    accounts = _accounts(env, file_conf)
    if accounts is not None:
        values["accounts"], values["default_credentials"] = accounts, False
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("backend", "file") not in C.BACKENDS:
        raise SystemExit(f"coffer: S3BACKEND must be one of {', '.join(C.BACKENDS)}, not {values['backend']!r}")
    _check_engine(values)
    if not 1 <= values.get("workers", 1) <= C.SERVE_MAX_WORKERS:
        raise SystemExit(f"coffer: --workers (COFFER_WORKERS) must be from 1 to {C.SERVE_MAX_WORKERS}, "
                         f"not {values['workers']}")
    if bool(values.get("tls_cert")) != bool(values.get("tls_key")):
        raise SystemExit("coffer: TLS needs both a certificate and its key (COFFER_TLS_CERT and COFFER_TLS_KEY, "
                         "or certFilePaths.cert and certFilePaths.key)")
    return Config(**values)


def host_list(value: str | list[str]) -> tuple[tuple[str, int], ...]:
    """`h1:p1,h2:p2` (or a list of `host[:port]`) as ((host, port), ...); a missing port is 0."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else None
    if items is None:
        raise SystemExit("coffer: METADATA_HOSTS must be host:port[,host:port...] (metadataHosts: a list of them)")
    hosts = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        host, colon, port = item.rpartition(":") if not item.endswith("]") else (item, "", "")
        if not colon:
            host, port = item, "0"
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise SystemExit(f"coffer: METADATA_HOSTS: {item!r} is not host:port (a port from 1 to 65535)")
        hosts.append((host, int(port)))
    return tuple(dict.fromkeys(hosts))
def _notify_targets(env: os._Environ, file_conf: dict[str, Any]) -> dict[str, Any]:
    """Notification targets of the config file's `notify` and of COFFER_NOTIFY_* (which win)."""
    try:
        return merge(targets_from_file(file_conf.get("notify")), targets_from_env(env))
    except TargetError as exc:
        raise SystemExit(f"coffer: {exc}") from None


def _check_engine(values: dict[str, Any]) -> None:
    """METADATA_ENGINE and what it needs: a PostgreSQL URI, a usable pool size, the file backend."""
    engine = values.get("metadata_engine", "leveldb")
    if engine not in C.ENGINES:
        raise SystemExit(f"coffer: METADATA_ENGINE must be one of {', '.join(C.ENGINES)}, not {engine!r}")
    if engine != "postgres":
        return
    if values.get("backend", "file") != "file":
        raise SystemExit("coffer: METADATA_ENGINE=postgres keeps the metadata in PostgreSQL; "
                         "it cannot be combined with S3BACKEND=mem")
    dsn = values.get("metadata_dsn", "")
    if not dsn.startswith(("postgresql://", "postgres://")):
        raise SystemExit("coffer: METADATA_ENGINE=postgres needs METADATA_DSN=postgresql://USER[:PASSWORD]@HOST"
                         f"[:PORT]/DATABASE, got {'nothing' if not dsn else 'a value that is not such a URI'}")
    if values.get("metadata_pool_size", C.PG_POOL_SIZE) < 2:
        raise SystemExit("coffer: METADATA_POOL_SIZE must be at least 2")


def _tls_paths(file_conf: dict[str, Any], base: Path) -> dict[str, str]:
    """certFilePaths {key, cert, ca} of the config file, as the reference server has it; relative
    paths are the config file's neighbours. The environment's COFFER_TLS_* override them."""
    paths = file_conf.get("certFilePaths") or {}
    if not isinstance(paths, dict):
        raise SystemExit("coffer: certFilePaths in the config file must be an object {key, cert, ca}")
    return {f"tls_{name}": str(base / paths[name]) for name in ("cert", "key", "ca") if paths.get(name)}


def _rest_endpoints(file_conf: dict[str, Any]) -> dict[str, str]:
    """The config file's restEndpoints, {host name: location}: the location of a bucket created
    through that host without a LocationConstraint (checked against the locations at start)."""
    found = file_conf.get("restEndpoints", {})
    if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        raise SystemExit('coffer: restEndpoints in the config file must be an object {"host name": "location"}')
    return {host.lower(): location for host, location in found.items()}


def _endpoints(env: os._Environ, rest_endpoints: dict[str, str]) -> list[str]:
    """The host names addressed as endpoints (a bucket in front of one is virtual-hosted style)."""
    names = ["localhost", "127.0.0.1", "s3.amazonaws.com"]
    names += list(rest_endpoints)
    names += [h.strip() for h in env.get("ENDPOINT", "").split(",") if h.strip()]
    return list(dict.fromkeys(names))


def _accounts(env: os._Environ, file_conf: dict[str, Any]) -> tuple[Account, ...] | None:
    if env.get("COFFER_ACCESS_KEY_ID") and env.get("COFFER_SECRET_ACCESS_KEY"):
        base = DEFAULT_ACCOUNTS[0]
        return (Account(env["COFFER_ACCESS_KEY_ID"], env["COFFER_SECRET_ACCESS_KEY"], base.name,
                        base.email, base.canonical_id, base.account_id),)
    path = env.get("S3AUTH_CONFIG") or file_conf.get("authdata")
    if not path:
        return None
    return parse_authdata(orjson.loads(Path(path).read_bytes()))


def parse_authdata(doc: dict[str, Any]) -> tuple[Account, ...]:
    """Accounts from a reference-style authdata.json document."""
    accounts = []
    for acct in doc.get("accounts", []):
        account_id = acct.get("shortid") or acct.get("arn", "::::0:").split(":")[4]
        for key in acct.get("keys", []):
            accounts.append(Account(key["access"], key["secret"], acct["name"], acct.get("email", ""),
                                    acct["canonicalID"], account_id))
    return tuple(accounts)
