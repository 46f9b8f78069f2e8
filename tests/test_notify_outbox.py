"""The delivery worker's reads over a real LevelDB outbox, to a real webhook receiver.

The worker reads on from where it stopped instead of from the outbox's start. These tests hold
it to the rule that makes that safe: a record whose batch commits after a later record was
already read and sent is still delivered, without waiting for the periodic full read.
"""
from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from dmd.metadata import keys
from dmd.metadata.context import MetadataContext
from dmd.metadata.engine import open_engine, prefix_cursor
from dmd.metadata.notify.worker import TargetWorker
from shared import constants as C
from shared.notify.targets import make_target


class Receiver:
    """A webhook endpoint that keeps the keys of the records it was sent."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        received = self.keys

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body)["Key"].split("/", 1)[1])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_port}/"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.http.shutdown()


def record_ops(ctx: MetadataContext, queue: str, key: str) -> list:
    """What a mutation's outbox records look like: one sequence number, taken before its commit."""
    seq = ctx.outbox._next_seq()
    entry = {"event": "s3:ObjectCreated:Put", "key": f"bkt/{key}", "record": {"s3": {"object": {"key": key}}}}
    return [(keys.outbox_key(queue, seq, ctx.boot_id[:8]), orjson.dumps(entry))]


async def wait_for(predicate, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)


def webhook_worker(tmp_path, receiver) -> tuple:
    """A daemon context on a fresh LevelDB and the delivery worker of one webhook target."""
    engine = open_engine("file", str(tmp_path / "md"))
    ctx = MetadataContext(engine, C.REPLICATION_GROUP_ID)
    target = make_target("webhook", "T", {"endpoint": receiver.url})
    worker = TargetWorker(ctx, target)
    ctx.outbox.armed, ctx.outbox.wakers = True, [worker.wake]
    return engine, ctx, target, worker


def test_a_record_committed_late_is_still_delivered(tmp_path, receiver, monkeypatch) -> None:
    monkeypatch.setattr(C, "NOTIFY_FULL_READ_S", 3600.0)     # only the resume rule can find it
    engine, ctx, target, worker = webhook_worker(tmp_path, receiver)

    async def scenario() -> None:
        worker.start()
        early = record_ops(ctx, target.queue_key, "early")          # sequence taken, commit held back
        for i in range(20):                                         # later records commit and are sent
            await ctx.commit(record_ops(ctx, target.queue_key, f"later-{i}"))
        await wait_for(lambda: len(receiver.keys) == 20)
        assert sorted(receiver.keys) == sorted(f"later-{i}" for i in range(20))
        assert worker.resume is not None and worker.resume <= early[0][0]
        await ctx.commit(early)                                     # ... and now the first one commits
        await wait_for(lambda: "early" in receiver.keys)
        await worker.stop()

    try:
        asyncio.run(scenario())
        assert receiver.keys.count("early") == 1
        assert not ctx.outbox.pending
        with prefix_cursor(engine, keys.outbox_prefix(target.queue_key)) as cursor:
            assert list(cursor) == []                               # everything sent was deleted
    finally:
        ctx.gatherer.close()
        engine.close()


def test_a_write_that_never_commits_stops_holding_the_floor(tmp_path, receiver, monkeypatch) -> None:
    monkeypatch.setattr(C, "NOTIFY_FULL_READ_S", 0.2)
    engine, ctx, target, worker = webhook_worker(tmp_path, receiver)

    async def scenario() -> None:
        worker.start()
        record_ops(ctx, target.queue_key, "refused")                # its write failed before committing
        await ctx.commit(record_ops(ctx, target.queue_key, "kept"))
        await wait_for(lambda: "kept" in receiver.keys)
        await wait_for(lambda: not ctx.outbox.pending)               # dropped at a full read
        assert not ctx.outbox.pending
        await ctx.commit(record_ops(ctx, target.queue_key, "next"))
        await wait_for(lambda: "next" in receiver.keys)
        await worker.stop()

    try:
        asyncio.run(scenario())
        assert receiver.keys == ["kept", "next"]
    finally:
        ctx.gatherer.close()
        engine.close()
