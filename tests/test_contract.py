"""The typed contracts: every RPC call declared once, records that survive the wire both ways."""
from __future__ import annotations

import pytest

from shared.contract.metadata import MetadataAPI
from shared.contract.records import ObjectMD, Piece
from shared.contract.rpc import BadCall, ServerTable, calls_of


def test_every_call_has_a_unique_camel_case_wire_name():
    calls = calls_of(MetadataAPI)
    wires = [c.wire for c in calls.values()]
    assert len(wires) == len(set(wires)) and len(wires) == len(calls)
    assert all(w[0].islower() and "_" not in w for w in wires)
    assert calls["get_bucket"].wire == "getBucketAttributes"


def test_a_piece_reads_the_old_part_field_and_writes_the_new_ones():
    old = {"dataStoreName": "us-east-1", "key": "k1", "size": 5, "start": 10, "dataStoreETag": "3:abc"}
    piece = Piece.from_wire(old)
    assert (piece.part_number, piece.part_etag, piece.end) == (3, "abc", 14)
    assert piece.to_wire() == {"dataStoreName": "us-east-1", "key": "k1", "size": 5, "start": 10,
                               "partNumber": 3, "partETag": "abc"}
    assert Piece.from_wire(piece.to_wire()) == piece


def test_an_object_record_round_trips():
    doc = {"key": "a/b", "content-length": 3, "content-md5": "d41d8cd98f00b204e9800998ecf8427e",
           "last-modified": "2026-12-02T10:00:00.000Z", "owner-id": "c" * 64, "content-type": "text/plain",
           "x-amz-meta-colour": "blue", "location": [{"dataStoreName": "us-east-1", "key": "k", "size": 3,
                                                     "start": 0}]}
    md = ObjectMD.from_wire(doc)
    again = ObjectMD.from_wire(md.to_wire())
    assert again == md and md.to_wire()["x-amz-meta-colour"] == "blue"


def test_the_server_table_refuses_calls_the_contract_does_not_declare():
    calls = calls_of(MetadataAPI)
    table = ServerTable(calls, {name: (lambda **kw: None) for name in calls})
    with pytest.raises(BadCall, match="unknown method"):
        table.arguments("dropEverything", {})
    with pytest.raises(BadCall, match="missing"):
        table.arguments("getObject", {"bucket": "b"})
    with pytest.raises(BadCall, match="not of the declared type"):
        table.arguments("getObject", {"bucket": "b", "key": 7})
    with pytest.raises(TypeError, match="missing"):
        ServerTable(calls, {})


# -- the daemon implements the whole contract ----------------------------------------------------
def test_every_call_has_a_daemon_implementation_taking_its_parameters():
    import inspect

    from dmd.metadata.service import IMPLEMENTATIONS, RAW_IMPLEMENTATIONS, MetadataService
    from shared.contract.raw import RawAPI

    for calls, impls in ((calls_of(MetadataAPI), IMPLEMENTATIONS), (calls_of(RawAPI), RAW_IMPLEMENTATIONS)):
        for name, call in calls.items():
            impl = impls.get(name)
            if impl is None:
                assert name in ("get_manifest", "get_stats"), f"{name} has no implementation"
                impl = getattr(MetadataService, name)
            params = [p for p in inspect.signature(impl).parameters if p not in ("self", "ctx")]
            assert params == [p.name for p in call.params], (name, params)


def test_the_server_table_fills_defaults_and_checks_every_argument():
    calls = calls_of(MetadataAPI)
    table = ServerTable(calls, {name: (lambda **kw: None) for name in calls})
    assert table.arguments("getObject", {"bucket": "b", "key": "k"}) == {"bucket": "b", "key": "k", "version_id": None}
    assert table.arguments("listParts", {"bucket": "b", "uploadId": "u"})["max_parts"] == 1000
    with pytest.raises(BadCall, match="unexpected argument 'versionid'"):
        table.arguments("getObject", {"bucket": "b", "key": "k", "versionid": "x"})
    with pytest.raises(BadCall, match="not of the declared type"):
        table.arguments("putObject", {"bucket": "b", "key": "k", "md": [1]})          # a record crosses as a dict
    with pytest.raises(BadCall, match="not of the declared type"):
        table.arguments("listParts", {"bucket": "b", "uploadId": "u", "maxParts": True})   # a bool is no int
    with pytest.raises(BadCall, match="not of the declared type"):
        table.arguments("listParts", {"bucket": "b", "uploadId": "u", "maxParts": 2 ** 64})
    assert table.arguments("deleteObject", {"bucket": "b", "key": "k", "versionId": None})["version_id"] is None
    with pytest.raises(TypeError, match="unknown"):
        ServerTable(calls, {**{name: (lambda **kw: None) for name in calls}, "drop_everything": lambda: None})


def test_writes_are_the_calls_that_change_state():
    from shared.metadata_client import WRITE_METHODS

    assert {"putObject", "deleteObject", "gcDone", "putBucketConfig", "put", "del", "batch"} <= WRITE_METHODS
    assert not {"getObject", "listObjects", "dueGarbage", "referencedPieces", "get"} & WRITE_METHODS


# -- records survive the wire both ways ----------------------------------------------------------
def test_bucket_records_round_trip_with_fields_of_later_formats():
    from shared.contract.records import BucketInfo, CorsRule, bucket_changes_to_wire

    info = BucketInfo("b", "c" * 64, "Bart", "2026-12-02T10:00:00.000Z", "eu-west-1", [{"grant": 1}], "Enabled",
                      (CorsRule(("*",), ("GET",), max_age=5),), {"mode": "GOVERNANCE"}, frozenset({"tagging"}), 3,
                      {"policy": "{}"})
    again = BucketInfo.from_wire(info.to_wire())
    assert again == info and again.extra == {"policy": "{}"}
    assert bucket_changes_to_wire({"versioning": "Suspended", "cors": ()}) == ({"versioning": "Suspended"}, ["cors"])
    with pytest.raises(ValueError):
        bucket_changes_to_wire({"owner": "someone else"})


def test_listing_and_multipart_records_round_trip():
    from shared.contract.listings import PartInfo, Party, UploadInfo
    from shared.contract.metadata import CompletionResult, DeleteResult, Garbage, WriteResult
    from shared.contract.records import ChecksumValue

    piece = Piece("us-east-1", "k", 4, 0, 1, "e" * 32)
    garbage = (Garbage("0000000000001\x00k", (piece,)),)
    write = WriteResult("v" * 27, False, "Enabled", garbage)
    assert WriteResult.from_wire(write.to_wire()) == write
    done = CompletionResult(write, "f" * 32 + "-1", 4, ChecksumValue("crc32", "AAAAAA==", "COMPOSITE"))
    assert CompletionResult.from_wire(done.to_wire()) == done
    deleted = DeleteResult(True, "v" * 27, False, "Enabled", True, garbage)
    assert DeleteResult.from_wire(deleted.to_wire()) == deleted
    part = PartInfo("e" * 32, 4, (piece,), "2026-12-02T10:00:00.000Z", ChecksumValue("crc32", "AAAAAA=="))
    assert PartInfo.from_wire({**part.to_wire(), "partNumber": 0}) == part
    upload = UploadInfo(Party("i", "I"), Party("o", "O"), "STANDARD", "crc32", "COMPOSITE", ObjectMD(key="k"))
    assert UploadInfo.from_wire(upload.to_wire()) == upload
