"""Garbage collection, both halves of design.md §9, over the two contracts.

- `collect_due`: the deferred deletions that their front-end did not finish (it crashed, or the
  data location was down), as the daemon's `due_garbage` stream gives them; run every minute by
  every front-end.
- `sweep`: data that no metadata references (a crash between the data write and the metadata
  commit), older than a grace period so that in-flight PUTs are never touched.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field

from shared import constants as C
from shared.contract.data import DataRouter, StoredFile
from shared.contract.metadata import MetadataAPI

log = logging.getLogger("coffer.gc")
GC_DONE_BATCH = 1000
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


async def collect_due(metadata: MetadataAPI, data: DataRouter, grace: float = C.GC_GRACE_S) -> GcReport:
    """Finish the deferred deletions older than the grace period: delete their data, then forget them."""
    report = GcReport()
    done: list[str] = []
    async for garbage in metadata.due_garbage(int((time.time() - grace) * 1000)):
        report.entries += 1
        try:
            for piece in garbage.pieces:
                await data.delete(piece)
            report.deleted += 1
            done.append(garbage.gc_key)
        except Exception as exc:  # noqa: BLE001 - the entry stays for the next round
            report.failed += 1
            log.warning("GC could not delete data", extra={"gcKey": garbage.gc_key, "error": str(exc)})
        if len(done) >= GC_DONE_BATCH:
            await metadata.gc_done(done)
            done = []
    if done:
        await metadata.gc_done(done)
    return report


async def periodic(metadata: MetadataAPI, data: DataRouter, interval: float = C.GC_INTERVAL_S,
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


async def referenced_keys(metadata: MetadataAPI, progress: Progress = quiet) -> set[tuple[str, str]]:
    """(location, key) of every piece metadata points at: objects, parts and pending deletions."""
    keys: set[tuple[str, str]] = set()
    async for ref in metadata.referenced_pieces():
        keys.add((ref.piece.location, ref.piece.key))
        progress("references", len(keys))
    return keys


async def data_files(data: DataRouter) -> AsyncIterator[tuple[str, StoredFile]]:
    """(location, file) of every file of every configured location."""
    for location, backend in data.backends.items():
        async for item in backend.list_files():
            yield location, item


async def sweep(metadata: MetadataAPI, data: DataRouter, grace: float = C.ORPHAN_GRACE_S,
                dry_run: bool = False, progress: Progress = quiet) -> GcReport:
    """Delete data files no metadata references and older than `grace` seconds."""
    started = time.time()
    report = GcReport(dry_run=dry_run)
    referenced = await referenced_keys(metadata, progress)
    report.referenced = len(referenced)
    async for location, item in data_files(data):
        report.scanned += 1
        progress("data files", report.scanned)
        if (location, item.key) in referenced or item.mtime >= started - grace:
            continue
        report.orphans += 1
        report.orphan_bytes += item.size
        report.orphan_keys.append(item.key)
        if not dry_run:
            await data.backend(location).delete(item.key)
            report.deleted += 1
    return report
