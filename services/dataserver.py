"""`coffer dataserver`: the data daemon."""
from __future__ import annotations

import logging

from dmd.data.app import DataApp, WithMemory
from dmd.data.memory import MemoryStore
from dmd.data.store import FileStore
from services.runner import check_daemon_bind, uvicorn_config
from shared.config import Config
from shared.tls import check_server_files

log = logging.getLogger("coffer.data")


def uvicorn_configs(config: Config) -> list:
    check_daemon_bind(config, config.data_bind)
    if config.data_tls:
        check_server_files(config, "DATA_TLS")
    if config.backend == "mem":
        store: FileStore | MemoryStore = MemoryStore()     # object bytes in this process's RAM only
    else:
        store = FileStore(config.data_path, sync=not config.unsafe_no_fsync)
    removed = store.clean_temporaries()
    log.info("data daemon starting", extra={"bind": config.data_bind, "port": config.data_port,
                                            "backend": config.backend, "tls": config.data_tls,
                                            "path": config.data_path if config.backend == "file" else None,
                                            "staleTemporariesRemoved": removed})
    app = DataApp(store, config.cluster_secret, config.metrics_public)
    # `mem` locations live in this daemon's memory (with S3BACKEND=mem, that is its one store).
    memory = app if config.backend == "mem" else DataApp(MemoryStore(), config.cluster_secret, config.metrics_public)
    return [uvicorn_config(WithMemory(app, memory), config.data_bind, config.data_port, config, daemon=True,
                           tls=config.data_tls)]
