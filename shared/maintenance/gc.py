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
from collections.abc import AsyncIterator, Callable, Collection
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
    locations: dict[str, dict] = field(default_factory=dict)     # per location swept: scanned, orphans
    unreachable: dict[str, str] = field(default_factory=dict)    # locations that could not be listed: why

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


def chosen(data: DataRouter, only: Collection[str] | None) -> list[str]:
    """The locations a run covers: all, or those named (ValueError for a name that is not configured)."""
    unknown = sorted(set(only or ()) - set(data.backends))
    if unknown:
        raise ValueError(f"not a configured location: {', '.join(unknown)} (configured: {', '.join(data.backends)})")
    return [name for name in data.backends if not only or name in only]


async def data_files(data: DataRouter, only: Collection[str] | None = None,
                     unreachable: dict[str, str] | None = None) -> AsyncIterator[tuple[str, StoredFile]]:
    """(location, file) of every file of every chosen location; one that fails to list is noted in
    `unreachable` (else the error stops the run) and the others are still listed."""
    for location in chosen(data, only):
        try:
            async for item in data.backend(location).list_files():
                yield location, item
        except Exception as exc:  # noqa: BLE001 - a location that is down must not hide the others
            if unreachable is None:
                raise
            log.warning("could not list a data location", extra={"location": location, "error": str(exc)})
            unreachable[location] = str(exc)


async def sweep(metadata: MetadataAPI, data: DataRouter, grace: float = C.ORPHAN_GRACE_S,
                dry_run: bool = False, progress: Progress = quiet,
                only: Collection[str] | None = None) -> GcReport:
    """Delete data files no metadata references and older than `grace` seconds, in every location
    (or those in `only`); for an aws_s3 location, its files are the names under its prefix."""
    started = time.time()
    report = GcReport(dry_run=dry_run)
    report.locations = {name: {"scanned": 0, "orphans": 0} for name in chosen(data, only)}
    referenced = await referenced_keys(metadata, progress)
    report.referenced = len(referenced)
    async for location, item in data_files(data, only, report.unreachable):
        report.scanned += 1
        report.locations[location]["scanned"] += 1
        progress("data files", report.scanned)
        if (location, item.key) in referenced or item.mtime >= started - grace:
            continue
        report.orphans += 1
        report.locations[location]["orphans"] += 1
        report.orphan_bytes += item.size
        report.orphan_keys.append(item.key)
        if not dry_run:
            await data.backend(location).delete(item.key)
            report.deleted += 1
    return report
