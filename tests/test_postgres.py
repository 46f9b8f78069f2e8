"""The metadata on PostgreSQL: a real cluster through boto3, and two metadata daemons over one database.

The server is the session's (tests/postgres.py, skipped when Debian's `postgresql` is not installed);
each test gets an empty database of its own.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from dmd.metadata.engine import open_engine
from dmd.metadata.sessions import lock_id
from dmd.metadata.versionids import VersionIdGenerator, parse
from shared.errors import InternalError
from tests.cluster import REPO_ROOT, SECRET, Cluster, free_port

pytestmark = pytest.mark.needs_disk     # PostgreSQL is not the memory backend
MB = 2**20


@pytest.fixture
def pg_cluster(fresh_cluster, postgres):
    """One metadata daemon on PostgreSQL, one data daemon, one front-end."""
    return fresh_cluster(dsn=postgres.database())


@pytest.fixture
def two_daemons(fresh_cluster, postgres) -> Cluster:
    """Two metadata daemons on one database, front-end 0 on the first, front-end 1 on the second."""
    return fresh_cluster(frontends=2, dsn=postgres.database(), metadata_daemons=2)


def test_objects_versions_listings_and_multipart_on_postgres(pg_cluster: Cluster) -> None:
    s3 = pg_cluster.client()
    s3.create_bucket(Bucket="pgb")
    for i in range(30):
        s3.put_object(Bucket="pgb", Key=f"dir{i % 3}/k{i:02d}", Body=f"body {i}".encode())
    assert s3.get_object(Bucket="pgb", Key="dir1/k04")["Body"].read() == b"body 4"
    listed = s3.list_objects_v2(Bucket="pgb", Prefix="dir2/", MaxKeys=4)
    assert [o["Key"] for o in listed["Contents"]] == ["dir2/k02", "dir2/k05", "dir2/k08", "dir2/k11"]
    assert listed["IsTruncated"]
    delimited = s3.list_objects_v2(Bucket="pgb", Delimiter="/")
    assert [p["Prefix"] for p in delimited["CommonPrefixes"]] == ["dir0/", "dir1/", "dir2/"]

    s3.put_bucket_versioning(Bucket="pgb", VersioningConfiguration={"Status": "Enabled"})
    vids = [s3.put_object(Bucket="pgb", Key="v", Body=f"v{i}".encode())["VersionId"] for i in range(3)]
    marker = s3.delete_object(Bucket="pgb", Key="v")
    versions = s3.list_object_versions(Bucket="pgb", Prefix="v")
    assert [v["VersionId"] for v in versions["Versions"]] == vids[::-1]
    assert [m["VersionId"] for m in versions["DeleteMarkers"]] == [marker["VersionId"]]
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket="pgb", Key="v")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    assert s3.get_object(Bucket="pgb", Key="v", VersionId=vids[1])["Body"].read() == b"v1"

    upload = s3.create_multipart_upload(Bucket="pgb", Key="mp")["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket="pgb", Key="mp", UploadId=upload, PartNumber=n,
                                                    Body=bytes([n]) * (5 * MB if n == 1 else 10))["ETag"]}
             for n in (1, 2)]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="pgb")["Uploads"]] == [upload]
    s3.complete_multipart_upload(Bucket="pgb", Key="mp", UploadId=upload, MultipartUpload={"Parts": parts})
    body = s3.get_object(Bucket="pgb", Key="mp")["Body"].read()
    assert body == b"\x01" * (5 * MB) + b"\x02" * 10
    assert s3.list_multipart_uploads(Bucket="pgb").get("Uploads", []) == []


def test_metadata_survives_a_daemon_restart_on_postgres(pg_cluster: Cluster) -> None:
    """The store is the database: a restarted daemon (same db_uuid) serves what was written."""
    s3 = pg_cluster.client(retries={"max_attempts": 8, "mode": "standard"})
    s3.create_bucket(Bucket="keep")
    s3.put_object(Bucket="keep", Key="k", Body=b"kept")
    pg_cluster.kill("metadata")
    pg_cluster.start_metadata()
    assert s3.get_object(Bucket="keep", Key="k")["Body"].read() == b"kept"


def test_racing_versioned_puts_through_two_daemons(two_daemons: Cluster) -> None:
    """8 writers on one key through two daemons: every version kept, ids distinct, each writer's in
    order, the listing newest first, and GET reads the newest."""
    clients = [two_daemons.client(i=i) for i in (0, 1)]
    clients[0].create_bucket(Bucket="race")
    clients[0].put_bucket_versioning(Bucket="race", VersioningConfiguration={"Status": "Enabled"})

    def writer(w: int) -> list[str]:
        s3 = two_daemons.client(i=w % 2)
        return [s3.put_object(Bucket="race", Key="hot", Body=f"{w}:{j}".encode())["VersionId"] for j in range(15)]

    with ThreadPoolExecutor(8) as pool:
        written = list(pool.map(writer, range(8)))
    every = [vid for ids in written for vid in ids]
    assert len(set(every)) == len(every) == 120
    listed = []
    for page in clients[1].get_paginator("list_object_versions").paginate(Bucket="race"):
        listed += [v["VersionId"] for v in page.get("Versions", [])]
    assert sorted(listed) == sorted(every)                  # no lost update
    position = {vid: i for i, vid in enumerate(listed)}     # the listing: newest first
    for ids in written:                                     # a writer's later PUT is a newer version
        assert [position[v] for v in ids] == sorted((position[v] for v in ids), reverse=True)
    for s3 in clients:
        latest = s3.get_object(Bucket="race", Key="hot")
        assert latest["VersionId"] == listed[0]
    assert clients[0].head_object(Bucket="race", Key="hot")["VersionId"] == listed[0]


def test_bucket_creation_race_has_one_winner(two_daemons: Cluster) -> None:
    barrier = threading.Barrier(8)

    def create(i: int) -> str:
        s3 = two_daemons.client(i=i % 2)
        barrier.wait()
        try:
            s3.create_bucket(Bucket="contested")
            return "created"
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, range(8)))
    # One account everywhere: the losers own the bucket already (us-east-1 answers them 200 as well).
    assert outcomes.count("created") + outcomes.count("BucketAlreadyOwnedByYou") == 8
    assert [b["Name"] for b in two_daemons.client(i=1).list_buckets()["Buckets"]] == ["contested"]


def test_racing_multipart_completions_make_one_version(two_daemons: Cluster) -> None:
    s3a, s3b = two_daemons.client(i=0), two_daemons.client(i=1)
    s3a.create_bucket(Bucket="mpu")
    s3a.put_bucket_versioning(Bucket="mpu", VersioningConfiguration={"Status": "Enabled"})
    upload = s3a.create_multipart_upload(Bucket="mpu", Key="obj")["UploadId"]
    etag = s3b.upload_part(Bucket="mpu", Key="obj", UploadId=upload, PartNumber=1, Body=b"only part")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    barrier = threading.Barrier(6)

    def complete(i: int) -> str:
        s3 = two_daemons.client(i=i % 2)
        barrier.wait()
        try:
            return s3.complete_multipart_upload(Bucket="mpu", Key="obj", UploadId=upload,
                                                MultipartUpload=parts)["VersionId"]
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(complete, range(6)))
    versions = s3b.list_object_versions(Bucket="mpu")["Versions"]
    assert len(versions) == 1                               # decided once
    # Every completion that answered 200 names that one version (a retry answers as the first did).
    assert {o for o in outcomes if o != "NoSuchUpload"} == {versions[0]["VersionId"]}
    assert s3a.get_object(Bucket="mpu", Key="obj")["Body"].read() == b"only part"


def test_read_after_write_across_daemons(two_daemons: Cluster) -> None:
    writer, reader = two_daemons.client(i=0), two_daemons.client(i=1)
    writer.create_bucket(Bucket="raw")
    for i in range(100):
        writer.put_object(Bucket="raw", Key="k", Body=f"value {i}".encode())
        assert reader.get_object(Bucket="raw", Key="k")["Body"].read() == f"value {i}".encode()
        reader.delete_object(Bucket="raw", Key=f"gone-{i}")
    assert reader.list_objects_v2(Bucket="raw")["KeyCount"] == 1


def _mdserver(env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {**os.environ, "COFFER_CLUSTER_SECRET": SECRET, "METADATA_PORT": str(free_port()), **env}
    return subprocess.run([sys.executable, "-m", "services.cli", "mdserver"], env=full, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_bad_engine_settings_are_refused_with_a_clear_message() -> None:
    missing = _mdserver({"METADATA_ENGINE": "postgres", "METADATA_DSN": ""})
    assert missing.returncode != 0 and "METADATA_DSN=postgresql://" in missing.stderr
    unknown = _mdserver({"METADATA_ENGINE": "oracle"})
    assert unknown.returncode != 0 and "METADATA_ENGINE must be one of leveldb, postgres" in unknown.stderr


def test_an_unreachable_database_stops_the_daemon_saying_so(postgres) -> None:
    dsn = f"postgresql://coffer@127.0.0.1:{free_port()}/nothing"
    done = _mdserver({"METADATA_ENGINE": "postgres", "METADATA_DSN": dsn})
    assert done.returncode != 0 and "cannot connect to PostgreSQL" in done.stderr


def test_a_postgres_restart_gives_503s_then_service_resumes(pg_cluster: Cluster, postgres) -> None:
    """While the database is down writes get 503 SlowDown; after it is back the daemon serves again by
    itself (stale pooled connections are replaced), and what was acknowledged before is there."""
    s3 = pg_cluster.client()
    s3.create_bucket(Bucket="bounce")
    s3.put_object(Bucket="bounce", Key="before", Body=b"acknowledged")
    postgres.stop()
    try:
        with pytest.raises(ClientError) as err:
            s3.put_object(Bucket="bounce", Key="during", Body=b"x")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert err.value.response["Error"]["Code"] == "SlowDown"
    finally:
        postgres.start_again()
    patient = pg_cluster.client(retries={"max_attempts": 10, "mode": "standard"})
    patient.put_object(Bucket="bounce", Key="after", Body=b"y")
    assert patient.get_object(Bucket="bounce", Key="before")["Body"].read() == b"acknowledged"
    assert patient.get_object(Bucket="bounce", Key="after")["Body"].read() == b"y"


def test_migrate_copies_a_leveldb_store_to_postgres_and_verifies_it(fresh_cluster, postgres) -> None:
    """A store written on LevelDB (objects, versions, an open upload) serves the same after
    `coffer migrate` on PostgreSQL, over the same data directory; a second run is refused."""
    old = fresh_cluster()
    s3 = old.client()
    s3.create_bucket(Bucket="moved")
    s3.put_bucket_versioning(Bucket="moved", VersioningConfiguration={"Status": "Enabled"})
    vids = [s3.put_object(Bucket="moved", Key=f"k{i % 3}", Body=f"v{i}".encode())["VersionId"] for i in range(6)]
    upload = s3.create_multipart_upload(Bucket="moved", Key="open")["UploadId"]
    old.stop()

    def migrate(dsn: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "services.cli", "migrate", "--from",
                               f"leveldb:{old.root / 'metadata'}", "--to", f"postgres:{dsn}"],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)

    dsn = postgres.database()
    done = migrate(dsn)
    assert done.returncode == 0, done.stderr
    assert "verified:" in done.stderr and "copied" in done.stderr
    again = migrate(dsn)
    assert again.returncode == 1 and "already holds" in again.stderr

    new = fresh_cluster(dsn=dsn, env={"S3DATAPATH": str(old.root / "data")})
    s3 = new.client()
    versions = s3.list_object_versions(Bucket="moved")["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted(vids)
    assert s3.get_object(Bucket="moved", Key="k2")["Body"].read() == b"v5"
    assert s3.get_object(Bucket="moved", Key="k0", VersionId=vids[0])["Body"].read() == b"v0"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="moved")["Uploads"]] == [upload]
    # New versions written on PostgreSQL are newer than the migrated ones.
    newest = s3.put_object(Bucket="moved", Key="k0", Body=b"after")["VersionId"]
    assert s3.list_object_versions(Bucket="moved", Prefix="k0")["Versions"][0]["VersionId"] == newest


def test_a_bucket_change_reaches_the_other_daemons_front_ends(two_daemons: Cluster) -> None:
    """Front-end 1 cached the bucket's attributes through daemon 2; a change made through daemon 1
    reaches it by LISTEN/NOTIFY (bounded wait: it comes just after the acknowledgement)."""
    s3a, s3b = two_daemons.client(i=0), two_daemons.client(i=1)
    s3a.create_bucket(Bucket="cached")
    assert "Status" not in s3b.get_bucket_versioning(Bucket="cached")
    s3b.put_object(Bucket="cached", Key="k", Body=b"warm")        # the attributes are now cached there
    s3a.put_bucket_versioning(Bucket="cached", VersioningConfiguration={"Status": "Enabled"})
    deadline = time.monotonic() + 10
    while s3b.get_bucket_versioning(Bucket="cached").get("Status") != "Enabled":
        assert time.monotonic() < deadline, "front-end 1 never saw the versioning change"
        time.sleep(0.05)
    assert s3b.put_object(Bucket="cached", Key="k", Body=b"v")["VersionId"] != "null"


def test_a_lock_wait_ends_at_the_deadline_with_request_timeout(postgres) -> None:
    """A daemon waiting for another's lock gives up at its call's deadline (RequestTimeout), then
    gets the lock once the holder's transaction ends."""
    engine = open_engine("file", "", engine="postgres", dsn=postgres.database(), pool_size=2)
    holder, waiter = engine.lock_session(), engine.lock_session()
    try:
        holder.lock(lock_id("key", ("b", "k")), True, None)
        with pytest.raises(InternalError) as err:
            waiter.lock(lock_id("key", ("b", "k")), True, 50)
        assert err.value.code == "RequestTimeout"
        holder.close()
        waiter.close()
        again = engine.lock_session()
        again.lock(lock_id("key", ("b", "k")), True, 1000)
        again.commit([(b"k", b"v")], sync=True)
        again.close()
        assert engine.get(b"k") == b"v"
    finally:
        engine.close()


def test_version_ids_of_two_daemons_never_meet_and_follow_the_key() -> None:
    """Slots keep two daemons' ids apart; `after` makes an id newer than one a faster clock made."""
    first, second = VersionIdGenerator("RG001", slot=1, stride=1000), VersionIdGenerator("RG001", slot=2, stride=1000)
    made, latest = set(), None
    for i in range(3000):
        vid = (first if i % 3 else second).next(latest)
        assert vid not in made and (latest is None or vid < latest)     # newer sorts first
        made.add(vid)
        latest = vid
    ms, seq = parse(latest)
    ahead = f"{99_999_999_999_999 - (ms + 60_000):014d}{999_999 - 7:06d}RG001  "    # a clock a minute ahead
    assert parse(ahead) == (ms + 60_000, 7)
    assert second.next(ahead) < ahead
