"""Fixtures: a shared cluster of real processes for most tests, a fresh one for destructive tests."""
from __future__ import annotations

import itertools
import os

import pytest

from shared import constants as C
from tests.cluster import BACKEND, Cluster
from tests.postgres import postgres  # noqa: F401 - the session's PostgreSQL server, for the tests that ask

_names = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    if BACKEND not in C.BACKENDS:
        raise pytest.UsageError(f"COFFER_TEST_BACKEND must be one of {', '.join(C.BACKENDS)}, not {BACKEND!r}")
    config.addinivalue_line("markers", "needs_disk: kills or restarts daemons, or looks at their files "
                                       "(skipped when COFFER_TEST_BACKEND=mem)")


def pytest_report_header(config: pytest.Config) -> str:
    return f"coffer test backend: {BACKEND} (COFFER_TEST_BACKEND)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In memory mode, what needs the disk cannot run: a restart forgets everything, and there are no files."""
    if BACKEND != "mem":
        return
    skip = pytest.mark.skip(reason="needs_disk: the daemons run in memory (COFFER_TEST_BACKEND=mem)")
    for item in items:
        if "needs_disk" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster")).start()
    yield c
    c.stop()


@pytest.fixture
def fresh_cluster(tmp_path):
    """A cluster of its own, for tests that kill processes or count commits."""
    clusters = []

    def make(frontends: int = 1, env: dict | None = None, start: bool = True, dsn: str | None = None,
             metadata_daemons: int = 1, failover: bool = False) -> Cluster:
        c = Cluster(tmp_path / f"c{len(clusters)}", frontends, env, dsn, metadata_daemons, failover)
        clusters.append(c)
        return c.start() if start else c

    yield make
    for c in clusters:
        c.stop()


@pytest.fixture(scope="session")
def s3(cluster):
    return cluster.client()


@pytest.fixture
def bucket(s3):
    name = f"test-{os.getpid()}-{next(_names)}"
    s3.create_bucket(Bucket=name)
    yield name
    _empty_and_delete(s3, name)


def _empty_and_delete(s3, name: str) -> None:
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=name):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
    except Exception:  # noqa: BLE001 - listing versions may not exist yet
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=obj["Key"])
    try:
        for up in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"])
    except Exception:  # noqa: BLE001
        pass
    s3.delete_bucket(Bucket=name)
