"""A Coffer whose data lives in many locations, each a real endpoint the tests start.

Locations: `us-east-1` (the cluster's data daemon), `mem` (its memory), `disk2` (a second data daemon,
its own process and directory), `moto-match`/`moto-prefix` (a moto server, bucketMatch true and false),
`coffer-match`/`coffer-prefix` (a second Coffer, bucketMatch true and false) and `silent` (a remote
that accepts connections and never answers). `disk2` serves REDUCED_REDUNDANCY, `coffer-prefix`
STANDARD_IA.
"""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from shared.data_daemon import DaemonBackend
from shared.location_routing import build_router
from shared.locations import parse_locations
from tests.cluster import ACCESS_KEY, NOT_INLINE, SECRET, SECRET_KEY, Cluster, free_port, s3_client, wait_port
from tests.remotes import MotoServer, SilentRemote

MOTO_SECRET = "moto-secret-never-logged"
HEALTHY = ["us-east-1", "mem", "disk2", "moto-match", "moto-prefix", "coffer-match", "coffer-prefix"]
REMOTE = {"moto-match": ("moto", "m/"), "moto-prefix": ("moto", "p/"),
          "coffer-match": ("coffer", "m/"), "coffer-prefix": ("coffer", "p/")}


def remote_location(endpoint: str, match: bool, prefix: str, creds: dict, **extra: Any) -> dict:
    return {"type": "aws_s3", "details": {"awsEndpoint": endpoint, "bucketName": "remote", "bucketMatch": match,
                                          "credentials": creds, "prefix": prefix, **extra}}


class LocationCluster:
    """The remotes and the cluster in front of them, started together and stopped together."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.moto = MotoServer(root / "moto")
        moto = s3_client(self.moto.endpoint)
        moto.create_bucket(Bucket="remote")
        moto.put_bucket_versioning(Bucket="remote", VersioningConfiguration={"Status": "Enabled"})
        # These tests look at where bytes land: no body is kept in its record (tests/test_inline.py).
        self.remote = Cluster(root / "remote-coffer", env=NOT_INLINE).start()
        self.remote.client().create_bucket(Bucket="remote")
        self.remote.client().put_bucket_versioning(Bucket="remote", VersioningConfiguration={"Status": "Enabled"})
        self.silent = SilentRemote()
        self.config_path = root / "locationConfig.json"
        self.cluster = Cluster(root / "main", env={"S3_LOCATION_FILE": str(self.config_path), **NOT_INLINE})
        self.disk2_port = free_port()
        self.doc = self._doc()
        self.config_path.write_text(json.dumps(self.doc))
        self.locations = parse_locations(json.dumps(self.doc))
        c = self.cluster
        c.start_metadata()
        c.start_data()
        c._spawn("data2", "dataserver", {"DATA_PORT": str(self.disk2_port), "S3DATAPATH": str(root / "data2")})
        wait_port(self.disk2_port)
        c.start_frontend()

    def _doc(self) -> dict:
        moto_creds = {"accessKey": "motoKey", "secretKey": MOTO_SECRET}
        coffer_creds = {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}
        return {
            "us-east-1": {"type": "file", "legacyAwsBehavior": True},
            "mem": {"type": "mem"},
            "disk2": {"type": "file", "storageClasses": ["REDUCED_REDUNDANCY"],
                      "details": {"host": "127.0.0.1", "port": self.disk2_port}},
            "moto-match": remote_location(self.moto.endpoint, True, "m/", moto_creds),
            "moto-prefix": remote_location(self.moto.endpoint, False, "p/", moto_creds),
            "coffer-match": remote_location(self.remote.endpoint, True, "m/", coffer_creds),
            "coffer-prefix": {**remote_location(self.remote.endpoint, False, "p/", coffer_creds),
                              "storageClasses": ["STANDARD_IA"]},
            "silent": remote_location(f"http://127.0.0.1:{self.silent.port}", True, "", moto_creds,
                                      connectTimeout=0.5, readTimeout=0.5),
        }

    def client(self, **config: Any):
        return self.cluster.client(**config)

    def stored(self, name: str) -> set[str]:
        """The keys location `name` holds now, asked of the location itself (not through Coffer)."""
        return self.stored_in([name])[name]

    def stored_in(self, names: list[str]) -> dict[str, set[str]]:
        """The keys each location holds now, all asked at once."""
        async def keys(router, name: str) -> set[str]:
            return {f.key async for f in router.backend(name).list_files()}

        async def scenario(router):
            found = await asyncio.gather(*(keys(router, n) for n in names))
            return dict(zip(names, found))
        return self.with_router(scenario)

    def with_router(self, scenario: Callable):
        """Run `scenario(router)` on a router over the same locations, as a front-end builds it."""
        config = SimpleNamespace(data_host="127.0.0.1", data_port=self.cluster.data_port, cluster_secret=SECRET)

        async def main():
            router = build_router(config, self.locations, DaemonBackend("127.0.0.1", self.cluster.data_port, SECRET))
            try:
                return await scenario(router)
            finally:
                await router.close()
        return asyncio.run(main())

    def stop(self) -> None:
        self.cluster.stop()
        self.remote.stop()
        self.moto.stop()
        self.silent.stop()


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Wait (boundedly) until `check()` is truthy; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


# The fixtures of the location tests (a module imports them: one LocationCluster per module).
@pytest.fixture(scope="module")
def lc(tmp_path_factory):
    c = LocationCluster(tmp_path_factory.mktemp("locations"))
    yield c
    c.stop()


@pytest.fixture(scope="module")
def s3(lc):
    return lc.client()
