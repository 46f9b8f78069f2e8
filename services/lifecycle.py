"""`coffer lifecycle run [--bucket B]`: one lifecycle pass now, against a live cluster, and what it did.

It takes the cluster's lifecycle lease as a front-end's worker does (waiting for a running pass to
end), so it never scans beside one, resumes a pass that was cut short, and prints the report.
"""
from __future__ import annotations

import asyncio
import sys

import orjson

from s3front.frontend import Frontend
from s3front.lifecycle.worker import Busy, Worker
from shared import constants as C
from shared.config import Config


async def _run(config: Config, bucket: str | None, page: int, pause: float, wait: float) -> dict:
    frontend = Frontend(config)           # its clients and its `collect`; no request is served
    await frontend.metadata.start()
    try:
        if not await frontend.metadata.wait_ready(10):
            raise SystemExit("coffer: the metadata daemon is not reachable")
        worker = Worker(frontend.metadata, frontend.collect, config, page=page, pause=pause)
        return (await worker.run_once(bucket, wait)).as_dict()
    finally:
        await frontend.metadata.close()
        await frontend.data.close()


def run_lifecycle(config: Config, bucket: str | None, page: int | None, pause: float | None,
                  wait: float | None) -> int:
    """Print the pass's report as JSON; exit 1 if another pass held the lease throughout `wait`."""
    try:
        report = asyncio.run(_run(config, bucket, page or C.LIFECYCLE_PAGE, pause or 0.0,
                                  config.lifecycle_lease * 2 if wait is None else wait))
    except Busy as exc:
        sys.stderr.write(f"coffer: a lifecycle pass is running elsewhere ({exc}); try again later\n")
        return 1
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
