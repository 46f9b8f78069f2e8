"""`coffer dataserver`: the data daemon."""
from __future__ import annotations

import logging

from dmd.data.app import DataApp
from dmd.data.store import FileStore
from services.runner import check_daemon_bind, uvicorn_config
from shared.config import Config

log = logging.getLogger("coffer.data")


def uvicorn_configs(config: Config) -> list:
    check_daemon_bind(config, config.data_bind)
    store = FileStore(config.data_path, sync=not config.unsafe_no_fsync)
    removed = store.clean_temporaries()
    log.info("data daemon starting", extra={"bind": config.data_bind, "port": config.data_port,
                                            "path": config.data_path, "staleTemporariesRemoved": removed})
    return [uvicorn_config(DataApp(store, config.cluster_secret), config.data_bind, config.data_port, config,
                           daemon=True)]
