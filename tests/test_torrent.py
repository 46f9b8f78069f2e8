"""GetObjectTorrent: BitTorrent metainfo with SHA-1 piece hashes and the object's URL as web seed."""
from __future__ import annotations

import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3front.api.torrent import PIECE_BYTES, bencode
from tests.cluster import Cluster


@pytest.fixture(scope="module")
def torrents(tmp_path_factory):
    """A cluster started with COFFER_TORRENTS=1, and a bucket in it."""
    c = Cluster(tmp_path_factory.mktemp("torrents"), env={"COFFER_TORRENTS": "1"}).start()
    client = c.client()
    client.create_bucket(Bucket="torrents")
    yield client, "torrents"
    c.stop()


def test_bencode_follows_bep3():
    assert bencode({"b": [1, "x"], "a": b"yz"}) == b"d1:a2:yz1:bli1e1:xee"


def test_torrent_of_an_object_hashes_every_piece(torrents):
    s3, bucket = torrents
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


def test_torrent_of_a_missing_object_is_no_such_key(torrents):
    s3, bucket = torrents
    with pytest.raises(ClientError) as info:
        s3.get_object_torrent(Bucket=bucket, Key="missing")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"


def test_torrent_of_an_empty_object(torrents):
    s3, bucket = torrents
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    data = s3.get_object_torrent(Bucket=bucket, Key="empty")["Body"].read()
    assert b"6:lengthi0e" in data and b"6:pieces0:" in data


def test_torrents_are_off_by_default(s3, bucket):
    s3.put_object(Bucket=bucket, Key="movie", Body=b"x" * 1000)
    with pytest.raises(ClientError) as info:
        s3.get_object_torrent(Bucket=bucket, Key="movie")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
    assert "COFFER_TORRENTS" in info.value.response["Error"]["Message"]
