"""`coffer s3server`: one stateless S3 front-end."""
from __future__ import annotations

import logging

from s3front.app import build_app
from services.runner import uvicorn_config
from shared.config import Config
from shared.locations import locations_or_exit

log = logging.getLogger("coffer.s3")


def uvicorn_configs(config: Config) -> list:
    locations = sorted(locations_or_exit())
    if config.default_credentials:
        log.warning("using the default credentials (accessKey1/verySecretKey1, accessKey2/verySecretKey2): "
                    "set COFFER_ACCESS_KEY_ID/COFFER_SECRET_ACCESS_KEY or S3AUTH_CONFIG before exposing Coffer")
    log.info("S3 front-end starting", extra={"listen": config.listen_addr, "port": config.port,
                                             "metadata": f"{config.metadata_host}:{config.metadata_port}",
                                             "data": f"{config.data_host}:{config.data_port}",
                                             "locations": locations})
    return [uvicorn_config(build_app(config), config.listen_addr, config.port, config)]
