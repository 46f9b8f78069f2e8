"""`coffer gc`, `coffer fsck` and `coffer locations`: one-shot maintenance runs against a live cluster."""
from __future__ import annotations

import asyncio
import sys

import orjson

from s3front.frontend import data_router
from services.progress import Progress
from shared import constants as C
from shared.config import Config
from shared.locations import Location, locations_or_exit
from shared.maintenance.fsck import fsck
from shared.maintenance.gc import collect_due, sweep
from shared.metadata_hosts import metadata_client


async def _with_clients(config: Config, job, only: list[str] | None = None):
    metadata = metadata_client(config)
    locations = locations_or_exit()
    unknown = sorted(set(only or ()) - set(locations))
    if unknown:
        raise SystemExit(f"coffer: not a configured location: {', '.join(unknown)} "
                         f"(configured: {', '.join(locations)})")
    data = data_router(config, locations)
    await metadata.start()
    try:
        if not await metadata.wait_ready(10):
            raise SystemExit("coffer: the metadata daemon is not reachable")
        return await job(metadata, data)
    finally:
        await metadata.close()
        await data.close()


def run_gc(config: Config, do_sweep: bool, dry_run: bool, grace: float | None,
           only: list[str] | None = None) -> int:
    """Finish due deferred deletions; with --sweep, also delete unreferenced data files (of the
    locations named by --location, else of all)."""
    kwargs = {} if grace is None else {"grace": grace}
    progress = Progress("gc --sweep")

    async def job(metadata, data):
        if do_sweep:
            return await sweep(metadata, data, dry_run=dry_run, progress=progress, only=only, **kwargs)
        return await collect_due(metadata, data, **kwargs)
    try:
        report = asyncio.run(_with_clients(config, job, only))
    finally:
        progress.close()
    sys.stdout.write(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def run_fsck(config: Config, only: list[str] | None = None) -> int:
    """Report missing or truncated data, and orphans (of the --location ones, else of all); exit 1
    when data is missing or a location could not be checked."""
    progress = Progress("fsck")
    try:
        report = asyncio.run(_with_clients(config, lambda metadata, data: fsck(metadata, data, progress, only),
                                           only))
    finally:
        progress.close()
    sys.stdout.write(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if report.ok else 1


def run_locations(config: Config) -> int:
    """Print every configured location with its state (ok/degraded); exit 1 when one is degraded."""
    locations = locations_or_exit()

    async def ask() -> dict:
        data = data_router(config, locations)
        try:
            return await data.health(C.LOCATION_HEALTH_TIMEOUT_S)
        finally:
            await data.close()
    health = asyncio.run(ask())
    rows = [{**describe(loc), "state": "ok" if health[name].ok else "degraded", "detail": health[name].detail}
            for name, loc in locations.items()]
    sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if all(h.ok for h in health.values()) else 1


def describe(loc: Location) -> dict:
    """What an operator needs to tell locations apart: never a credential."""
    d = loc.details
    if loc.type == "aws_s3":
        where = {"endpoint": d.endpoint, "bucket": d.bucket, "bucketMatch": d.bucket_match, "prefix": d.prefix}
    else:
        where = {"host": d.host or "(this cluster's data daemon)", "port": d.port}
    return {"name": loc.name, "type": loc.type, "objectId": loc.object_id, "legacyAwsBehavior": loc.legacy_aws_behavior,
            "storageClasses": list(loc.storage_classes), **where}
