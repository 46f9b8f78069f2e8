"""`coffer fsck`: does every piece of data that metadata points at exist, with the right size?"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from s3front.gc import Progress, data_files, quiet, referenced_keys, referenced_pieces
from shared.data_client import DataClient
from shared.metadata_client import MetadataClient


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


async def fsck(metadata: MetadataClient, data: DataClient, progress: Progress = quiet) -> FsckReport:
    report = FsckReport()
    async for bucket, key, piece in referenced_pieces(metadata):
        report.pieces += 1
        progress("pieces checked", report.pieces)
        size = await data.size(piece["key"])
        where = {"bucket": bucket, "key": key, "dataKey": piece["key"], "size": piece["size"]}
        if size is None:
            report.missing.append(where)
        elif size != piece["size"]:
            report.wrong_size.append({**where, "actual": size})
    referenced = await referenced_keys(metadata, progress)
    scanned = 0
    async for item in data_files(data):
        scanned += 1
        progress("data files", scanned)
        report.orphans += item["key"] not in referenced
    return report
