"""GetObjectTorrent: BitTorrent metainfo with SHA-1 piece hashes and the object's URL as web seed."""
from __future__ import annotations

import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3front.api.torrent import PIECE_BYTES, bencode


def test_bencode_follows_bep3():
    assert bencode({"b": [1, "x"], "a": b"yz"}) == b"d1:a2:yz1:bli1e1:xee"


def test_torrent_of_an_object_hashes_every_piece(cluster, s3, bucket):
    body = os.urandom(2 * PIECE_BYTES + 1234)
    s3.put_object(Bucket=bucket, Key="dir/movie.mpg", Body=body)
    torrent = s3.get_object_torrent(Bucket=bucket, Key="dir/movie.mpg")
    data = torrent["Body"].read()
    pieces = b"".join(hashlib.sha1(body[i:i + PIECE_BYTES]).digest() for i in range(0, len(body), PIECE_BYTES))
    assert data.startswith(b"d") and data != body
    assert b"6:lengthi%de" % len(body) in data
    assert b"4:name9:movie.mpg" in data
    assert b"6:pieces%d:%b" % (len(pieces), pieces) in data
    assert f"/{bucket}/dir/movie.mpg".encode() in data                  # the web seed
    assert torrent["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-bittorrent"


def test_torrent_of_a_missing_object_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as info:
        s3.get_object_torrent(Bucket=bucket, Key="missing")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"


def test_torrent_of_an_empty_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    data = s3.get_object_torrent(Bucket=bucket, Key="empty")["Body"].read()
    assert b"6:lengthi0e" in data and b"6:pieces0:" in data
