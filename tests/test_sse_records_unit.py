"""What encryption adds to the records (format 3) and the upload ids that say an upload is encrypted."""
from __future__ import annotations

from dmd.metadata.multipart import new_upload_id
from s3front.sse.envelope import sealed_size
from shared.contract.listings import Party, UploadInfo, upload_may_be_encrypted
from shared.contract.records import ENCRYPTED_FORMAT, OBJECT_FORMAT, ObjectMD, Piece

PIECE_SSE = {"dk": "c2VhbGVk", "env": {"v": 1, "salt": "AAAAAAAAAAAAAAAA", "pkg": 65536, "part": 2}}


def test_an_encrypted_piece_keeps_its_key_and_sealed_size() -> None:
    piece = Piece("us-east-1", "k" * 40, 1000, 5, 2, "etag", PIECE_SSE, sealed_size(1000))
    doc = piece.to_wire()
    assert doc["sse"] == PIECE_SSE and doc["storedSize"] == 1016
    back = Piece.from_wire(doc)
    assert back == piece and back.data_size == 1016 and back.end == 1004
    plain = Piece("us-east-1", "k" * 40, 1000)
    assert "sse" not in plain.to_wire() and "storedSize" not in plain.to_wire() and plain.data_size == 1000


def test_an_encrypted_object_is_format_3_and_a_plain_one_stays_format_2() -> None:
    sse = {"v": 1, "mode": "AES256"}
    md = ObjectMD(size=3, etag="e", sse=sse)
    doc = md.to_wire()
    assert doc["md-model-version"] == ENCRYPTED_FORMAT and doc["sse"] == sse
    back = ObjectMD.from_wire(doc)
    assert back.sse == sse and "sse" not in back.extra
    plain = ObjectMD(size=3, etag="e").to_wire()
    assert plain["md-model-version"] == OBJECT_FORMAT and "sse" not in plain
    assert ObjectMD.from_wire(plain).sse is None


def test_upload_ids_say_whether_an_upload_may_be_encrypted() -> None:
    for _ in range(200):
        plain, encrypted = new_upload_id(), new_upload_id(encrypted=True)
        assert len(plain) == len(encrypted) == 48 and int(plain, 16) >= 0 and int(encrypted, 16) >= 0
        assert not upload_may_be_encrypted(plain) and upload_may_be_encrypted(encrypted)
    assert upload_may_be_encrypted("an-id-of-another-format")       # unknown: look it up


def test_an_upload_overview_carries_its_encryption() -> None:
    md = ObjectMD(sse={"v": 1, "mode": "SSE-C", "c": {"salt": "s", "hmac": "h"}})
    doc = UploadInfo(Party("a", "A"), Party("a", "A"), md=md).to_wire()
    assert doc["sse"] == md.sse
    overview = {k: v for k, v in doc.items() if k != "md"}            # what listings read back
    assert UploadInfo.from_wire(overview).sse == md.sse
    assert "sse" not in UploadInfo(Party("a", "A"), Party("a", "A"), md=ObjectMD()).to_wire()
