"""Model test of versioning (design.md §5.5, §5.6): random operations on the REAL metadata daemon
(on each engine), checked after every step against a plain Python model of S3 versioning.

The model keeps, per key, the list of its versions newest first. Null-version rules: a PUT or DELETE
in a never-versioned or suspended bucket replaces the key's null version (wherever it sits) by a new one
on top; in an enabled bucket a new version goes on top and the null version stays where it is.
"""
from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from shared import constants as C
from shared.errors import S3Error
from shared.metadata_client import MetadataClient
from tests.cluster import SECRET

KEYS = ("a", "a/b", "ab")                 # "a/b" sorts right after the versions of "a"
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
PAGE = 2                                   # small pages: listings resume inside a key's versions
UNKNOWN_VID = "00000000000001000000RG001  "  # well-formed, never issued (it would be year 3170)


@dataclass
class Version:
    vid: str
    null: bool
    marker: bool
    tag: str


class Model:
    """S3 versioning as the documentation states it."""

    def __init__(self) -> None:
        self.state: str | None = None
        self.keys: dict[str, list[Version]] = {}

    def versions(self, key: str) -> list[Version]:
        return self.keys.setdefault(key, [])

    def _drop_null(self, key: str) -> None:
        self.keys[key] = [v for v in self.versions(key) if not v.null]

    def write(self, key: str, vid: str, marker: bool, tag: str) -> None:
        """A PUT (marker False) or a DELETE without version id (marker True)."""
        if self.state is None:
            self.keys[key] = [] if marker else [Version(vid, True, False, tag)]
            return
        null = self.state == "Suspended"
        if null:
            self._drop_null(key)
        self.versions(key).insert(0, Version(vid, null, marker, tag))

    def find(self, key: str, vid: str) -> Version | None:
        for v in self.versions(key):
            if (vid == "null" and v.null) or v.vid == vid:
                return v
        return None

    def delete_version(self, key: str, vid: str) -> Version | None:
        found = self.find(key, vid)
        if found is not None:
            self.versions(key).remove(found)
        return found

    def listing(self) -> list[tuple]:
        rows = []
        for key in sorted(self.keys):
            for i, v in enumerate(self.keys[key]):
                rows.append((key, "null" if v.null else v.vid, i == 0, v.marker, v.tag))
        return rows


