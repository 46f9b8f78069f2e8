"""One value that cannot be encoded must fail its own RPC call only, at once, never its neighbours.

The attack: an integer past 2^64 (or nesting deeper than orjson encodes) in one call's arguments made
the whole batch of calls sent in that loop turn fail to encode, and every call in it waited for its
timeout. The S3 edge now refuses such values (tests/test_integer_params.py); the RPC client, the
daemon's batched replies and its streams each fail only the item that cannot be encoded.
"""
from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
import pytest

from shared import constants as C
from shared.errors import InternalError, S3Error
from shared.rpc import call_message
from tests.expect import xml_error
from tests.rpc_helpers import connect, metadata_only, raw_call, raw_client, until
from tests.signing import sign_v4

HUGE = "99999999999999999999"        # 20 digits: past 2^64
LIVENESS_S = 10.0                    # far below the 30 s call timeout a poisoned batch waited for
NEIGHBOURS = 20


def nested(depth: int) -> list:
    """A list nested `depth` levels deep ([] is one level)."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def nested_dict(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.fixture(scope="module")
def md(tmp_path_factory):
    c = metadata_only(tmp_path_factory.mktemp("poison"))
    yield c
    c.stop()


def _signed(method: str, url: str, body: bytes = b"") -> tuple[str, str, dict[str, str], bytes]:
    headers = sign_v4(method, url, {"Content-Length": str(len(body))}, hashlib.sha256(body).hexdigest())
    return method, url, headers, body


async def _burst(requests: list[tuple[str, str, dict[str, str], bytes]]) -> list[httpx.Response]:
    """Every request on its own connection, all sent in the same instant."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=LIVENESS_S, limits=limits) as client:
        answers = await asyncio.gather(*(client.request(m, u, headers=h, content=b) for m, u, h, b in requests),
                                       return_exceptions=True)
    hung = [(m, u, repr(a)) for a, (m, u, _, _) in zip(answers, requests) if isinstance(a, Exception)]
    assert not hung, f"requests got no answer within {LIVENESS_S} s: {hung}"
    return answers


def _neighbours(endpoint: str, bucket: str, round_no: int) -> list[tuple[str, str, dict[str, str], bytes]]:
    """GETs of an existing object and PUTs of new ones, signed ahead so that they leave together."""
    reqs = []
    for i in range(NEIGHBOURS):
        if i % 2:
            reqs.append(_signed("GET", f"{endpoint}/{bucket}/existing"))
        else:
            reqs.append(_signed("PUT", f"{endpoint}/{bucket}/n-{round_no}-{i}", f"body {i}".encode()))
    return reqs


def _check_neighbours(responses: list[httpx.Response], neighbours: list) -> None:
    for resp, (method, url, _, _) in zip(responses, neighbours):
        assert resp.status_code == 200, (method, url, resp.status_code, resp.text)
        if method == "GET":
            assert resp.content == b"existing body"


def _attack(cluster, s3, bucket: str, bad: tuple) -> None:
    s3.put_object(Bucket=bucket, Key="existing", Body=b"existing body")
    for round_no in range(3):            # a few bursts: the bad call must share a loop turn with others
        neighbours = _neighbours(cluster.endpoint, bucket, round_no)
        mid = len(neighbours) // 2
        requests = neighbours[:mid] + [bad] + neighbours[mid:]
        responses = asyncio.run(_burst(requests))
        bad_resp = responses.pop(mid)
        assert xml_error(bad_resp) == (400, "InvalidArgument"), bad_resp.text
        _check_neighbours(responses, neighbours)
    for i in range(0, NEIGHBOURS, 2):
        assert s3.get_object(Bucket=bucket, Key=f"n-2-{i}")["Body"].read() == f"body {i}".encode()


def test_list_parts_with_a_huge_marker_does_not_poison_its_neighbours(cluster, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]
    bad = _signed("GET", f"{cluster.endpoint}/{bucket}/mpu?part-number-marker={HUGE}&uploadId={uid}")
    _attack(cluster, s3, bucket, bad)
    assert s3.list_parts(Bucket=bucket, Key="mpu", UploadId=uid)["UploadId"] == uid


def test_complete_with_a_huge_part_number_does_not_poison_its_neighbours(cluster, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=uid, PartNumber=1, Body=b"part")["ETag"]
    body = (f"<CompleteMultipartUpload><Part><PartNumber>{HUGE}</PartNumber><ETag>{etag}</ETag></Part>"
            "</CompleteMultipartUpload>").encode()
    bad = _signed("POST", f"{cluster.endpoint}/{bucket}/mpu?uploadId={uid}", body)
    _attack(cluster, s3, bucket, bad)
    # The upload is untouched and still completes.
    s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="mpu")["Body"].read() == b"part"


