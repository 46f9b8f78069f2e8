"""boto3 round trips with its default flexible checksums and with checksums only "when_required"."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib

import pytest
from boto3.s3.transfer import TransferConfig

from tests.client_tools import BIG, MIB, PART, part_count, random_file, sha256_file

CHECKSUM_MODES = [
    pytest.param({}, id="defaults"),
    pytest.param({"request_checksum_calculation": "when_required",
                  "response_checksum_validation": "when_required"}, id="when_required"),
]
MULTIPART = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)


@pytest.fixture(params=CHECKSUM_MODES)
def client(cluster, request):
    return cluster.client(**request.param)


@pytest.mark.parametrize("size", [0, 1, 64 * 1024 + 7, 6 * MIB])
def test_put_get_round_trip(client, bucket, size):
    data = os.urandom(size)
    put = client.put_object(Bucket=bucket, Key="obj", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = client.get_object(Bucket=bucket, Key="obj")
    assert hashlib.sha256(got["Body"].read()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert got["ContentLength"] == size
    if client.meta.config.request_checksum_calculation == "when_supported":
        # boto3 sent a CRC32 and asked for it back (ChecksumMode), and validated what it read against it
        crc32 = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        assert put["ChecksumCRC32"] == got["ChecksumCRC32"] == crc32


def test_put_from_an_unseekable_stream(client, bucket):
    data = os.urandom(3 * MIB + 5)

    class Unseekable(io.RawIOBase):
        """A body boto3 cannot rewind, so it must stream it (aws-chunked when it adds a checksum)."""

        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buf) -> int:
            chunk = self.inner.read(len(buf))
            buf[:len(chunk)] = chunk
            return len(chunk)

    client.upload_fileobj(io.BufferedReader(Unseekable()), bucket, "stream", Config=MULTIPART)
    got = client.get_object(Bucket=bucket, Key="stream")["Body"].read()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [MIB, BIG + 12345])
def test_upload_file_download_file(client, bucket, tmp_path, size):
    local = random_file(tmp_path / "up.bin", size)
    client.upload_file(str(local), bucket, "file.bin", Config=MULTIPART)
    assert part_count(client, bucket, "file.bin") == (1 if size < PART else -(-size // PART))
    back = tmp_path / "down.bin"
    client.download_file(bucket, "file.bin", str(back), Config=MULTIPART)   # ranged GETs in parallel
    assert sha256_file(back) == sha256_file(local)
