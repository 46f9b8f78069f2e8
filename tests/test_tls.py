"""HTTPS on the front-end and TLS on the daemons' ports, with real clients checking certificates."""
from __future__ import annotations

import asyncio
import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.exceptions
from botocore.config import Config as BotoConfig
import httpx
import orjson
import pytest

from shared.data_client import DataClient
from shared.errors import ServiceUnavailable
from shared.metadata_client import MetadataClient
from shared.tls import TlsFiles, self_signed
from tests.client_tools import aws_env, run
from tests.cluster import ACCESS_KEY, NOT_INLINE, REPO_ROOT, SECRET, SECRET_KEY, free_port, wait_port
from tests.serve import Serve

NAMES = ["localhost", "127.0.0.1"]
AWS = Path(sys.executable).parent / "aws"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> tuple[TlsFiles, TlsFiles]:
    """The test CA with a certificate for 127.0.0.1, and another CA nobody should trust."""
    root = tmp_path_factory.mktemp("pki")
    return self_signed(root / "good", NAMES), self_signed(root / "other", NAMES)


def https_client(url: str, ca: Path):
    """A boto3 client that checks the server's certificate against `ca`."""
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, verify=str(ca),
                        config=BotoConfig(retries={"max_attempts": 1, "mode": "standard"}))


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def tls_env(files: TlsFiles, **extra: str) -> dict[str, str]:
    return {"COFFER_TLS_CERT": str(files.cert), "COFFER_TLS_KEY": str(files.key), "COFFER_TLS_CA": str(files.ca),
            **extra}


def wait_https(url: str, ca: Path, timeout: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, verify=trusting(ca), timeout=1)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_boto3_over_https_beside_http(fresh_cluster, pki, tmp_path):
    good, _ = pki
    tls_port = free_port()
    c = fresh_cluster(env=tls_env(good, COFFER_TLS_PORT=str(tls_port)))
    wait_port(tls_port)
    secure = https_client(f"https://127.0.0.1:{tls_port}", good.ca)
    secure.create_bucket(Bucket="tls")
    secure.put_object(Bucket="tls", Key="k", Body=b"over TLS")
    assert secure.get_object(Bucket="tls", Key="k")["Body"].read() == b"over TLS"
    # The plain port is the same front-end: it sees what went in over TLS.
    assert c.client().get_object(Bucket="tls", Key="k")["Body"].read() == b"over TLS"
    # The aws CLI, told the CA bundle, lists it too.
    out = run([str(AWS), "s3", "ls", "s3://tls/", "--endpoint-url", f"https://127.0.0.1:{tls_port}",
               "--ca-bundle", str(good.ca)], aws_env(tmp_path / "home"))
    assert "8 k" in out


def test_a_wrong_ca_is_refused(fresh_cluster, pki):
    _, other = pki
    good, _ = pki
    tls_port = free_port()
    fresh_cluster(env=tls_env(good, COFFER_TLS_PORT=str(tls_port)))
    wait_port(tls_port)
    with pytest.raises(botocore.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        https_client(f"https://127.0.0.1:{tls_port}", other.ca).list_buckets()
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"https://127.0.0.1:{tls_port}/_/health")      # the system's roots do not know the test CA


def test_cert_file_paths_in_the_config_file_serve_https_alone(fresh_cluster, pki, tmp_path):
    good, _ = pki
    conf = tmp_path / "conf"
    conf.mkdir()
    for f in (good.cert, good.key):                 # relative paths are the config file's neighbours
        (conf / f.name).write_bytes(f.read_bytes())
    (conf / "config.json").write_bytes(orjson.dumps({"certFilePaths": {"cert": "cert.pem", "key": "key.pem"}}))
    c = fresh_cluster(start=False)
    c.start_metadata()
    c.start_data()
    c._spawn("s3-0", "s3server", {"COFFER_PORT": str(c.s3_ports[0]), "COFFER_CONFIG": str(conf / "config.json")})
    wait_port(c.s3_ports[0])
    url = f"https://127.0.0.1:{c.s3_ports[0]}"
    assert wait_https(url + "/_/health", good.ca).status_code in (200, 503)
    client = https_client(url, good.ca)
    client.create_bucket(Bucket="conf-tls")
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["conf-tls"]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{c.s3_ports[0]}/_/health", timeout=2)    # no plain HTTP on that port


