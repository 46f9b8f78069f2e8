"""docker-compose.yml and the swarm stack validate against the Compose specification's JSON schema.

The schema is the one docker-compose 1.29.2 ships (compose/config/compose_spec.json); the test
downloads that wheel from PyPI once into a cache and reads the schema out of it.
"""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from shared.config import load_config
from tests.compose import REPO, load

CACHE = Path.home() / ".cache" / "coffer-tests"


@pytest.fixture(scope="module")
def compose_schema() -> dict:
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = list(CACHE.glob("docker_compose-1.29.2-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(CACHE),
                        "docker-compose==1.29.2"], check=True)
        wheels = list(CACHE.glob("docker_compose-1.29.2-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        return json.loads(wheel.read("compose/config/compose_spec.json"))


ENV = {"NFS_ADDR": "10.0.0.5", "NFS_DATA_PATH": "/exports/data", "NFS_METADATA_PATH": "/exports/metadata"}


@pytest.mark.parametrize("path", ["docker-compose.yml", "docker-compose.postgres.yml", "deploy/swarm/stack.yml"])
def test_compose_files_follow_the_spec(compose_schema, path):
    jsonschema.Draft7Validator(compose_schema).validate(load(REPO / path, ENV))


def test_daemons_are_not_published_and_secret_is_not_in_the_image():
    spec = load(REPO / "docker-compose.yml")
    published = {name for name, svc in spec["services"].items() if svc.get("ports")}
    assert published == {"lb"}
    assert "COFFER_CLUSTER_SECRET" not in (REPO / "Dockerfile").read_text()
    for name in ("metadata", "data", "s3"):
        env = spec["services"][name]["environment"]
        assert "COFFER_CLUSTER_SECRET" not in env and env["COFFER_CLUSTER_SECRET_FILE"].startswith("/run/secrets/")


def test_swarm_volumes_are_nfs_and_daemons_pinned():
    spec = load(REPO / "deploy/swarm/stack.yml", ENV)
    for volume in spec["volumes"].values():
        assert volume["driver_opts"]["type"] == "nfs" and "addr=10.0.0.5" in volume["driver_opts"]["o"]
    for name in ("metadata", "data"):
        deploy = spec["services"][name]["deploy"]
        assert deploy["replicas"] == 1 and deploy["placement"]["constraints"]


def test_the_postgres_compose_file_wires_two_metadata_daemons_to_one_database():
    """PostgreSQL, two metadata daemons on it, every front-end given both; only HAProxy published;
    the database password only in secret files."""
    spec = load(REPO / "docker-compose.postgres.yml")
    services = spec["services"]
    assert {name for name, svc in services.items() if svc.get("ports")} == {"lb"}
    daemons = sorted(name for name, svc in services.items() if svc.get("command") == ["mdserver"])
    assert daemons == ["metadata-1", "metadata-2"]
    hosts = services["s3"]["environment"]["METADATA_HOSTS"].split(",")
    assert hosts == [f"{name}:{services[name]['environment']['METADATA_PORT']}" for name in daemons]
    for name in daemons:
        env = services[name]["environment"]
        assert env["METADATA_ENGINE"] == "postgres" and "METADATA_DSN" not in env
        assert env["METADATA_DSN_FILE"] == "/run/secrets/coffer_metadata_dsn"
        assert "coffer_metadata_dsn" in services[name]["secrets"]
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/coffer_db_password"
    assert "POSTGRES_PASSWORD" not in services["postgres"]["environment"]
    for name, svc in services.items():
        assert not any("postgresql://" in str(v) for v in (svc.get("environment") or {}).values()), name
    secret_files = {s["file"] for s in spec["secrets"].values()}
    ignored = (REPO / ".gitignore").read_text().split()
    assert all(f.removeprefix("./") in ignored for f in secret_files)


def test_a_dsn_file_is_read_like_the_secret_file(tmp_path, monkeypatch):
    dsn = tmp_path / "dsn"
    dsn.write_text("postgresql://coffer:pw@postgres:5432/coffer\n")
    monkeypatch.delenv("METADATA_DSN", raising=False)
    monkeypatch.setenv("METADATA_ENGINE", "postgres")
    monkeypatch.setenv("METADATA_DSN_FILE", str(dsn))
    assert load_config().metadata_dsn == "postgresql://coffer:pw@postgres:5432/coffer"


def _health_url(service: dict) -> str:
    return next(a for a in service["healthcheck"]["test"] if "urlopen" in a)


def test_health_endpoints_in_compose_swarm_and_haproxy():
    from shared import constants as C
    compose, swarm = load(REPO / "docker-compose.yml"), load(REPO / "deploy/swarm/stack.yml", ENV)
    # compose waits for a ready front-end; swarm replaces a task on liveness alone (a metadata outage
    # must not kill every front-end), and HAProxy routes to the ready ones.
    assert f"8000{C.HEALTH_READY_PATH}'" in _health_url(compose["services"]["s3"])
    assert f"8000{C.HEALTH_LIVE_PATH}'" in _health_url(swarm["services"]["s3"])
    assert all("healthcheck" in swarm["services"][name] for name in ("metadata", "data", "s3"))
    assert f"option httpchk GET {C.HEALTH_READY_PATH}\n" in (REPO / "deploy/haproxy.cfg").read_text()
