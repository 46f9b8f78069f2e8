"""The daemons' outside security review: no empty secret, private files, 503s that name no internals."""
from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest
import socketio
from botocore.exceptions import ClientError

from dmd.data.app import DataApp
from dmd.data.store import FileStore
from shared import constants as C
from shared.errors import UNAVAILABLE_MESSAGE
from shared.rpc import OrjsonShim
from shared.security import secret_matches
from tests.cluster import NOT_INLINE, REPO_ROOT, SECRET, Cluster
from tests.rpc_helpers import connect
from tests.serve import Serve

# -- refusing to start without a secret ----------------------------------------------------


def _start(role: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", role], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


def _env_without_secret(tmp_path: Path) -> dict[str, str]:
    env = Cluster(tmp_path / "c").env
    env.pop("COFFER_CLUSTER_SECRET", None)
    env.pop("COFFER_CLUSTER_SECRET_FILE", None)
    return env


@pytest.mark.parametrize("role", ["mdserver", "dataserver", "dmd", "s3server", "gc"])
@pytest.mark.parametrize("secret", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_refuses_to_start_without_a_secret(tmp_path, role, secret):
    env = _env_without_secret(tmp_path)
    if secret is not None:
        env["COFFER_CLUSTER_SECRET"] = secret
    out = _start(role, env)
    assert out.returncode != 0
    assert "COFFER_CLUSTER_SECRET" in out.stderr and "COFFER_CLUSTER_SECRET_FILE" in out.stderr, out.stderr
    assert "refusing to start without a cluster secret" in out.stderr
    for port in (env["METADATA_PORT"], env["DATA_PORT"]):
        with pytest.raises(OSError):            # it never listened
            socket.create_connection(("127.0.0.1", int(port)), timeout=0.5).close()
    assert not (tmp_path / "c" / "metadata").exists() and not (tmp_path / "c" / "data").exists()


def test_refuses_an_empty_secret_file(tmp_path):
    env = _env_without_secret(tmp_path)
    (tmp_path / "secret").write_text("\n")
    env["COFFER_CLUSTER_SECRET_FILE"] = str(tmp_path / "secret")
    out = _start("dmd", env)
    assert out.returncode != 0 and "COFFER_CLUSTER_SECRET_FILE" in out.stderr


# -- a daemon with a secret refuses the empty one ------------------------------------------


@pytest.mark.parametrize("auth", [{"secret": ""}, {}, {"secret": None}, {"secret": 0}, {"secret": [SECRET]}],
                         ids=["empty", "missing", "null", "number", "list"])
def test_metadata_daemon_refuses_an_empty_or_odd_secret(cluster, auth):
    async def run() -> None:
        sio = socketio.AsyncClient(reconnection=False, json=OrjsonShim)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(f"http://127.0.0.1:{cluster.md_port}", transports=["websocket"],
                              auth={**auth, "client": "test", "proto": C.RPC_PROTO},
                              namespaces=[C.RPC_NAMESPACE], wait_timeout=5)
        await sio.disconnect()

    asyncio.run(run())
    assert "refused an unauthenticated RPC client" in cluster.logs("metadata")


def _raw(port: int, line: bytes, auth: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """One request sent byte for byte (httpx refuses a header ending in a space): status and body."""
    request = (line + b"\r\nHost: data\r\nAuthorization: " + auth + b"\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


@pytest.mark.parametrize("header", [b"Bearer ", b"Bearer  ", b"Bearer", b"Bearer " + SECRET[:-1].encode()])
def test_data_daemon_refuses_an_empty_or_malformed_bearer(cluster, header):
    for line in (b"PUT /DataFile HTTP/1.1", b"GET /DataFile?diskUsage HTTP/1.1", b"GET /DataFile?list HTTP/1.1"):
        body = b"data" if line.startswith(b"PUT") else b""
        assert _raw(cluster.data_port, line, header, body)[0] == 403, (line, header)


def test_data_app_without_an_expected_secret_refuses_everyone(tmp_path):
    """Defence in depth: even a DataApp built with no secret (the service refuses to) accepts no one."""
    app = DataApp(FileStore(str(tmp_path / "data")), "")

    async def run() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://data") as client:
            return [(await client.put("/DataFile", content=b"x", headers={"Authorization": h})).status_code
                    for h in ("Bearer ", "Bearer x", "Bearer  ")]

    assert asyncio.run(run()) == [403, 403, 403]


@pytest.mark.parametrize("given,expected,ok", [
    ("", "", False), (b"", "", False), ("x", "", False), ("", "  ", False), ("  ", "  ", False),
    ("", "s3cret", False), (None, "s3cret", False), (0, "s3cret", False), ("s3cre", "s3cret", False),
    ("s3cret", "s3cret", True), (b"s3cret", "s3cret", True), ("s3cret ", "s3cret", False),
])
def test_secret_matches_refuses_an_empty_expected_secret(given, expected, ok):
    assert secret_matches(given, expected) is ok


def test_data_healthcheck_shows_sizes_only_to_the_cluster(cluster):
    for auth in (b"", b"Bearer ", b"Bearer", b"Bearer wrong"):
        status, body = _raw(cluster.data_port, b"GET /_/healthcheck HTTP/1.1", auth)
        assert status == 200 and orjson.loads(body) == {"status": "ok"}, auth
    assert httpx.get(f"http://127.0.0.1:{cluster.data_port}/_/healthcheck").json() == {"status": "ok"}
    status, body = _raw(cluster.data_port, b"GET /_/healthcheck HTTP/1.1", f"Bearer {SECRET}".encode())
    full = orjson.loads(body)
    assert status == 200 and full["status"] == "ok" and {"total", "free", "available"} <= set(full)
    assert full["total"] > 0


# -- files and directories are the daemon user's alone -------------------------------------


def _modes(root: Path) -> dict[str, list[str]]:
    """Paths under `root` (itself included) whose modes are not 0700 (directories) or 0600 (files)."""
    wrong: dict[str, list[str]] = {"dirs": [], "files": []}
    counted = {"dirs": 0, "files": 0}
    for dirpath, dirnames, filenames in os.walk(root):
        for name, kind, want in [(dirpath, "dirs", 0o700)] + [(os.path.join(dirpath, f), "files", 0o600)
                                                            for f in filenames]:
            counted[kind] += 1
            mode = stat.S_IMODE(os.lstat(name).st_mode)
            if mode != want:
                wrong[kind].append(f"{name} {oct(mode)}")
    assert counted["dirs"] > 0 and counted["files"] > 0, f"nothing to check under {root}"
    return wrong


def _fill(s3) -> None:
    s3.create_bucket(Bucket="modes")
    for i, size in enumerate([10, 4096, 64 * 1024, 200 * 1024]):     # the small-file batch and the large path
        s3.put_object(Bucket="modes", Key=f"k{i}", Body=os.urandom(size))
    up = s3.create_multipart_upload(Bucket="modes", Key="mpu")["UploadId"]
    etag = s3.upload_part(Bucket="modes", Key="mpu", UploadId=up, PartNumber=1, Body=b"p" * 1000)["ETag"]
    s3.complete_multipart_upload(Bucket="modes", Key="mpu", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    s3.delete_object(Bucket="modes", Key="k0")


def test_serve_creates_private_files(tmp_path):
    serve = Serve(tmp_path / "serve", extra_env=NOT_INLINE)     # its data files are checked too
    try:
        serve.wait_healthy()
        _fill(serve.client())
    finally:
        assert serve.stop() == 0            # LevelDB writes its files on close too: check them after
    secret_file = serve.metadata_path / "cluster-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(secret_file.read_text().strip()) == 64
    assert any((serve.metadata_path / "rootDB").glob("*.ldb")) or any((serve.metadata_path / "rootDB").glob("*.log"))
    assert sum(1 for _ in serve.data_path.glob("*/*")) >= 4
    assert _modes(serve.metadata_path) == {"dirs": [], "files": []}
    assert _modes(serve.data_path) == {"dirs": [], "files": []}


@pytest.mark.needs_disk
def test_standalone_daemons_create_private_files_and_tighten_open_directories(fresh_cluster):
    c = fresh_cluster(start=False)
    for name in ("data", "metadata"):           # as an older Coffer, or `mkdir`, left them
        (c.root / name).mkdir(mode=0o755)
        os.chmod(c.root / name, 0o755)
    c.start()
    _fill(c.client())
    c.stop()
    assert _modes(c.root / "metadata") == {"dirs": [], "files": []}
    assert _modes(c.root / "data") == {"dirs": [], "files": []}
    assert "tightened a directory other users could read" in c.logs("data")
    assert "tightened a directory other users could read" in c.logs("metadata")


# -- 503 answers say "retry", the log says why ---------------------------------------------


def _log_lines(c: Cluster, name: str) -> list[dict]:
    out = []
    for line in c.logs(name).splitlines():
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pass
    return out


def _unavailable(call) -> ClientError:
    with pytest.raises(ClientError) as err:
        call()
    return err.value


def _check_503(err: ClientError, forbidden: list[str]) -> str:
    """A 503 SlowDown whose message names nothing internal; returns its request id."""
    meta = err.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 503
    assert meta["HTTPHeaders"].get("retry-after") == "1"
    if err.operation_name != "HeadObject":          # a HEAD answer has no body to read a code from
        assert err.response["Error"]["Code"] == "SlowDown"
        message = err.response["Error"]["Message"]
        assert message == UNAVAILABLE_MESSAGE
        assert not [word for word in forbidden if word.lower() in message.lower()], message
    return meta["HTTPHeaders"]["x-amz-request-id"]


def test_503_messages_name_no_internal_call(fresh_cluster):
    c = fresh_cluster(env=NOT_INLINE)       # every PUT needs the data daemon that goes down
    s3 = c.client()
    s3.create_bucket(Bucket="down")
    s3.put_object(Bucket="down", Key="k", Body=b"here")
    upload = s3.create_multipart_upload(Bucket="down", Key="mpu")["UploadId"]

    async def methods() -> list[str]:
        client = await connect(c)
        try:
            return list((await client.get_manifest()).methods)
        finally:
            await client.close()
    forbidden = asyncio.run(methods()) + ["metadata", "daemon", "timed out", "RPC", str(c.md_port),
                                          str(c.data_port), "127.0.0.1"]
    assert "listParts" in forbidden

    c.kill("data")
    data_rid = _check_503(_unavailable(lambda: s3.put_object(Bucket="down", Key="new", Body=b"x" * 100)), forbidden)
    c.kill("metadata")
    calls = [lambda: s3.get_object(Bucket="down", Key="k"), lambda: s3.head_object(Bucket="down", Key="k"),
             lambda: s3.list_objects_v2(Bucket="down"),
             lambda: s3.list_parts(Bucket="down", Key="mpu", UploadId=upload),
             lambda: s3.put_object(Bucket="down", Key="k2", Body=b""),
             lambda: s3.delete_objects(Bucket="down", Delete={"Objects": [{"Key": "k"}]})]
    with ThreadPoolExecutor(len(calls)) as pool:        # each waits for the daemon a few seconds
        errors = list(pool.map(_unavailable, calls))
    metadata_rids = [_check_503(err, forbidden) for err in errors]

    # The front-end's log keeps what the client is not told, under the same request id.
    details = {line.get("req"): line.get("error", "") for line in _log_lines(c, "s3-0")
               if line.get("msg") == "service unavailable"}
    assert "data daemon" in details[data_rid]
    for rid in metadata_rids:
        assert "metadata" in details[rid], (rid, details)
