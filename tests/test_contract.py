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
