"""RPC robustness (design.md §1): timeouts, restarts, authentication, unknown methods, big values."""
from __future__ import annotations

import asyncio
import signal

import pytest
import socketio

from shared import constants as C
from shared.errors import InternalError, S3Error, ServiceUnavailable
from tests.rpc_helpers import connect, metadata_only, object_md, raw_call, raw_client, until


@pytest.fixture(scope="module")
def md(tmp_path_factory):
    c = metadata_only(tmp_path_factory.mktemp("rpc"))
    yield c
    c.stop()


def test_tiny_timeout_on_a_slow_call_is_service_unavailable_not_a_hang(md):
    async def run() -> None:
        client = await connect(md)
        ops = [{"type": "put", "key": f"slow{i:05d}", "value": object_md(f"slow{i:05d}", i)} for i in range(10_000)]
        with pytest.raises(ServiceUnavailable) as err:
            await client.call("batch", timeout=0.001, db="rpc", ops=ops)
        assert err.value.outcome_unknown          # a write that timed out may have happened
        assert err.value.status == 503
        # The connection is still good for the next call.
        assert (await client.get_manifest()).proto == C.RPC_PROTO
        await client.close()

    asyncio.run(run())


def test_call_expired_before_it_started_is_request_timeout(md):
    async def run() -> None:
        sio = await raw_client(md)
        reply = await raw_call(sio, "put", {"db": "rpc", "key": "late", "value": {"a": 1}}, timeout_ms=0)
        assert reply["ok"] is False
        assert reply["error"]["code"] == "RequestTimeout" and reply["error"]["internal"] is True
        reply = await raw_call(sio, "get", {"db": "rpc", "key": "late"})
        assert reply["error"]["code"] == "NotFound"       # the expired write was never started
        await sio.disconnect()

    asyncio.run(run())


def test_unknown_method_and_bad_arguments_are_internal_invalid_argument(md):
    async def run() -> None:
        client = await connect(md)
        with pytest.raises(InternalError) as err:
            await client.call("noSuchMethod", x=1)
        assert err.value.code == "InvalidArgument"
        with pytest.raises(InternalError) as err:
            await client.call("getObject", bucket="b")            # key is missing
        assert err.value.code == "InvalidArgument"
        sio = await raw_client(md)
        reply = await raw_call(sio, "noSuchMethod", {})
        assert reply["ok"] is False and reply["id"].startswith("raw:")
        assert reply["error"]["code"] == "InvalidArgument" and reply["error"]["internal"] is True
        assert "unknown method" in reply["error"]["message"]
        await sio.disconnect()
        await client.close()

    asyncio.run(run())


def test_wrong_secret_is_refused(md):
    async def run() -> None:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await raw_client(md, secret="not-the-secret")
        client = await connect_without_waiting(md, "not-the-secret")
        assert not await client.wait_ready(1.0)
        with pytest.raises(ServiceUnavailable):
            await client.call("getManifest", timeout=1.0)
        await client.close()
        assert "refused an unauthenticated RPC client" in md.logs("metadata")

    asyncio.run(run())


async def connect_without_waiting(md, secret: str):
    from shared.metadata_client import MetadataClient
    client = MetadataClient("127.0.0.1", md.md_port, secret)
    await client.start()
    return client


def test_value_of_one_and_a_half_megabytes_round_trips(md):
    async def run() -> None:
        client = await connect(md)
        value = {"blob": "z" * (1_500_000), "n": 1}
        assert await client.call("put", db="rpc", key="big", value=value) == {}
        assert await client.call("get", db="rpc", key="big") == value
        with pytest.raises(S3Error) as err:
            await client.call("get", db="rpc", key="missing")
        assert err.value.code == "NotFound" and err.value.status == 404
        await client.close()

    asyncio.run(run())


@pytest.mark.needs_disk
def test_daemon_restart_mid_calls_gives_retryable_errors_then_recovers(tmp_path):
    c = metadata_only(tmp_path)

    async def run() -> None:
        client = await connect(c)
        boot_id = client.boot_id
        restarts = []
        client.on_restart.append(lambda: restarts.append(True))
        outcomes: list[str] = []
        stop = asyncio.Event()

        async def worker(w: int) -> None:
            i = 0
            while not stop.is_set():
                try:
                    await client.call("put", timeout=5.0, db="r", key=f"w{w}-{i}", value={"i": i})
                    await client.call("get", timeout=5.0, db="r", key=f"w{w}-{i}")
                    outcomes.append("ok")
                except ServiceUnavailable:
                    outcomes.append("unavailable")
                    await asyncio.sleep(0.05)
                i += 1

        workers = [asyncio.create_task(worker(w)) for w in range(8)]

        async def some_ok(n: int) -> bool:
            return outcomes.count("ok") >= n
        assert await until(lambda: some_ok(50))
        c.kill("metadata", signal.SIGKILL)

        async def some_failed() -> bool:
            return "unavailable" in outcomes
        assert await until(some_failed)
        ok_before = outcomes.count("ok")
        c.start_metadata()
        assert await until(lambda: some_ok(ok_before + 50), timeout=30)
        stop.set()
        await asyncio.gather(*workers)           # any other exception would surface here
        assert client.boot_id != boot_id and restarts == [True]
        assert set(outcomes) == {"ok", "unavailable"}
        await client.close()

    try:
        asyncio.run(run())
    finally:
        c.stop()
