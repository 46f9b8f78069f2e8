"""The `coffer` command: one sub-command per process role."""
from __future__ import annotations

import argparse
import sys

from shared.config import Config, load_config

ROLES = {
    "serve": "all-in-one: the metadata daemon, the data daemon and one S3 front-end (the embedded default)",
    "s3server": "one stateless S3 front-end",
    "mdserver": "the metadata daemon (LevelDB)",
    "dataserver": "the data daemon (object bytes on disk)",
    "dmd": "both daemons in one process",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coffer", description="Coffer, an S3-compatible object store.")
    sub = parser.add_subparsers(dest="role", required=True, metavar="COMMAND")
    for role, help_text in ROLES.items():
        p = sub.add_parser(role, help=help_text, description=help_text)
        p.add_argument("--port", type=int, help="S3 port (COFFER_PORT, default 8000)")
        p.add_argument("--listen", dest="listen_addr", help="S3 bind address (LISTEN_ADDR)")
        p.add_argument("--data-path", help="object bytes directory (S3DATAPATH, default ./localData)")
        p.add_argument("--metadata-path", help="metadata directory (S3METADATAPATH, default ./localMetadata)")
        p.add_argument("--metadata-port", type=int, help="metadata daemon port (METADATA_PORT, default 9990)")
        p.add_argument("--data-port", type=int, help="data daemon port (DATA_PORT, default 9991)")
        p.add_argument("--log-level", help="LOG_LEVEL (default INFO)")
    return parser


def _configs(role: str, config: Config) -> list:
    from services import dataserver, mdserver, s3server
    if role == "mdserver":
        return mdserver.uvicorn_configs(config)
    if role == "dataserver":
        return dataserver.uvicorn_configs(config)
    if role == "dmd":
        return mdserver.uvicorn_configs(config) + dataserver.uvicorn_configs(config)
    return s3server.uvicorn_configs(config)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "role"}
    config = load_config(**overrides)
    if args.role == "serve":
        from services.serve import run_serve
        return run_serve(config)
    from services.runner import run, start_logging
    start_logging(args.role, config)
    run(_configs(args.role, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
