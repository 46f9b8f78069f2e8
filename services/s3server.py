"""`coffer s3server`: one stateless S3 front-end."""
from __future__ import annotations

import logging

from s3front.app import build_app
from services.runner import uvicorn_config
from shared.config import Config
from shared.locations import locations_or_exit
from shared.tls import check_server_files

log = logging.getLogger("coffer.s3")


def uvicorn_configs(config: Config) -> list:
    locations = sorted(locations_or_exit())
    if config.default_credentials:
        log.warning("using the default credentials (accessKey1/verySecretKey1, accessKey2/verySecretKey2): "
                    "set COFFER_ACCESS_KEY_ID/COFFER_SECRET_ACCESS_KEY or S3AUTH_CONFIG before exposing Coffer")
    log.info("S3 front-end starting", extra={"listen": config.listen_addr, "port": config.port,
                                             "tls": config.tls, "tlsPort": config.tls_port or None,
                                             "metadata": ",".join(f"{h}:{p}" for h, p in config.metadata_daemons),
                                             "data": f"{config.data_host}:{config.data_port}",
                                             "locations": locations})
    app = build_app(config)
    if not config.tls:
        return [uvicorn_config(app, config.listen_addr, config.port, config)]
    check_server_files(config, "HTTPS")
    if not config.tls_port:
        return [uvicorn_config(app, config.listen_addr, config.port, config, tls=True)]
    # HTTP and HTTPS side by side: one app, started and stopped by the HTTP port's lifespan.
    return [uvicorn_config(app, config.listen_addr, config.port, config),
            uvicorn_config(app, config.listen_addr, config.tls_port, config, tls=True, lifespan=False)]