# -- the RPC client: an unencodable call fails at once and alone ------------------------
def test_a_call_that_cannot_be_encoded_fails_at_once_and_its_neighbours_succeed(md):
    async def run() -> None:
        client = await connect(md)
        calls = [client.call("put", db="poison", key="big", value={"n": 2**64})]
        calls += [client.call("put", db="poison", key=f"k{i}", value={"i": i}) for i in range(10)]
        calls += [client.call("getManifest") for _ in range(5)]
        calls += [client.call("put", db="poison", key="deep", value=nested(C.JSON_MAX_DEPTH))]
        # One loop turn: every call leaves in the same `calls` batch.
        results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), LIVENESS_S)
        for bad in (results[0], results[-1]):
            assert isinstance(bad, InternalError), bad
            assert bad.code == "InternalError" and "put cannot be encoded" in bad.message
        assert results[1:11] == [{}] * 10
        assert all(r["proto"] == C.RPC_PROTO for r in results[11:16])
        for i in range(10):
            assert await client.call("get", db="poison", key=f"k{i}") == {"i": i}
        for key in ("big", "deep"):                 # never sent, so never written
            with pytest.raises(S3Error) as err:
                await client.call("get", db="poison", key=key)
            assert err.value.code == "NotFound"
        await client.close()

    asyncio.run(run())


# -- the daemon: a reply that cannot be encoded does not lose its batch ----------------
# A value stored at the deepest nesting orjson encodes is one no reply can carry (the reply wraps it
# deeper). The standard json module, which has no such limit, lets a raw client store one: no test-only
# RPC method or hook in the daemon is needed.
async def _store_deep(sio, db: str, key: str, depth: int) -> None:
    reply = await raw_call(sio, "put", {"db": db, "key": key, "value": nested_dict(depth)})
    assert reply["ok"], reply


def test_a_lone_call_whose_reply_cannot_be_encoded_gets_an_error_reply(md):
    async def run() -> None:
        sio = await raw_client(md, json=json)
        await _store_deep(sio, "deep", "v", C.JSON_MAX_DEPTH)
        reply = await raw_call(sio, "get", {"db": "deep", "key": "v"})
        assert reply["ok"] is False and reply["error"]["code"] == "InternalError", reply
        assert "get cannot be encoded" in reply["error"]["message"]
        assert (await raw_call(sio, "getManifest", {}))["ok"]
        await sio.disconnect()

    asyncio.run(run())


def test_a_reply_that_cannot_be_encoded_does_not_lose_the_others_of_its_batch(md):
    async def run() -> None:
        sio = await raw_client(md, json=json)
        await _store_deep(sio, "deep", "v", C.JSON_MAX_DEPTH)
        events: list[list] = []
        sio.on("replies", events.append, namespace=C.RPC_NAMESPACE)
        ids = ["manifest-1", "deep-get", "manifest-2", "write", "normal-get"]
        msgs = [call_message("manifest-1", "getManifest", {}, 10_000, "t"),
                call_message("deep-get", "get", {"db": "deep", "key": "v"}, 10_000, "t"),
                call_message(nested(300), "getManifest", {}, 10_000, "t"),     # an id no reply can carry
                call_message("manifest-2", "getManifest", {}, 10_000, "t"),
                call_message("write", "put", {"db": "deep", "key": "w", "value": {"x": 1}}, 10_000, "t"),
                call_message("normal-get", "get", {"db": "deep", "key": "w"}, 10_000, "t")]
        await sio.emit("calls", msgs, namespace=C.RPC_NAMESPACE)

        def got() -> dict:
            return {r["id"]: r for event in events for r in event}

        async def all_answered() -> bool:
            return set(ids) <= got().keys()
        assert await until(all_answered, LIVENESS_S), got()
        replies = got()
        assert len(replies) == len(ids)                       # the call with the bad id is not answered
        assert replies["manifest-1"]["ok"] and replies["manifest-2"]["ok"] and replies["write"]["ok"]
        assert replies["normal-get"]["ok"] or replies["normal-get"]["error"]["code"] == "NotFound"
        bad = replies["deep-get"]
        assert bad["ok"] is False and bad["error"]["code"] == "InternalError"
        assert "get cannot be encoded" in bad["error"]["message"]
        # The calls answered in one loop turn shared one event: the batch path was taken.
        assert any({"manifest-1", "deep-get", "manifest-2"} <= {r["id"] for r in e} for e in events), events
        assert "an RPC reply cannot be encoded" in md.logs("metadata")
        await sio.disconnect()

    asyncio.run(run())


# -- streams: a packet that cannot be encoded ends its stream at once ------------------
def test_a_stream_packet_that_cannot_be_encoded_fails_its_stream_at_once(md):
    async def run() -> None:
        sio = await raw_client(md, json=json)
        for key in ("a", "c"):
            assert (await raw_call(sio, "put", {"db": "deepstream", "key": key, "value": {"k": key}}))["ok"]
        await _store_deep(sio, "deepstream", "b", C.JSON_MAX_DEPTH - 3)    # fits a reply, not a packet
        await sio.disconnect()
        client = await connect(md)
        with pytest.raises(InternalError) as err:
            await asyncio.wait_for(_drain(client.create_read_stream("deepstream")), LIVENESS_S)
        # Not StreamAckTimeout: the packet is refused before it is sent, not lost waiting for its ack.
        assert err.value.code == "InternalError" and "cannot be encoded" in err.value.message
        keys = await asyncio.wait_for(_drain(client.create_read_stream("deepstream", values=False)), LIVENESS_S)
        assert keys == ["a", "b", "c"]
        assert (await client.call("get", db="deepstream", key="b")) == nested_dict(C.JSON_MAX_DEPTH - 3)
        await client.close()

    asyncio.run(run())


async def _drain(stream) -> list:
    return [key async for key, _ in stream]
