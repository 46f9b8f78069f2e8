"""The `coffer` command: one sub-command per process role."""
from __future__ import annotations

import argparse
import sys

from shared import constants as C
from shared.config import Config, load_config
from shared.security import private_umask

ROLES = {
    "serve": "all-in-one: the metadata daemon, the data daemon and one S3 front-end (the embedded default)",
    "s3server": "one stateless S3 front-end",
    "mdserver": "the metadata daemon (LevelDB, or PostgreSQL with METADATA_ENGINE=postgres)",
    "dataserver": "the data daemon (object bytes on disk)",
    "dmd": "both daemons in one process",
    "gc": "finish due deferred data deletions; --sweep also deletes data no metadata references",
    "fsck": "check that every piece of data metadata points at exists with the right size",
    "locations": "list the configured data locations (locationConfig.json) with their state, ok or degraded",
    "lifecycle": "lifecycle run [--bucket B]: one lifecycle expiry pass now; prints what it did",
    "migrate": "copy a stopped metadata store to another engine, then verify it (counts and checksums)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coffer", description="Coffer, an S3-compatible object store.",
                                     epilog="coffer admin ...: manage users, groups, policies, service accounts "
                                            "and anonymous access of a running cluster (coffer admin --help)")
    sub = parser.add_subparsers(dest="role", required=True, metavar="COMMAND")
    for role, help_text in ROLES.items():
        p = sub.add_parser(role, help=help_text, description=help_text)
        p.add_argument("--port", type=int, help="S3 port (COFFER_PORT, default 8000)")
        p.add_argument("--listen", dest="listen_addr", help="S3 bind address (LISTEN_ADDR)")
        p.add_argument("--backend", choices=C.BACKENDS,
                       help="S3BACKEND: file (default: LevelDB and data files) or mem (in RAM, nothing on disk)")
        p.add_argument("--data-path", help="object bytes directory (S3DATAPATH, default ./localData)")
        p.add_argument("--metadata-path", help="metadata directory (S3METADATAPATH, default ./localMetadata)")
        p.add_argument("--metadata-port", type=int, help="metadata daemon port (METADATA_PORT, default 9990)")
        p.add_argument("--data-port", type=int, help="data daemon port (DATA_PORT, default 9991)")
        p.add_argument("--log-level", help="LOG_LEVEL (default INFO)")
        if role == "gc":
            p.add_argument("--sweep", action="store_true", help="delete unreferenced data files too")
            p.add_argument("--dry-run", action="store_true", help="with --sweep: report, delete nothing")
            p.add_argument("--grace", type=float, help="seconds a file or entry must be old (24 h / 5 min)")
        if role in ("gc", "fsck"):
            p.add_argument("--location", dest="only", action="append", metavar="NAME",
                           help="only this data location (repeat for several; default: all)")
        if role == "lifecycle":
            p.add_argument("action", choices=("run",), help="run: one pass over every bucket with a lifecycle "
                                                             "configuration (or --bucket), now")
            p.add_argument("--bucket", help="only this bucket")
            p.add_argument("--page-size", type=int, help=f"versions listed per call (default {C.LIFECYCLE_PAGE})")
            p.add_argument("--pause", type=float, help="seconds to wait between pages (spares a busy cluster)")
            p.add_argument("--wait", type=float, help="seconds to wait for a running pass (default twice the lease)")
        if role == "migrate":
            p.add_argument("--from", dest="source", required=True, metavar="leveldb:PATH",
                           help="the store to copy: leveldb:<metadata directory>")
            p.add_argument("--to", dest="destination", required=True, metavar="postgres:DSN",
                           help="an empty store: postgres:postgresql://user@host/db")
        if role == "serve":
            p.add_argument("--workers", type=int, help="front-end processes sharing the S3 port (COFFER_WORKERS, "
                                                       "default 1; one per core is the most that helps)")
            p.add_argument("--tls-self-signed", action="store_true",
                           help="serve HTTPS with a throwaway certificate kept in the metadata directory "
                                "(HTTPS on --port, or beside HTTP with COFFER_TLS_PORT)")
    return parser


def _configs(role: str, config: Config) -> list:
    # Import only what the role runs: the daemons need no FastAPI nor s3front, and a restarted
    # dmd child of `coffer serve` is back sooner without them (0.5 s instead of 1.1 s of imports).
    configs = []
    if role in ("mdserver", "dmd"):
        from services import mdserver
        configs += mdserver.uvicorn_configs(config)
    if role in ("dataserver", "dmd"):
        from services import dataserver
        configs += dataserver.uvicorn_configs(config)
    if role == "s3server":
        from services import s3server
        configs += s3server.uvicorn_configs(config)
    return configs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["admin"]:       # a client of a running cluster, with its own options (services/admin.py)
        from services.admin import main as admin_main
        return admin_main(argv[1:])
    args = _parser().parse_args(argv)
    flags = {k: vars(args).pop(k) for k in ("sweep", "dry_run", "grace", "source", "destination",
                                            "tls_self_signed", "only", "action", "bucket", "page_size", "pause",
                                            "wait") if k in vars(args)}
    overrides = {k: v for k, v in vars(args).items() if k != "role"}
    config = load_config(**overrides)
    from shared import metrics
    metrics.configure(config.metrics)       # before anything binds a metric
    private_umask()                 # the store's files (data, LevelDB, the secret) are this user's alone
    if args.role == "migrate":      # no daemon is involved: it opens the stores themselves
        from services.migrate import run_migrate
        return run_migrate(flags["source"], flags["destination"])
    if args.role != "serve":        # `serve` makes one and hands it to its children
        from services.runner import require_cluster_secret
        require_cluster_secret(config, args.role)
    if args.role == "gc":
        from services.maintenance import run_gc
        return run_gc(config, flags["sweep"], flags["dry_run"], flags["grace"], flags["only"])
    if args.role == "lifecycle":
        from services.lifecycle import run_lifecycle
        return run_lifecycle(config, flags["bucket"], flags["page_size"], flags["pause"], flags["wait"])
    if args.role == "fsck":
        from services.maintenance import run_fsck
        return run_fsck(config, flags["only"])
    if args.role == "locations":
        from services.maintenance import run_locations
        return run_locations(config)
    if args.role == "serve":
        from services.serve import run_serve
        return run_serve(config, self_signed=flags["tls_self_signed"])
    from services.runner import run, start_logging
    start_logging(args.role, config)
    run(_configs(args.role, config), reuse_port=config.reuse_port and args.role == "s3server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
