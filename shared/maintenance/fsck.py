"""`coffer fsck`: does every piece of data that metadata points at exist, with the right size?"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field

from shared.contract.data import DataRouter
from shared.contract.metadata import MetadataAPI
from shared.errors import ServiceUnavailable
from shared.maintenance.gc import Progress, chosen, data_files, quiet


@dataclass
class FsckReport:
    pieces: int = 0
    missing: list[dict] = field(default_factory=list)
    wrong_size: list[dict] = field(default_factory=list)
    orphans: int = 0
    locations: dict[str, dict] = field(default_factory=dict)     # per location checked: pieces, orphans
    unreachable: dict[str, str] = field(default_factory=dict)    # locations that could not be checked: why
    unchecked: int = 0                                           # pieces of those, not checked

    @property
    def ok(self) -> bool:
        """Clean: nothing missing or wrong, and every location answered (a down one proves nothing)."""
        return not self.missing and not self.wrong_size and not self.unreachable

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


async def fsck(metadata: MetadataAPI, data: DataRouter, progress: Progress = quiet,
               only: Collection[str] | None = None) -> FsckReport:
    """Check every referenced piece in every location (or those in `only`), then count orphans."""
    report = FsckReport()
    names = chosen(data, only)
    report.locations = {name: {"pieces": 0, "orphans": 0} for name in names}
    referenced: set[tuple[str, str]] = set()
    async for ref in metadata.referenced_pieces():
        piece = ref.piece
        referenced.add((piece.location, piece.key))
        if ref.pending_delete:
            continue                # its data may be gone already: that is what the entry is for
        where = {"bucket": ref.bucket, "key": ref.where, "dataKey": piece.key, "size": piece.size,
                 "location": piece.location}
        if piece.location not in data.backends:
            if not only:            # a location taken out of locationConfig.json: its data is unreachable
                report.missing.append({**where, "why": "the location is not configured"})
            continue
        if piece.location not in report.locations:
            continue                # a location not asked about
        if piece.location in report.unreachable:
            report.unchecked += 1
            continue
        report.pieces += 1
        progress("pieces checked", report.pieces)
        report.locations[piece.location]["pieces"] += 1
        try:
            size = await data.size(piece)
        except ServiceUnavailable as exc:
            report.unreachable[piece.location] = exc.detail
            report.unchecked += 1
            continue
        if size is None:
            report.missing.append(where)
        elif size != piece.data_size:
            report.wrong_size.append({**where, "actual": size})
    scanned = 0
    async for location, item in data_files(data, names, report.unreachable):
        scanned += 1
        progress("data files", scanned)
        orphan = (location, item.key) not in referenced
        report.orphans += orphan
        report.locations[location]["orphans"] += orphan
    return report
