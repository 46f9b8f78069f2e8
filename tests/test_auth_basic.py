"""Who may talk to Coffer: S3 signatures and accounts, and the cluster secret of the daemons."""
from __future__ import annotations

import asyncio
import re

import httpx
import pytest
import socketio

from shared import constants as C
from shared.errors import ServiceUnavailable
from shared.metadata_client import MetadataClient
from shared.rpc import OrjsonShim
from tests.cluster import ACCESS_KEY, ALT_ACCESS_KEY, ALT_SECRET_KEY, SECRET
from tests.expect import s3_error, xml_error


def test_wrong_secret_key_is_signature_does_not_match(cluster, bucket):
    wrong = cluster.client(ACCESS_KEY, "not-the-secret")
    assert s3_error(wrong.list_buckets) == (403, "SignatureDoesNotMatch")
    assert s3_error(wrong.put_object, Bucket=bucket, Key="k", Body=b"x") == (403, "SignatureDoesNotMatch")
    assert s3_error(wrong.get_object, Bucket=bucket, Key="k") == (403, "SignatureDoesNotMatch")


def test_unknown_access_key_is_invalid_access_key_id(cluster, bucket):
    stranger = cluster.client("NoSuchAccessKey", "whatever")
    assert s3_error(stranger.list_buckets) == (403, "InvalidAccessKeyId")
    assert s3_error(stranger.get_object, Bucket=bucket, Key="k") == (403, "InvalidAccessKeyId")


def test_no_authentication_is_access_denied(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="private", Body=b"secret bytes")
    base = cluster.endpoint
    assert xml_error(httpx.get(f"{base}/")) == (403, "AccessDenied")
    assert xml_error(httpx.get(f"{base}/{bucket}")) == (403, "AccessDenied")
    assert xml_error(httpx.get(f"{base}/{bucket}/private")) == (403, "AccessDenied")
    assert xml_error(httpx.put(f"{base}/{bucket}/new", content=b"x")) == (403, "AccessDenied")
    assert xml_error(httpx.delete(f"{base}/{bucket}/private")) == (403, "AccessDenied")
    assert s3.get_object(Bucket=bucket, Key="private")["Body"].read() == b"secret bytes"
    assert s3_error(s3.head_object, Bucket=bucket, Key="new") == (404, "404")


def test_other_account_cannot_touch_the_bucket(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="mine", Body=b"x")
    alt = cluster.client(ALT_ACCESS_KEY, ALT_SECRET_KEY)
    assert s3_error(alt.get_object, Bucket=bucket, Key="mine") == (403, "AccessDenied")
    assert s3_error(alt.list_objects_v2, Bucket=bucket) == (403, "AccessDenied")
    assert s3_error(alt.put_object, Bucket=bucket, Key="theirs", Body=b"y") == (403, "AccessDenied")
    assert s3_error(alt.delete_object, Bucket=bucket, Key="mine") == (403, "AccessDenied")
    assert s3_error(alt.delete_bucket, Bucket=bucket) == (403, "AccessDenied")
    assert s3_error(alt.head_bucket, Bucket=bucket) == (403, "403")
    assert s3.get_object(Bucket=bucket, Key="mine")["Body"].read() == b"x"


# -- the metadata daemon's socket.io RPC ---------------------------------------------------

def test_metadata_daemon_refuses_a_wrong_secret(cluster):
    async def run() -> None:
        sio = socketio.AsyncClient(reconnection=False, json=OrjsonShim)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(f"http://127.0.0.1:{cluster.md_port}", transports=["websocket"],
                              auth={"secret": "wrong", "client": "test", "proto": C.RPC_PROTO},
                              namespaces=[C.RPC_NAMESPACE], wait_timeout=5)
        await sio.disconnect()
        client = MetadataClient("127.0.0.1", cluster.md_port, "wrong")
        await client.start()
        assert not await client.wait_ready(2.0)
        with pytest.raises(ServiceUnavailable):
            await client.call("getManifest", timeout=1.0)
        await client.close()

    asyncio.run(run())


def test_metadata_daemon_refuses_no_secret(cluster):
    async def run() -> None:
        sio = socketio.AsyncClient(reconnection=False, json=OrjsonShim)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(f"http://127.0.0.1:{cluster.md_port}", transports=["websocket"],
                              namespaces=[C.RPC_NAMESPACE], wait_timeout=5)
        await sio.disconnect()

    asyncio.run(run())


def test_metadata_daemon_accepts_the_cluster_secret(cluster):
    async def run() -> None:
        client = MetadataClient("127.0.0.1", cluster.md_port, SECRET)
        await client.start()
        assert await client.wait_ready(10)
        assert (await client.get_manifest()).proto == C.RPC_PROTO
        await client.close()

    asyncio.run(run())


# -- the data daemon's /DataFile API -------------------------------------------------------

@pytest.fixture
def datafile(cluster) -> str:
    return f"http://127.0.0.1:{cluster.data_port}/DataFile"


def bearer(secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("headers,status", [
    ({}, 401),
    ({"Authorization": "Bearer wrong"}, 403),
    ({"Authorization": "Bearer"}, 403),
    ({"Authorization": SECRET}, 403),                    # the secret without the Bearer scheme
    ({"Authorization": f"Basic {SECRET}"}, 403),
])
def test_datafile_refuses_requests_without_the_secret(cluster, datafile, headers, status):
    assert httpx.put(datafile, content=b"data", headers=headers).status_code == status
    key = httpx.put(datafile, content=b"data", headers=bearer()).headers["location"].rsplit("/", 1)[1]
    assert httpx.get(f"{datafile}/{key}", headers=headers).status_code == status
    assert httpx.delete(f"{datafile}/{key}", headers=headers).status_code == status
    assert httpx.get(f"{datafile}/{key}", headers=bearer()).content == b"data"      # still there
    httpx.delete(f"{datafile}/{key}", headers=bearer())


def test_datafile_with_the_secret(datafile):
    data = bytes(range(256)) * 40
    put = httpx.put(datafile, content=data, headers=bearer())
    assert put.status_code == 201
    assert re.fullmatch(r"/DataFile/[0-9a-f]{40}", put.headers["location"])
    url = datafile.removesuffix("/DataFile") + put.headers["location"]
    got = httpx.get(url, headers=bearer())
    assert got.status_code == 200 and got.content == data
    part = httpx.get(url, headers={**bearer(), "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert httpx.delete(url, headers=bearer()).status_code == 204
    assert httpx.get(url, headers=bearer()).status_code == 404


@pytest.mark.parametrize("path", ["/DataFile/not-hex", "/DataFile/abc123", "/DataFile/" + "A" * 40,
                                  "/Elsewhere"])
def test_datafile_bad_key_is_400(datafile, path):
    url = datafile.removesuffix("/DataFile") + path
    assert httpx.get(url, headers=bearer()).status_code == 400
