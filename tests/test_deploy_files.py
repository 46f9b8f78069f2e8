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


@pytest.mark.parametrize("path", ["docker-compose.yml", "deploy/swarm/stack.yml"])
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
