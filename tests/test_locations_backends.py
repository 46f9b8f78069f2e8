"""Every kind of data location through the DataBackend contract, on real endpoints.

`us-east-1` (a `file` location) is the test cluster's data daemon, `mem` its memory store; the aws_s3 locations are a moto
server and a second Coffer (its own cluster), each with bucketMatch true and false and, on moto, an
unversioned bucket (supportsVersioning false). Routers are built by `build_router` from a parsed
locationConfig.json, as the front-end builds its own.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
from types import SimpleNamespace

import pytest

from shared.contract.records import Piece
from shared.data_daemon import DaemonBackend
from shared.errors import InternalError, S3Error, ServiceUnavailable
from shared.location_routing import build_router
from shared.locations import parse_locations
from tests.cluster import ACCESS_KEY, SECRET, SECRET_KEY, Cluster, free_port, s3_client
from tests.remotes import FailingRemote, MotoServer, PeakRss, SilentRemote

MIB = 2**20
SIZES = [0, 1, 5 * MIB + 1]
CREDS = {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}
BACKENDS = ["us-east-1", "mem", "moto-match", "moto-prefix", "moto-flat", "coffer-match", "coffer-prefix"]
REMOTES = [b for b in BACKENDS if "-" in b]


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    s3 = s3_client(server.endpoint)
    for bucket in ("remote", "flat"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="remote", VersioningConfiguration={"Status": "Enabled"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def coffer(tmp_path_factory):
    """A second Coffer, the remote of the coffer-* locations."""
    remote = Cluster(tmp_path_factory.mktemp("remote-coffer")).start()
    s3 = remote.client()
    s3.create_bucket(Bucket="remote")
    s3.put_bucket_versioning(Bucket="remote", VersioningConfiguration={"Status": "Enabled"})
    yield remote
    remote.stop()


def remote(endpoint: str, bucket: str, match: bool, prefix: str, **extra) -> dict:
    return {"type": "aws_s3", "details": {"awsEndpoint": endpoint, "bucketName": bucket, "bucketMatch": match,
                                          "credentials": CREDS, "prefix": prefix, **extra}}


@pytest.fixture(scope="module")
def config_doc(cluster, moto, coffer):
    return {"us-east-1": {"type": "file"}, "mem": {"type": "mem"},
            "moto-match": remote(moto.endpoint, "remote", True, "m/"),
            "moto-prefix": remote(moto.endpoint, "remote", False, "p/"),
            "moto-flat": remote(moto.endpoint, "flat", False, "f/", supportsVersioning=False),
            "coffer-match": remote(coffer.endpoint, "remote", True, "m/"),
            "coffer-prefix": remote(coffer.endpoint, "remote", False, "p/")}


def run(cluster, doc: dict, scenario):
    """Run `scenario(router)` on a router built from a locationConfig document, then close it."""
    config = SimpleNamespace(data_host="127.0.0.1", data_port=cluster.data_port, cluster_secret=SECRET)
    locations = parse_locations(json.dumps(doc))

    async def main():
        router = build_router(config, locations, DaemonBackend("127.0.0.1", cluster.data_port, SECRET))
        try:
            return await scenario(router)
        finally:
            await router.close()
    return asyncio.run(main())


async def read(backend, key: str, start: int | None = None, end: int | None = None) -> bytes:
    stream = await backend.get(key, start, end)
    try:
        ready = stream.ready()
        return ready if ready is not None else b"".join([chunk async for chunk in stream])
    finally:
        await stream.aclose()


async def chunks(size: int, chunk: bytes = b""):
    """`size` bytes as 1 MiB chunks (one object, sent again and again: the body itself costs no memory)."""
    chunk = chunk or os.urandom(MIB)
    sent = 0
    while sent < size:
        n = min(len(chunk), size - sent)
        yield chunk if n == len(chunk) else chunk[:n]
        sent += n


@pytest.mark.parametrize("size", SIZES, ids=["0B", "1B", "5MiB+1"])
@pytest.mark.parametrize("name", BACKENDS)
def test_put_get_range_size_delete(cluster, config_doc, name, size):
    body = os.urandom(size)

    async def scenario(router):
        backend = router.backend(name)
        key = await backend.put(body, size, "bk/objects/a.bin")
        assert await read(backend, key) == body
        if size:
            assert await read(backend, key, 0, 0) == body[:1]
            assert await read(backend, key, size - 1, size - 1) == body[-1:]
            assert await read(backend, key, size // 2, None) == body[size // 2:]
            if size > 2:
                assert await read(backend, key, 1, size - 2) == body[1:-1]
        assert await backend.size(key) == size
        await backend.delete(key)
        assert await backend.size(key) is None
        await backend.delete(key)               # a missing key counts as deleted
    run(cluster, config_doc, scenario)


@pytest.mark.parametrize("name", BACKENDS)
def test_streamed_puts_of_known_and_unknown_length(cluster, config_doc, name):
    """Unknown lengths are chunked to the data daemon and remote multipart uploads (3 parts here)."""
    chunk = os.urandom(MIB)

    async def scenario(router):
        backend = router.backend(name)
        for size, length in ((5 * MIB + 1, 5 * MIB + 1), (5 * MIB + 1, None), (17 * MIB + 3, None)):
            expected = hashlib.md5(b"".join([c async for c in chunks(size, chunk)])).hexdigest()
            key = await backend.put(chunks(size, chunk), length, "bk/streamed")
            assert await backend.size(key) == size
            assert hashlib.md5(await read(backend, key)).hexdigest() == expected
            await backend.delete(key)
    run(cluster, config_doc, scenario)


@pytest.mark.parametrize("name", BACKENDS)
def test_list_files_and_health(cluster, config_doc, name):
    async def scenario(router):
        backend = router.backend(name)
        keys = {await backend.put(os.urandom(n), n, f"bk/list/{n}"): n for n in (0, 10, 1000)}
        listed = {f.key: f for f in [f async for f in backend.list_files()]}
        assert all(listed[k].size == n and listed[k].mtime > 0 for k, n in keys.items())
        for key in keys:
            await backend.delete(key)
        assert not set(keys) & {f.key async for f in backend.list_files()}
        assert (await backend.health()).ok
    run(cluster, config_doc, scenario)


def test_the_router_sends_each_piece_to_its_location(cluster, config_doc):
    async def scenario(router):
        pieces = [await router.put(name, f"bytes of {name}".encode(), len(f"bytes of {name}"), hint="bk/k")
                  for name in BACKENDS]
        assert [p.location for p in pieces] == BACKENDS
        for piece in pieces:
            assert await read_piece(router, piece) == f"bytes of {piece.location}".encode()
            assert await router.size(piece) == piece.size
        health = await router.health()
        assert set(health) == set(BACKENDS) and all(h.ok for h in health.values())
        for piece in pieces:
            await router.delete(piece)
            assert await router.size(piece) is None
    run(cluster, config_doc, scenario)


async def read_piece(router, piece: Piece) -> bytes:
    stream = await router.open(piece, 0, piece.size - 1)
    try:
        return stream.ready() or b"".join([c async for c in stream])
    finally:
        await stream.aclose()


@pytest.mark.parametrize("name, remote_name", [("moto-match", "m/dir/a.txt"), ("moto-prefix", "p/bk/dir/a.txt"),
                                               ("moto-flat", "f/bk/dir/a.txt."), ("coffer-match", "m/dir/a.txt"),
                                               ("coffer-prefix", "p/bk/dir/a.txt")])
def test_remote_names_and_two_puts_of_one_key_keep_both(cluster, config_doc, moto, coffer, name, remote_name):
    """bucketMatch keeps the key, false prefixes the bucket; each put is its own remote version (or name)."""
    async def scenario(router):
        backend = router.backend(name)
        first = await backend.put(b"one", 3, "bk/dir/a.txt")
        second = await backend.put(b"two!", 4, "bk/dir/a.txt")
        assert first != second and first.startswith(remote_name) and second.startswith(remote_name)
        assert await read(backend, first) == b"one" and await read(backend, second) == b"two!"
        await backend.delete(first)         # the GC of an overwritten version leaves the new one alone
        assert await read(backend, second) == b"two!" and await backend.size(first) is None
        return second
    key = run(cluster, config_doc, scenario)
    endpoint = moto.endpoint if name.startswith("moto") else coffer.endpoint
    bucket = "flat" if name == "moto-flat" else "remote"
    s3 = s3_client(endpoint)
    if name == "moto-flat":
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"two!"
    else:
        remote_key, _, version = key.partition("?versionId=")
        assert remote_key == remote_name
        assert s3.get_object(Bucket=bucket, Key=remote_key)["Body"].read() == b"two!"       # the latest
        assert s3.get_object(Bucket=bucket, Key=remote_key, VersionId=version)["Body"].read() == b"two!"


def test_dot_segments_survive_the_http_client(cluster, config_doc):
    async def scenario(router):
        backend = router.backend("coffer-match")
        key = await backend.put(b"dots", 4, "bk/a/../b/./c")
        assert key.startswith("m/a/..~/b/.~/c?versionId=")
        assert await read(backend, key) == b"dots"
        await backend.delete(key)
    run(cluster, config_doc, scenario)


def test_a_remote_without_versioning_is_refused_unless_configured(cluster, moto):
    doc = {"us-east-1": {"type": "file"}, "r": remote(moto.endpoint, "flat", True, "x/")}

    async def scenario(router):
        health = await router.backend("r").health()
        assert not health.ok and "versioning is not enabled" in health.detail
        with pytest.raises(InternalError, match="does not keep versions"):
            await router.backend("r").put(b"x", 1, "bk/k")
    run(cluster, doc, scenario)


@pytest.mark.parametrize("name", BACKENDS)
def test_a_100_mib_streamed_put_and_get_keep_memory_flat(cluster, config_doc, name):
    size = 100 * MIB
    chunk = os.urandom(MIB)
    expected = hashlib.md5()
    for _ in range(100):
        expected.update(chunk)

    async def scenario(router):
        backend = router.backend(name)
        for length in (size, None):
            with PeakRss() as put_rss:
                key = await backend.put(chunks(size, chunk), length, "bk/big")
            assert await backend.size(key) == size
            digest, total = hashlib.md5(), 0
            with PeakRss() as get_rss:
                stream = await backend.get(key)
                async for piece in stream:
                    digest.update(piece)
                    total += len(piece)
                await stream.aclose()
            assert total == size and digest.digest() == expected.digest()
            # Buffering the body would cost 100 MiB; streaming costs a few chunks (and one part when unknown).
            assert put_rss.growth < 40 * MIB, (length, put_rss.growth)
            assert get_rss.growth < 40 * MIB, get_rss.growth
            await backend.delete(key)
    run(cluster, config_doc, scenario)


# -- failures ----------------------------------------------------------------------------------

def failing_doc(port: int, **extra) -> dict:
    return {"us-east-1": {"type": "file"}, "r": remote(f"http://127.0.0.1:{port}", "remote", False, "", **extra)}


def test_a_remote_that_is_down_is_503_slowdown_and_unhealthy(cluster):
    async def scenario(router):
        backend = router.backend("r")
        for call in (backend.put(b"x", 1, "bk/k"), backend.get("k?versionId=1"), backend.size("k?versionId=1"),
                     backend.delete("k?versionId=1")):
            with pytest.raises(ServiceUnavailable) as err:
                await call
            assert err.value.code == "SlowDown" and err.value.status == 503
            assert "'r'" in err.value.detail and SECRET_KEY not in err.value.detail
        health = await backend.health()
        assert not health.ok and "not reachable" in health.detail
    run(cluster, failing_doc(free_port()), scenario)


def test_a_remote_that_never_answers_times_out(cluster):
    silent = SilentRemote()
    try:
        async def scenario(router):
            backend = router.backend("r")
            with pytest.raises(ServiceUnavailable, match="timed out"):
                await backend.put(b"x", 1, "bk/k")
            with pytest.raises(ServiceUnavailable):
                await backend.get("k?versionId=1")
            assert not (await backend.health()).ok
        run(cluster, failing_doc(silent.port, readTimeout=0.5, connectTimeout=0.5), scenario)
    finally:
        silent.stop()


@pytest.mark.parametrize("status, code, expected", [(503, "SlowDown", "SlowDown"), (500, "InternalError", None),
                                                    (403, "AccessDenied", None), (416, "InvalidRange", "InvalidRange"),
                                                    (400, "EntityTooLarge", "EntityTooLarge")])
def test_remote_errors_become_our_errors(cluster, caplog, status, code, expected):
    server = FailingRemote(status, code)
    try:
        async def scenario(router):
            backend = router.backend("r")
            for call in (backend.put(b"x", 1, "bk/k"), backend.get("k?versionId=1")):
                with pytest.raises((S3Error, InternalError)) as err:
                    await call
                if expected is None:
                    assert isinstance(err.value, InternalError) and code in err.value.message
                else:
                    assert isinstance(err.value, S3Error) and err.value.code == expected
                assert SECRET_KEY not in str(err.value)
        with caplog.at_level("WARNING", logger="coffer.data.s3"):
            run(cluster, failing_doc(server.port), scenario)
        records = [r for r in caplog.records if r.name == "coffer.data.s3"]
        assert records and all(r.location == "r" for r in records)
        assert all(SECRET_KEY not in r.getMessage() + str(r.__dict__) for r in records)
    finally:
        server.stop()


def test_wrong_credentials_are_an_internal_error_that_names_no_secret(cluster, coffer):
    doc = {"us-east-1": {"type": "file"}, "r": remote(coffer.endpoint, "remote", True, "w/")}
    doc["r"]["details"]["credentials"] = {"accessKey": ACCESS_KEY, "secretKey": "not-the-secret-key"}

    async def scenario(router):
        with pytest.raises(InternalError, match="403 SignatureDoesNotMatch") as err:
            await router.backend("r").put(b"x", 1, "bk/k")
        assert "not-the-secret-key" not in str(err.value)
        assert not (await router.backend("r").health()).ok
    run(cluster, doc, scenario)


def test_the_memory_store_is_apart_from_the_daemon_files(cluster, config_doc):
    async def scenario(router):
        mem, disk = router.backend("mem"), router.backend("us-east-1")
        in_memory = await mem.put(b"ram", 3)
        on_disk = await disk.put(b"disk", 4)
        assert await disk.size(in_memory) is None and await mem.size(on_disk) is None
        assert in_memory not in {f.key async for f in disk.list_files()}
        await disk.delete(in_memory)                # deleting it from the other store leaves it be
        assert await read(mem, in_memory) == b"ram"
        for backend, key in ((mem, in_memory), (disk, on_disk)):
            await backend.delete(key)
    run(cluster, config_doc, scenario)
