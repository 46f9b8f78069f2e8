"""Acknowledged streams (design.md §4): the ack window, round trips, flow control, hangup, disconnect."""
from __future__ import annotations

import asyncio
import signal

import pytest

from dmd.metadata.streams import AckWindow
from shared import constants as C
from shared.errors import InternalError, ServiceUnavailable
from tests.rpc_helpers import connect, metadata_only, object_md, raw_call, raw_client, rss_mib, until

SCAN_KEYS = 3000
BIG_KEYS = 30_000              # 30 MB of values: far more than the ack window lets out


@pytest.fixture(scope="module")
def md(tmp_path_factory):
    c = metadata_only(tmp_path_factory.mktemp("streams"))

    async def populate() -> None:
        client = await connect(c)
        ops = [{"type": "put", "key": f"k{i:06d}", "value": object_md(f"k{i:06d}", i)} for i in range(SCAN_KEYS)]
        await client.call("batch", db="scan", ops=ops)
        filler = "x" * 1000
        for start in range(0, BIG_KEYS, 10_000):
            await client.call("batch", db="big", ops=[{"type": "put", "key": f"b{i:06d}", "value": {"f": filler}}
                                                      for i in range(start, start + 10_000)])
        await client.close()

    asyncio.run(populate())
    yield c
    c.stop()


# -- the ack window, without I/O ------------------------------------------------------
def test_window_caps_unacknowledged_packets():
    w = AckWindow(limit=4, timeout=5.0)
    for seq in range(4):
        assert w.can_send()
        w.sent(seq, now=100.0)
    assert not w.can_send() and w.pending == 4
    with pytest.raises(RuntimeError):
        w.sent(4, now=100.0)
    assert w.acked(2) and w.can_send()
    assert not w.acked(2)                        # a duplicate ack frees nothing more
    assert not w.acked(99)


def test_window_deadline_is_the_oldest_unacknowledged_packet():
    w = AckWindow(limit=4, timeout=5.0)
    assert w.next_deadline() is None and not w.overdue(1e9)
    w.sent(0, now=10.0)
    w.sent(1, now=12.0)
    assert w.next_deadline() == 15.0
    assert not w.overdue(14.9) and w.overdue(15.0)
    w.acked(0)
    assert w.next_deadline() == 17.0 and not w.overdue(15.0)


# -- against a real daemon ------------------------------------------------------------
async def _stats(client) -> dict:
    return (await client.get_stats())["streams"]


def test_full_scan_round_trip(md):
    async def run() -> None:
        client = await connect(md)
        items = [kv async for kv in client.create_read_stream("scan")]
        assert [k for k, _ in items] == [f"k{i:06d}" for i in range(SCAN_KEYS)]
        assert all(v == object_md(k, int(k[1:])) for k, v in items)
        keys = [k async for k, v in client.create_read_stream("scan", gt="k000010", lte="k000020", values=False)]
        assert keys == [f"k{i:06d}" for i in range(11, 21)]
        values = [v async for k, v in client.create_read_stream("scan", gte="k002990", keys=False)]
        assert [v["key"] for v in values] == [f"k{i:06d}" for i in range(2990, 3000)]
        limited = [k async for k, _ in client.create_read_stream("scan", limit=1500)]
        assert limited == [f"k{i:06d}" for i in range(1500)]
        assert [kv async for kv in client.create_read_stream("no-such-sublevel")] == []
        assert await until(lambda: _match(_stats(client), open=0))
        await client.close()

    asyncio.run(run())


def test_bad_range_is_an_internal_invalid_argument(md):
    async def run() -> None:
        client = await connect(md)
        with pytest.raises(InternalError) as err:
            async for _ in client.create_read_stream("scan", gt="a", gte="b"):
                pass
        assert err.value.code == "InvalidArgument"
        await client.close()

    asyncio.run(run())


async def _match(stats_coro, **expected) -> bool:
    stats = await stats_coro
    return all(stats[k] == v for k, v in expected.items())


