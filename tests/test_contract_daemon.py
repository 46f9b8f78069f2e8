"""The contract against a real metadata daemon: the typed client's records, the new calls, the streams."""
from __future__ import annotations

import asyncio
import time

import pytest

from shared.contract.listings import ObjectsQuery, PartInfo, Party, UploadInfo, UploadsQuery, VersionsQuery
from shared.contract.metadata import BucketInfo, WriteResult
from shared.contract.records import ObjectMD, Piece
from shared.errors import InternalError
from tests.rpc_helpers import connect, metadata_only

OWNER = "c" * 64


@pytest.fixture(scope="module")
def md(tmp_path_factory):
    c = metadata_only(tmp_path_factory.mktemp("contract"))
    yield c
    c.stop()


def test_objects_listings_and_uploads_come_back_as_records(md):
    async def run() -> None:
        client = await connect(md)
        await client.create_bucket("recs", BucketInfo("recs", OWNER, "Bart"))
        info = await client.get_bucket("recs")
        assert (info.name, info.owner, info.owner_name, info.versioning) == ("recs", OWNER, "Bart", None)
        await client.update_bucket("recs", set={"versioning": "Enabled"})
        assert (await client.get_bucket("recs")).versioning == "Enabled"      # the cache was told to forget
        piece = Piece("us-east-1", "d" * 40, 3)
        result = await client.put_object("recs", "a/k", ObjectMD(size=3, etag="e" * 32, owner_id=OWNER,
                                                                  pieces=(piece,), user_metadata={"x-amz-meta-c": "1"}))
        assert isinstance(result, WriteResult) and not result.is_null and result.versioning == "Enabled"
        stored = await client.get_object("recs", "a/k")
        assert (stored.size, stored.pieces, stored.user_metadata, stored.version_id) == \
            (3, (piece,), {"x-amz-meta-c": "1"}, result.version_id)
        page = await client.list_objects("recs", ObjectsQuery(delimiter="/"))
        assert page.rows == [] and page.common_prefixes == ["a/"]
        page = await client.list_objects("recs", ObjectsQuery(prefix="a/"))
        assert [(r.key, r.size, r.etag, r.owner_id) for r in page.rows] == [("a/k", 3, "e" * 32, OWNER)]
        versions = await client.list_object_versions("recs", VersionsQuery())
        assert [(v.key, v.version_id, v.is_latest) for v in versions.versions] == [("a/k", result.version_id, True)]
        upload_id = await client.initiate_multipart_upload("recs", "mp", UploadInfo(Party(OWNER, "Bart"),
                                                                                   Party(OWNER, "Bart")))
        await client.put_part("recs", "mp", upload_id, 1, PartInfo("a" * 32, 5, (Piece("us-east-1", "p" * 40, 5),)))
        uploads = await client.list_multipart_uploads("recs", UploadsQuery())
        assert [(u.key, u.upload_id, u.initiator.id) for u in uploads.uploads] == [("mp", upload_id, OWNER)]
        parts = await client.list_parts("recs", upload_id, key="mp")
        assert [(p.number, p.size) for p in parts.parts] == [(1, 5)] and parts.upload.owner.display_name == "Bart"
        await client.close()

    asyncio.run(run())


def test_cold_configurations_are_kept_apart_and_named_in_the_record(md):
    async def run() -> None:
        client = await connect(md)
        await client.create_bucket("cold", BucketInfo("cold", OWNER))
        assert await client.get_bucket_config("cold", "tagging") is None
        await client.put_bucket_config("cold", "tagging", {"team": "blue"})
        assert (await client.get_bucket("cold")).configs == frozenset({"tagging"})
        assert await client.get_bucket_config("cold", "tagging") == {"team": "blue"}
        assert "team" not in str((await client.get_bucket("cold")).to_wire())     # not in the hot record
        await client.put_bucket_config("cold", "tagging", None)
        assert (await client.get_bucket("cold")).configs == frozenset()
        assert await client.get_bucket_config("cold", "tagging") is None
        await client.close()

    asyncio.run(run())


def test_garbage_and_references_stream_through_the_contract(md):
    async def run() -> None:
        client = await connect(md)
        await client.create_bucket("gcb", BucketInfo("gcb", OWNER))
        first, second = Piece("us-east-1", "1" * 40, 2), Piece("us-east-1", "2" * 40, 2)
        await client.put_object("gcb", "k", ObjectMD(size=2, etag="e" * 32, pieces=(first,)))
        replaced = await client.put_object("gcb", "k", ObjectMD(size=2, etag="f" * 32, pieces=(second,)))
        assert [g.pieces for g in replaced.garbage] == [(first,)]
        now_ms = int(time.time() * 1000) + 1000
        due = [g async for g in client.due_garbage(now_ms)]
        assert [g.pieces for g in due] == [(first,)] and due[0].gc_key == replaced.garbage[0].gc_key
        assert [g async for g in client.due_garbage(now_ms - 60_000)] == []       # recorded after that
        refs = [r async for r in client.referenced_pieces() if r.bucket == "gcb"]
        assert {(r.piece, r.pending_delete) for r in refs} == {(second, False), (first, True)}
        await client.gc_done([g.gc_key for g in due])
        assert [g async for g in client.due_garbage(now_ms)] == []
        await client.close()

    asyncio.run(run())


def test_a_stream_call_without_its_stream_id_is_refused(md):
    async def run() -> None:
        client = await connect(md)
        with pytest.raises(InternalError) as err:
            await client.call("dueGarbage", beforeMs=0)
        assert err.value.code == "InvalidArgument" and "streamId" in err.value.message
        await client.close()

    asyncio.run(run())


def test_an_object_written_by_the_format_1_code_still_reads(cluster, s3, bucket):
    """A multipart object whose pieces name their part in "dataStoreETag" ("N:etag", OBJECT_FORMAT 1)."""
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    old = {"key": "old-mp", "content-length": 10, "content-md5": "a" * 32 + "-2",
           "last-modified": "2026-11-01T10:00:00.000Z", "owner-id": owner, "owner-display-name": "Bart",
           "x-amz-storage-class": "STANDARD", "md-model-version": 1, "isNull": True,
           "location": [{"dataStoreName": "us-east-1", "key": "1" * 40, "size": 6, "start": 0,
                         "dataStoreETag": "1:" + "b" * 32},
                        {"dataStoreName": "us-east-1", "key": "2" * 40, "size": 4, "start": 6,
                         "dataStoreETag": "2:" + "c" * 32}]}

    async def store() -> None:
        client = await connect(cluster)
        await client.call("put", db=bucket, key="old-mp", value=old)
        await client.close()
    asyncio.run(store())
    head = s3.head_object(Bucket=bucket, Key="old-mp", PartNumber=2)
    assert (head["ContentRange"], head["ContentLength"], head["PartsCount"]) == ("bytes 6-9/10", 4, 2)
    attrs = s3.get_object_attributes(Bucket=bucket, Key="old-mp", ObjectAttributes=["ObjectParts"])
    assert [(p["PartNumber"], p["Size"]) for p in attrs["ObjectParts"]["Parts"]] == [(1, 6), (2, 4)]
    s3.delete_object(Bucket=bucket, Key="old-mp")
