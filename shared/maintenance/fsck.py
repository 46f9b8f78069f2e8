"""`coffer fsck`: does every piece of data that metadata points at exist, with the right size?"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from shared.contract.data import DataRouter
from shared.contract.metadata import MetadataAPI
from shared.maintenance.gc import Progress, data_files, quiet


@dataclass
class FsckReport:
    pieces: int = 0
    missing: list[dict] = field(default_factory=list)
    wrong_size: list[dict] = field(default_factory=list)
    orphans: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.wrong_size

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


async def fsck(metadata: MetadataAPI, data: DataRouter, progress: Progress = quiet) -> FsckReport:
    report = FsckReport()
    referenced: set[tuple[str, str]] = set()
    async for ref in metadata.referenced_pieces():
        piece = ref.piece
        referenced.add((piece.location, piece.key))
        if ref.pending_delete:
            continue                # its data may be gone already: that is what the entry is for
        report.pieces += 1
        progress("pieces checked", report.pieces)
        size = await data.size(piece)
        where = {"bucket": ref.bucket, "key": ref.where, "dataKey": piece.key, "size": piece.size}
        if size is None:
            report.missing.append(where)
        elif size != piece.data_size:
            report.wrong_size.append({**where, "actual": size})
    scanned = 0
    async for location, item in data_files(data):
        scanned += 1
        progress("data files", scanned)
        report.orphans += (location, item.key) not in referenced
    return report
