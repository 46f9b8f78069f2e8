"""Garbage collection, both halves of dmd-reference §9.

- `collect_due`: the deferred deletions recorded in `__gc` that their front-end did not finish
  (it crashed, or the data daemon was down); run every minute by every front-end.
- `sweep`: data files that no metadata references (a crash between the data write and the
  metadata commit), older than a grace period so that in-flight PUTs are never touched.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field

from shared import constants as C
from shared.data_client import DataClient
from shared.metadata_client import MetadataClient

log = logging.getLogger("coffer.gc")
GC_DB = "__gc"
METASTORE_DB = "__metastore"
Progress = Callable[[str, int], None]       # (phase, items done in it so far): `coffer gc --sweep`, `fsck`


def quiet(phase: str, done: int) -> None:
    """The progress callback of runs nobody watches."""


@dataclass
class GcReport:
    entries: int = 0
    deleted: int = 0
    failed: int = 0
    referenced: int = 0
    scanned: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    dry_run: bool = False
    orphan_keys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


async def collect_due(metadata: MetadataClient, data: DataClient, grace: float = C.GC_GRACE_S) -> GcReport:
    """Finish the `__gc` entries older than the grace period: delete their data, then forget them."""
    report = GcReport()
    cutoff = f"{int((time.time() - grace) * 1000):013d}"
    done: list[str] = []
    async for key, entry in metadata.create_read_stream(GC_DB, lt=cutoff):
        report.entries += 1
        try:
            await data.delete(entry["location"]["key"])
            report.deleted += 1
            done.append(key)
        except Exception as exc:  # noqa: BLE001 - the entry stays for the next round
            report.failed += 1
            log.warning("GC could not delete data", extra={"dataKey": entry["location"]["key"], "error": str(exc)})
        if len(done) >= 1000:
            await metadata.gc_done(done)
            done = []
    if done:
        await metadata.gc_done(done)
    return report


async def periodic(metadata: MetadataClient, data: DataClient, interval: float = C.GC_INTERVAL_S,
                   on_round: Callable[[GcReport], None] | None = None) -> None:
    """The GC task of every front-end: several may race on one entry; deletes are idempotent."""
    while True:
        await asyncio.sleep(interval)
        try:
            report = await collect_due(metadata, data)
            if on_round is not None:
                on_round(report)
            if report.entries:
                log.info("GC finished deferred deletions", extra=report.as_dict())
        except Exception as exc:  # noqa: BLE001 - try again next round
            log.warning("GC round failed", extra={"error": str(exc)})


async def referenced_pieces(metadata: MetadataClient) -> AsyncIterator[tuple[str, str, dict]]:
    """(bucket, LevelDB key, piece) for every data piece of objects (masters and versions) and parts."""
    buckets = [name async for name, _ in metadata.create_read_stream(METASTORE_DB, values=False)]
    for bucket in buckets:
        for db in (bucket, f"mpuShadowBucket{bucket}"):
            async for key, value in metadata.create_read_stream(db):
                for piece in (value.get("location") or []) if isinstance(value, dict) else []:
                    yield bucket, key, piece


async def referenced_keys(metadata: MetadataClient, progress: Progress = quiet) -> set[str]:
    """Every data key that metadata points at: objects, parts, and pending `__gc` entries."""
    keys: set[str] = set()
    async for _, _, piece in referenced_pieces(metadata):
        keys.add(piece["key"])
        progress("references", len(keys))
    async for _, entry in metadata.create_read_stream(GC_DB):
        keys.add(entry["location"]["key"])
    return keys


async def data_files(data: DataClient) -> AsyncIterator[dict]:
    async for item in data.list_files():
        yield item


async def sweep(metadata: MetadataClient, data: DataClient, grace: float = C.ORPHAN_GRACE_S,
                dry_run: bool = False, progress: Progress = quiet) -> GcReport:
    """Delete data files no metadata references and older than `grace` seconds."""
    started = time.time()
    report = GcReport(dry_run=dry_run)
    referenced = await referenced_keys(metadata, progress)
    report.referenced = len(referenced)
    async for item in data_files(data):
        report.scanned += 1
        progress("data files", report.scanned)
        if item["key"] in referenced or item["mtime"] >= started - grace:
            continue
        report.orphans += 1
        report.orphan_bytes += item["size"]
        report.orphan_keys.append(item["key"])
        if not dry_run:
            await data.delete(item["key"])
            report.deleted += 1
    return report