def test_consumer_that_never_acks_gets_ack_timeout_and_memory_stays_flat(md):
    async def run() -> None:
        client = await connect(md)
        before_failures = (await _stats(client))["failures"].get("StreamAckTimeout", 0)
        sio = await raw_client(md)
        packets, errors, ends = [], [], []
        gate = asyncio.Event()

        async def on_data(msg):                  # holds every ack back until the test ends
            packets.append(msg)
            await gate.wait()
            return {"ok": True}

        sio.on("stream-data", on_data, namespace=C.RPC_NAMESPACE)
        sio.on("stream-error", lambda msg: errors.append(msg), namespace=C.RPC_NAMESPACE)
        sio.on("stream-end", lambda msg: ends.append(msg), namespace=C.RPC_NAMESPACE)
        rss_before = rss_mib(md)
        reply = await raw_call(sio, "createReadStream", {"db": "big", "streamId": "silent"})
        assert reply == {"id": reply["id"], "ok": True, "result": {"stream": "silent"}}

        async def errored() -> bool:
            return bool(errors)
        assert await until(errored, timeout=C.STREAM_ACK_TIMEOUT_S + 10)
        rss_after = rss_mib(md)
        assert errors[0]["stream"] == "silent" and errors[0]["error"]["code"] == "StreamAckTimeout"
        assert len(packets) == C.STREAM_MAX_PENDING_ACK and not ends
        assert [p["seq"] for p in packets] == list(range(C.STREAM_MAX_PENDING_ACK))
        assert all(len(p["items"]) == C.STREAM_PACKET_ITEMS for p in packets)
        # 30 MB were there to send; only the window's 4 packets (about 4 MB) ever left the iterator.
        assert rss_after - rss_before < 20, (rss_before, rss_after)
        stats = await _stats(client)
        assert stats["open"] == 0 and stats["failures"]["StreamAckTimeout"] == before_failures + 1
        gate.set()
        await sio.disconnect()
        await client.close()

    asyncio.run(run())


def test_hangup_closes_the_server_iterator(md):
    async def run() -> None:
        client = await connect(md)
        sio = await raw_client(md)
        got = []
        gate = asyncio.Event()

        async def on_data(msg):
            got.append(msg)
            await gate.wait()
            return {"ok": True}

        sio.on("stream-data", on_data, namespace=C.RPC_NAMESPACE)
        await raw_call(sio, "createReadStream", {"db": "big", "streamId": "h1"})

        async def first_packet() -> bool:
            return bool(got)
        assert await until(first_packet)
        stats = await _stats(client)
        assert stats["open"] == 1
        await sio.emit("stream-hangup", {"stream": "h1"}, namespace=C.RPC_NAMESPACE)
        # Closed by the hangup while its acks are still held back, not by the 5 s ack timeout.
        assert await until(lambda: _match(_stats(client), open=0, failures=stats["failures"]))
        await sio.disconnect()
        gate.set()
        await client.close()

    asyncio.run(run())


def test_client_aclose_hangs_up(md):
    async def run() -> None:
        client = await connect(md)
        opened = (await _stats(client))["opened"]
        stream = client.create_read_stream("big")
        first = await stream.__anext__()
        assert first[0] == "b000000"
        await stream.aclose()
        assert await until(lambda: _match(_stats(client), open=0, opened=opened + 1))
        await client.close()

    asyncio.run(run())


def test_disconnect_closes_every_stream_of_the_sid(md):
    async def run() -> None:
        client = await connect(md)
        sio = await raw_client(md)
        gate = asyncio.Event()
        seen: set[str] = set()

        async def on_data(msg):
            seen.add(msg["stream"])
            await gate.wait()
            return {"ok": True}

        sio.on("stream-data", on_data, namespace=C.RPC_NAMESPACE)
        for sid in ("d1", "d2", "d3"):
            await raw_call(sio, "createReadStream", {"db": "big", "streamId": sid})

        async def all_flowing() -> bool:
            return len(seen) == 3
        assert await until(all_flowing)
        assert (await _stats(client))["open"] == 3
        failures = dict((await _stats(client))["failures"])
        await sio.disconnect()                   # the acks are still held back
        gate.set()
        assert await until(lambda: _match(_stats(client), open=0))
        assert (await _stats(client))["failures"] == failures     # closed by the disconnect, not by timeouts
        await client.close()

    asyncio.run(run())


@pytest.mark.needs_disk
def test_stream_fails_with_service_unavailable_when_the_daemon_dies(tmp_path):
    c = metadata_only(tmp_path)

    async def run() -> None:
        client = await connect(c)
        await client.call("batch", db="s", ops=[{"type": "put", "key": f"{i:06d}", "value": {"f": "x" * 1000}}
                                                 for i in range(10_000)])
        stream = client.create_read_stream("s")
        assert (await stream.__anext__())[0] == "000000"
        c.kill("metadata", signal.SIGKILL)
        with pytest.raises(ServiceUnavailable):
            async for _ in stream:
                pass
        await client.close()

    try:
        asyncio.run(run())
    finally:
        c.stop()
