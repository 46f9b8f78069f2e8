"""The metadata daemon's side of access-log delivery (dmd/metadata/access_logs.py), on a real LevelDB:
which batches are due, how much one answer holds, and forgetting what was delivered."""
from __future__ import annotations

import asyncio

import pytest

from dmd.metadata import access_logs
from dmd.metadata.context import MetadataContext
from dmd.metadata.engine import open_engine
from shared import constants as C
from shared.errors import S3Error


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(access_logs, "time", clock)
    engine = open_engine("file", str(tmp_path / "md"))
    ctx = MetadataContext(engine, C.REPLICATION_GROUP_ID)
    yield ctx, clock
    ctx.gatherer.close()
    engine.close()


def _batch(source: str, lines: int) -> dict:
    target = {"source_bucket": source, "target_bucket": "logs", "prefix": "log/"}
    return {"target": target, "grants": [], "records": [["2026-12-04T10:00:00+00:00", f"{source} {n}"]
                                                        for n in range(lines)]}


def test_due_by_age_or_by_count_and_forgotten_once_delivered(store) -> None:
    ctx, clock = store

    async def scenario() -> None:
        await access_logs.append_access_logs(ctx, "old", _batch("old", 2))
        await access_logs.append_access_logs(ctx, "old", _batch("old", 1))
        clock.now += 9
        await access_logs.append_access_logs(ctx, "young", _batch("young", 1))
        await access_logs.append_access_logs(ctx, "full", _batch("full", 4))
        clock.now += 1
        by_count = await access_logs.due_access_logs(ctx, 5, max_records=4)
        assert [(e["source"], len(e["records"])) for e in by_count] == [("full", 4)]   # and the answer is full
        assert by_count[0]["storedMs"] == 1_000_009_000                               # the daemon's clock
        by_age = await access_logs.due_access_logs(ctx, 5, max_records=10)
        assert sorted((e["source"], len(e["records"])) for e in by_age) == [("old", 1), ("old", 2)]
        await access_logs.access_logs_done(ctx, [e["name"] for e in by_count + by_age])
        assert await access_logs.due_access_logs(ctx, 5) == []
        assert [e["source"] for e in await access_logs.due_access_logs(ctx, 0)] == ["young"]   # 0: all
    asyncio.run(scenario())


def test_a_batch_must_hold_records(store) -> None:
    ctx, _ = store
    for batch in ({"records": []}, {"records": "x"}, _batch("s", C.ACCESS_LOG_MAX_RECORDS + 1)):
        with pytest.raises(S3Error) as err:
            asyncio.run(access_logs.append_access_logs(ctx, "s", batch))
        assert err.value.code == "InvalidArgument"