class VersioningMachine(RuleBasedStateMachine):
    """Drives the daemon through MetadataClient; the loop and client live for the whole test."""

    loop: asyncio.AbstractEventLoop
    client: MetadataClient
    names = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.bucket = f"model-{next(self.names)}"
        self.tags = itertools.count()
        self.issued: list[str] = [UNKNOWN_VID]

    def _tag(self) -> str:
        """A unique content-md5: listings return only projected fields, and this one says which write it was.

        (Not last-modified: the daemon stamps that itself at commit.)"""
        return f"{next(self.tags):032x}"

    def call(self, coro):
        return self.loop.run_until_complete(coro)

    @initialize(seed=st.lists(st.sampled_from(KEYS), max_size=3),
                state=st.sampled_from([None, "Enabled", "Suspended"]))
    def create(self, seed: list[str], state: str | None) -> None:
        """A bucket, maybe with objects written before versioning was ever configured (null versions)."""
        self.call(self.client.call("createBucket", bucket=self.bucket, info={"owner": OWNER, "ownerDisplayName": "Bart"}))
        for key in seed:
            self.put(key)
        if state is not None:
            self.set_versioning(state)

    # -- bucket state ------------------------------------------------------------------
    @rule(status=st.sampled_from(["Enabled", "Suspended"]))
    def set_versioning(self, status: str) -> None:
        self.call(self.client.call("updateBucketAttributes", bucket=self.bucket, set={"versioning": status}))
        self.model.state = status

    # -- writes --------------------------------------------------------------------------
    @rule(key=st.sampled_from(KEYS))
    def put(self, key: str) -> None:
        tag = self._tag()
        md = {"content-length": 1, "content-md5": tag, "last-modified": "2026-01-01T00:00:00.000Z",
              "owner-id": OWNER, "location": None}
        result = self.call(self.client.call("putObject", bucket=self.bucket, key=key, md=md))
        assert result["isNull"] == (self.model.state != "Enabled")
        self.issued.append(result["versionId"])
        self.model.write(key, result["versionId"], False, tag)

    @rule(key=st.sampled_from(KEYS))
    def delete(self, key: str) -> None:
        tag = self._tag()
        marker = {"content-md5": tag, "last-modified": "2026-01-01T00:00:00.000Z", "owner-id": OWNER}
        result = self.call(self.client.call("deleteObject", bucket=self.bucket, key=key, marker=marker))
        assert result["deleteMarker"] == (self.model.state is not None)
        if result["deleteMarker"]:
            assert result["isNull"] == (self.model.state == "Suspended")
            self.issued.append(result["versionId"])
        self.model.write(key, result.get("versionId"), True, tag)

    @rule(key=st.sampled_from(KEYS), data=st.data())
    def delete_version(self, key: str, data) -> None:
        vid = data.draw(self._vid_choice(key), label="versionId")
        result = self.call(self.client.call("deleteObject", bucket=self.bucket, key=key, versionId=vid))
        removed = self.model.delete_version(key, vid)
        assert result["deleteMarker"] == bool(removed and removed.marker)

    # -- reads ---------------------------------------------------------------------------
    @rule(key=st.sampled_from(KEYS), data=st.data())
    def get_version(self, key: str, data) -> None:
        vid = data.draw(self._vid_choice(key), label="versionId")
        expected = self.model.find(key, vid)
        try:
            md = self.call(self.client.call("getObject", bucket=self.bucket, key=key, versionId=vid))
        except S3Error as exc:
            assert expected is None, f"{exc.code} for an existing version"
            assert exc.code == ("NoSuchKey" if vid == "null" else "NoSuchVersion")
            return
        assert expected is not None, "a version the model does not have"
        self._same(md, expected)

    def _vid_choice(self, key: str):
        """Mostly a live version of the key (the latest first), sometimes `null` or a gone or foreign one."""
        live = [v.vid for v in self.model.versions(key)]
        others = st.sampled_from(["null", *self.issued[-6:]])
        return st.one_of(st.just(live[0]), st.sampled_from(live), others) if live else others

    # -- checks after every step -----------------------------------------------------------
    @invariant()
    def latest_matches(self) -> None:
        for key in KEYS:
            versions = self.model.versions(key)
            try:
                md = self.call(self.client.call("getObject", bucket=self.bucket, key=key))
            except S3Error as exc:
                assert exc.code == "NoSuchKey" and not versions, f"{key}: {exc.code}, model {versions}"
                continue
            assert versions, f"{key}: the daemon has {md} where the model has nothing"
            self._same(md, versions[0])

    @invariant()
    def listing_matches(self) -> None:
        assert self._list_all() == self.model.listing()

    def _list_all(self) -> list[tuple]:
        rows: list[tuple] = []
        params: dict = {"maxKeys": PAGE}
        while True:
            page = self.call(self.client.call("listObjectVersions", bucket=self.bucket, query=params))
            assert len(page["Versions"]) <= PAGE and not page["CommonPrefixes"]
            for e in page["Versions"]:
                v = e["value"]
                vid = "null" if v.get("isNull") else (e["versionId"] or v["versionId"])
                rows.append((e["key"], vid, e["isLatest"], bool(v.get("isDeleteMarker")), v.get("content-md5")))
            if not page["IsTruncated"]:
                return rows
            params = {**params, "keyMarker": page["NextKeyMarker"]}
            if page.get("NextVersionIdMarker") is not None:
                params["versionIdMarker"] = page["NextVersionIdMarker"]
            else:
                params.pop("versionIdMarker", None)

    @staticmethod
    def _same(md: dict, expected: Version) -> None:
        assert md.get("content-md5") == expected.tag, (md, expected)
        assert bool(md.get("isDeleteMarker")) == expected.marker
        assert bool(md.get("isNull")) == expected.null
        assert md["versionId"] == expected.vid


@pytest.fixture(params=C.BACKENDS)
def metadata_client(fresh_cluster, request):
    """A metadata daemon on each engine (LevelDB, memory): the model must hold on both."""
    cluster = fresh_cluster(start=False, env={"COFFER_UNSAFE_NO_FSYNC": "1", "LOG_LEVEL": "WARNING",
                                              "S3BACKEND": request.param})
    cluster.start_metadata()
    loop = asyncio.new_event_loop()
    client = MetadataClient("127.0.0.1", cluster.md_port, SECRET)

    async def connect() -> None:
        await client.start()
        assert await client.wait_ready(20), "the metadata daemon never answered"

    loop.run_until_complete(connect())
    yield loop, client
    loop.run_until_complete(client.close())
    loop.close()


def test_versioning_matches_the_model(metadata_client):
    VersioningMachine.loop, VersioningMachine.client = metadata_client
    runner = VersioningMachine.TestCase
    runner.settings = settings(max_examples=100, stateful_step_count=30, deadline=None,
                               suppress_health_check=list(HealthCheck))
    runner().runTest()