def test_daemons_over_tls(fresh_cluster, pki):
    good, _ = pki
    # (The front-end has the certificate too: it serves HTTPS on a port of its own, HTTP on the usual one.)
    c = fresh_cluster(env=tls_env(good, METADATA_TLS="1", DATA_TLS="1", COFFER_TLS_PORT=str(free_port()),
                                  **NOT_INLINE))
    s3 = c.client()
    s3.create_bucket(Bucket="inner-tls")
    body = os.urandom(300_000)                      # a streamed data file, beside a small one
    s3.put_object(Bucket="inner-tls", Key="big", Body=body)
    s3.put_object(Bucket="inner-tls", Key="small", Body=b"tiny")
    assert s3.get_object(Bucket="inner-tls", Key="big")["Body"].read() == body
    assert s3.get_object(Bucket="inner-tls", Key="small")["Body"].read() == b"tiny"
    # The daemons' ports speak TLS only, with the configured certificate.
    assert httpx.get(f"https://127.0.0.1:{c.data_port}/_/healthcheck", verify=trusting(good.ca)).status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{c.data_port}/_/healthcheck", timeout=2)
    with trusting(good.ca).wrap_socket(
            socket.create_connection(("127.0.0.1", c.md_port)), server_hostname="127.0.0.1") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    # The maintenance commands dial the daemons the same way.
    fsck = subprocess.run([sys.executable, "-m", "services.cli", "fsck"], env=c.env, cwd=REPO_ROOT,
                          capture_output=True, timeout=60)
    assert fsck.returncode == 0, fsck.stderr.decode()
    assert orjson.loads(fsck.stdout)["pieces"] == 2


def test_the_daemons_clients_refuse_a_certificate_their_ca_does_not_vouch_for(fresh_cluster, pki):
    good, other = pki
    c = fresh_cluster(env=tls_env(good, METADATA_TLS="1", DATA_TLS="1", COFFER_TLS_PORT=str(free_port())),
                      start=False)
    c.start_metadata()
    c.start_data()

    async def dial(ca: Path) -> tuple[bool, str]:
        """Whether the front-end's clients, trusting `ca`, get in; and what the data client heard."""
        ctx = trusting(ca)
        metadata = MetadataClient("127.0.0.1", c.md_port, SECRET, tls=ctx)
        data = DataClient("127.0.0.1", c.data_port, SECRET, tls=ctx)
        connecting = asyncio.get_running_loop().create_task(metadata.start())
        try:
            ready = await metadata.wait_ready(3)
            try:
                heard = str(await data.size("0" * 40))
            except ServiceUnavailable as exc:
                heard = exc.detail
            return ready, heard
        finally:
            connecting.cancel()
            await metadata.close()
            await data.close()

    assert asyncio.run(dial(good.ca)) == (True, "None")        # the right CA: in (and no such file)
    ready, heard = asyncio.run(dial(other.ca))
    assert not ready
    assert "CERTIFICATE_VERIFY_FAILED" in heard


def test_tls_settings_that_cannot_work_stop_the_start(tmp_path, pki):
    good, _ = pki
    base = {**os.environ, "COFFER_CLUSTER_SECRET": "s", "COFFER_PORT": str(free_port()), "LISTEN_ADDR": "127.0.0.1"}
    cases = [({"COFFER_TLS_CERT": str(good.cert)}, "needs both a certificate and its key"),
             ({"COFFER_TLS_CERT": str(tmp_path / "none.pem"), "COFFER_TLS_KEY": str(good.key)},
              "cannot use the TLS certificate"),
             ({"DATA_TLS": "1", "DATA_PORT": str(free_port())}, "DATA_TLS needs a certificate and key")]
    for extra, message in cases:
        role = "dataserver" if "DATA_TLS" in extra else "s3server"
        env = {**base, "S3DATAPATH": str(tmp_path / "d"), **extra}
        proc = subprocess.run([sys.executable, "-m", "services.cli", role], env=env, cwd=REPO_ROOT,
                              capture_output=True, timeout=60)
        assert proc.returncode == 1 and message in proc.stderr.decode(), (extra, proc.stderr.decode()[-2000:])


def test_self_signed_certificates_are_kept_and_renewed_for_new_names(tmp_path):
    first = self_signed(tmp_path / "tls", NAMES)
    ca = first.ca.read_bytes()
    assert self_signed(tmp_path / "tls", NAMES).ca.read_bytes() == ca           # a restart: still trusted
    assert self_signed(tmp_path / "tls", NAMES + ["s3.example.test"]).ca.read_bytes() != ca
    assert stat.S_IMODE(first.key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700


@pytest.mark.needs_disk
def test_serve_tls_self_signed(tmp_path):
    tls_port = free_port()
    serve = Serve(tmp_path / "serve", args=("--tls-self-signed",), extra_env={"COFFER_TLS_PORT": str(tls_port)})
    try:
        serve.wait_healthy()
        tls_dir = serve.metadata_path / "tls"
        ca = tls_dir / "ca.pem"
        assert stat.S_IMODE((tls_dir / "key.pem").stat().st_mode) == 0o600
        assert stat.S_IMODE(tls_dir.stat().st_mode) == 0o700
        client = https_client(f"https://127.0.0.1:{tls_port}", ca)
        client.create_bucket(Bucket="selfsigned")
        assert serve.client().list_buckets()["Buckets"][0]["Name"] == "selfsigned"
        deadline = time.monotonic() + 10
        while "Coffer is ready." not in serve.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        logs = serve.logs()
        assert f"https://127.0.0.1:{tls_port}" in logs and f"--ca-bundle {ca}" in logs
    finally:
        assert serve.stop() == 0
