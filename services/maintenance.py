"""`coffer gc` and `coffer fsck`: one-shot maintenance runs against a live dmd."""
from __future__ import annotations

import asyncio
import sys

import orjson

from s3front.frontend import data_router
from services.progress import Progress
from shared.config import Config
from shared.maintenance.fsck import fsck
from shared.maintenance.gc import collect_due, sweep
from shared.metadata_hosts import metadata_client


async def _with_clients(config: Config, job):
    metadata = metadata_client(config)
    data = data_router(config)
    await metadata.start()
    try:
        if not await metadata.wait_ready(10):
            raise SystemExit("coffer: the metadata daemon is not reachable")
        return await job(metadata, data)
    finally:
        await metadata.close()
        await data.close()


def run_gc(config: Config, do_sweep: bool, dry_run: bool, grace: float | None) -> int:
    """Finish due deferred deletions; with --sweep, also delete unreferenced data files."""
    kwargs = {} if grace is None else {"grace": grace}
    progress = Progress("gc --sweep")

    async def job(metadata, data):
        if do_sweep:
            return await sweep(metadata, data, dry_run=dry_run, progress=progress, **kwargs)
        return await collect_due(metadata, data, **kwargs)
    try:
        report = asyncio.run(_with_clients(config, job))
    finally:
        progress.close()
    sys.stdout.write(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def run_fsck(config: Config) -> int:
    """Report missing or truncated data, and orphans; exit 1 when data is missing."""
    progress = Progress("fsck")
    try:
        report = asyncio.run(_with_clients(config, lambda metadata, data: fsck(metadata, data, progress)))
    finally:
        progress.close()
    sys.stdout.write(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if report.ok else 1
