"""Server-side encryption end to end: SSE-S3, SSE-KMS, SSE-C and bucket default encryption via boto3.

One cluster with a master key, declared KMS keys and SSE-C allowed over plain HTTP, as s3-tests run it.
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from s3front.sse.envelope import sealed_size
from shared import constants as C
from tests.cluster import NOT_INLINE, Cluster

TESTKEY_1 = "YmluCmJvb3N0CmJvb3N0LWJ1aWxkCmNlcGguY29uZgo="
TESTKEY_2 = "aWIKTWFrZWZpbGUKbWFuCm91dApzcmMKVGVzdGluZwo="
MIB = 2**20
PKG = C.SSE_PACKAGE_BYTES


def customer_args(key: bytes, prefix: str = "SSECustomer") -> dict[str, str]:
    return {f"{prefix}Algorithm": "AES256", f"{prefix}Key": base64.b64encode(key).decode(),
            f"{prefix}KeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode()}


KEY_A, KEY_B = os.urandom(32), os.urandom(32)
MODES = {
    "none": ({}, {}),
    "sse-s3": ({"ServerSideEncryption": "AES256"}, {}),
    "sse-kms": ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "testkey-1"}, {}),
    "sse-c": (customer_args(KEY_A), customer_args(KEY_A)),
}


@pytest.fixture(scope="module")
def sse_cluster(tmp_path_factory):
    env = {"COFFER_KMS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
           "COFFER_KMS_KEYS": f"testkey-1:{TESTKEY_1},testkey-2:{TESTKEY_2}", "COFFER_SSEC_ALLOW_HTTP": "1",
           **NOT_INLINE}        # the tests read and corrupt data files (inline SSE: tests/test_inline.py)
    c = Cluster(tmp_path_factory.mktemp("sse"), env=env).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def s3e(sse_cluster):
    return sse_cluster.client()


_count = iter(range(10**6))


@pytest.fixture
def ebucket(s3e):
    name = f"sse-{os.getpid()}-{next(_count)}"
    s3e.create_bucket(Bucket=name)
    return name


def marker_body(size: int, marker: bytes = b"PLAINTEXT-MARKER-") -> bytes:
    return (marker * (size // len(marker) + 1))[:size]


def data_files(cluster: Cluster) -> list[Path]:
    return [p for p in (cluster.root / "data").rglob("*") if p.is_file()]


# -- round trips -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["sse-s3", "sse-kms", "sse-c"])
@pytest.mark.parametrize("size", [0, 1, PKG - 1, PKG, PKG + 1, 3 * PKG + 17])
def test_round_trip(s3e, ebucket, mode: str, size: int) -> None:
    put_args, get_args = MODES[mode]
    body = os.urandom(size)
    put = s3e.put_object(Bucket=ebucket, Key="k", Body=body, **put_args)
    got = s3e.get_object(Bucket=ebucket, Key="k", **get_args)
    assert got["Body"].read() == body
    assert got["ContentLength"] == size
    head = s3e.head_object(Bucket=ebucket, Key="k", **get_args)
    assert head["ContentLength"] == size and head["ETag"] == put["ETag"] == got["ETag"]
    md5 = hashlib.md5(body).hexdigest()
    if mode == "sse-s3":
        assert put["ServerSideEncryption"] == got["ServerSideEncryption"] == "AES256"
        assert put["ETag"] == f'"{md5}"'                      # SSE-S3 keeps the MD5 ETag, as on AWS
    elif mode == "sse-kms":
        assert put["ServerSideEncryption"] == got["ServerSideEncryption"] == "aws:kms"
        assert got["SSEKMSKeyId"] == "testkey-1"
        assert put["ETag"] != f'"{md5}"' or size == 0
    else:
        assert got["SSECustomerAlgorithm"] == "AES256"
        assert got["SSECustomerKeyMD5"] == MODES["sse-c"][1]["SSECustomerKeyMD5"]
        assert put["ETag"] != f'"{md5}"' or size == 0


@pytest.mark.parametrize("mode", ["sse-s3", "sse-c"])
def test_ranges_across_package_boundaries(s3e, ebucket, mode: str) -> None:
    put_args, get_args = MODES[mode]
    size = 5 * PKG + 100
    body = os.urandom(size)
    s3e.put_object(Bucket=ebucket, Key="r", Body=body, **put_args)
    for first, last in [(0, 0), (PKG - 1, PKG), (PKG - 5, 3 * PKG + 5), (PKG, 2 * PKG - 1), (size - 1, size - 1),
                        (2 * PKG + 3, size - 1), (0, size - 1)]:
        got = s3e.get_object(Bucket=ebucket, Key="r", Range=f"bytes={first}-{last}", **get_args)
        assert got["Body"].read() == body[first:last + 1], (first, last)
        assert got["ContentRange"] == f"bytes {first}-{last}/{size}"
    tail = s3e.get_object(Bucket=ebucket, Key="r", Range="bytes=-70000", **get_args)
    assert tail["Body"].read() == body[-70000:]


def _multipart(s3e, bucket: str, key: str, parts: list[bytes], create_args: dict, part_args: dict) -> dict:
    uid = s3e.create_multipart_upload(Bucket=bucket, Key=key, **create_args)["UploadId"]
    done = []
    for n, data in enumerate(parts, 1):
        etag = s3e.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data, **part_args)["ETag"]
        done.append({"PartNumber": n, "ETag": etag})
    return s3e.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": done},
                                         **part_args)


@pytest.mark.parametrize("mode", ["sse-s3", "sse-kms", "sse-c"])
def test_multipart_round_trip_ranges_and_part_numbers(s3e, ebucket, mode: str) -> None:
    put_args, get_args = MODES[mode]
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(123_457)]
    body = b"".join(parts)
    part_args = get_args
    done = _multipart(s3e, ebucket, "mp", parts, put_args, part_args)
    assert done["ETag"].endswith('-3"')
    got = s3e.get_object(Bucket=ebucket, Key="mp", **get_args)
    assert got["Body"].read() == body and got["ContentLength"] == len(body)
    edge = 5 * MIB
    got = s3e.get_object(Bucket=ebucket, Key="mp", Range=f"bytes={edge - 10}-{edge + 70000}", **get_args)
    assert got["Body"].read() == body[edge - 10:edge + 70001]
    for n, data in enumerate(parts, 1):
        got = s3e.get_object(Bucket=ebucket, Key="mp", PartNumber=n, **get_args)
        assert got["Body"].read() == data and got["PartsCount"] == 3
    attrs = s3e.get_object_attributes(Bucket=ebucket, Key="mp", ObjectAttributes=["ObjectSize", "ObjectParts"],
                                      **get_args)
    assert attrs["ObjectSize"] == len(body)
    if mode != "sse-c":
        assert done["ServerSideEncryption"] == put_args["ServerSideEncryption"]


@pytest.mark.parametrize("source", ["none", "sse-s3", "sse-kms", "sse-c"])
@pytest.mark.parametrize("dest", ["none", "sse-s3", "sse-kms", "sse-c"])
def test_copy_between_modes(s3e, ebucket, source: str, dest: str) -> None:
    body = os.urandom(2 * PKG + 5)
    s3e.put_object(Bucket=ebucket, Key="src", Body=body, **MODES[source][0])
    copy_args = dict(MODES[dest][0])
    if dest == "sse-c":
        copy_args = customer_args(KEY_B)
    if source == "sse-c":
        copy_args.update(customer_args(KEY_A, "CopySourceSSECustomer"))
    s3e.copy_object(Bucket=ebucket, Key="dst", CopySource={"Bucket": ebucket, "Key": "src"}, **copy_args)
    get_args = customer_args(KEY_B) if dest == "sse-c" else {}
    got = s3e.get_object(Bucket=ebucket, Key="dst", **get_args)
    assert got["Body"].read() == body
    assert got.get("ServerSideEncryption") == MODES[dest][0].get("ServerSideEncryption")


@pytest.mark.parametrize("dest", ["sse-s3", "sse-c"])
def test_upload_part_copy_into_an_encrypted_upload(s3e, ebucket, dest: str) -> None:
    body = os.urandom(5 * MIB + 3)
    s3e.put_object(Bucket=ebucket, Key="src", Body=body, **MODES["sse-kms"][0])
    create_args, part_args = MODES[dest]
    uid = s3e.create_multipart_upload(Bucket=ebucket, Key="dst", **create_args)["UploadId"]
    first = s3e.upload_part_copy(Bucket=ebucket, Key="dst", UploadId=uid, PartNumber=1,
                                 CopySource={"Bucket": ebucket, "Key": "src"}, **part_args)
    second = s3e.upload_part(Bucket=ebucket, Key="dst", UploadId=uid, PartNumber=2, Body=b"tail", **part_args)
    s3e.complete_multipart_upload(Bucket=ebucket, Key="dst", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": second["ETag"]}]},
        **part_args)
    assert s3e.get_object(Bucket=ebucket, Key="dst", **part_args)["Body"].read() == body + b"tail"


# -- what is on disk ---------------------------------------------------------------------------------------

def test_plaintext_never_reaches_the_data_directory(sse_cluster, s3e, ebucket) -> None:
    marker = b"COFFER-SECRET-MARKER-7f3a9-"
    before = set(data_files(sse_cluster))
    for mode in ("sse-s3", "sse-kms", "sse-c"):
        s3e.put_object(Bucket=ebucket, Key=f"m-{mode}", Body=marker_body(200_000, marker), **MODES[mode][0])
        _multipart(s3e, ebucket, f"mp-{mode}", [marker_body(5 * MIB, marker), marker_body(1000, marker)],
                   MODES[mode][0], MODES[mode][1])
    new = [p for p in data_files(sse_cluster) if p not in before]
    assert len(new) >= 9
    sizes = sorted(p.stat().st_size for p in new)
    assert sealed_size(200_000) in sizes and sealed_size(5 * MIB) in sizes
    for path in new:
        assert marker not in path.read_bytes(), path
    s3e.put_object(Bucket=ebucket, Key="plain", Body=marker_body(1000, marker))     # the control
    assert any(marker in p.read_bytes() for p in data_files(sse_cluster) if p not in before)


def _only_new_file(cluster: Cluster, before: set[Path]) -> Path:
    new = [p for p in data_files(cluster) if p not in before]
    assert len(new) == 1
    return new[0]


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_byte_is_a_clean_error(sse_cluster, s3e, ebucket) -> None:
    before = set(data_files(sse_cluster))
    s3e.put_object(Bucket=ebucket, Key="small", Body=b"x" * 1000, ServerSideEncryption="AES256")
    _flip(_only_new_file(sse_cluster, before), 500)
    with pytest.raises(ClientError) as caught:
        s3e.get_object(Bucket=ebucket, Key="small")
    assert caught.value.response["Error"]["Code"] == "InternalError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

    before = set(data_files(sse_cluster))
    body = os.urandom(20 * PKG)                       # larger than a read opened whole before answering
    s3e.put_object(Bucket=ebucket, Key="big", Body=body, ServerSideEncryption="AES256")
    _flip(_only_new_file(sse_cluster, before), 16 * (PKG + 16) + 7)      # in package 16
    url = s3e.generate_presigned_url("get_object", Params={"Bucket": ebucket, "Key": "big"})
    got = b""
    with pytest.raises(httpx.HTTPError):
        with httpx.stream("GET", url, timeout=30) as resp:
            assert resp.status_code == 200
            for chunk in resp.iter_bytes():
                got += chunk
    assert got == body[:len(got)] and len(got) <= 16 * PKG         # never a wrong byte
    ok = s3e.get_object(Bucket=ebucket, Key="big", Range=f"bytes=0-{PKG * 2}")["Body"].read()
    assert ok == body[:PKG * 2 + 1]                                   # untouched packages still read


# -- SSE-C rules -------------------------------------------------------------------------------------------

def test_sse_c_needs_the_right_key(s3e, ebucket) -> None:
    s3e.put_object(Bucket=ebucket, Key="c", Body=b"secret", **customer_args(KEY_A))
    with pytest.raises(ClientError) as caught:
        s3e.get_object(Bucket=ebucket, Key="c", **customer_args(KEY_B))
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as caught:
        s3e.get_object(Bucket=ebucket, Key="c")
    assert caught.value.response["Error"]["Code"] == "InvalidRequest"
    with pytest.raises(ClientError) as caught:
        s3e.head_object(Bucket=ebucket, Key="c", **customer_args(KEY_B))
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as caught:                       # the part number is checked first
        s3e.get_object(Bucket=ebucket, Key="c", PartNumber=2)
    assert caught.value.response["Error"]["Code"] == "InvalidPart"
    s3e.put_object(Bucket=ebucket, Key="p", Body=b"plain")
    with pytest.raises(ClientError) as caught:
        s3e.get_object(Bucket=ebucket, Key="p", **customer_args(KEY_A))
    assert caught.value.response["Error"]["Code"] == "InvalidRequest"


def test_sse_c_parts_must_repeat_the_key(s3e, ebucket) -> None:
    uid = s3e.create_multipart_upload(Bucket=ebucket, Key="c", **customer_args(KEY_A))["UploadId"]
    for args in ({}, customer_args(KEY_B)):
        with pytest.raises(ClientError) as caught:
            s3e.upload_part(Bucket=ebucket, Key="c", UploadId=uid, PartNumber=1, Body=b"x", **args)
        assert caught.value.response["Error"]["Code"] == "InvalidRequest"
    first = s3e.upload_part(Bucket=ebucket, Key="c", UploadId=uid, PartNumber=1, Body=b"x", **customer_args(KEY_A))
    again = s3e.upload_part(Bucket=ebucket, Key="c", UploadId=uid, PartNumber=1, Body=b"x", **customer_args(KEY_A))
    assert first["ETag"] == again["ETag"] != f'"{hashlib.md5(b"x").hexdigest()}"'    # a retried part keeps its ETag
    other = s3e.put_object(Bucket=ebucket, Key="o", Body=b"x", **customer_args(KEY_B))
    assert other["ETag"] != first["ETag"]                                  # keyed: another key, another ETag


def test_sse_c_over_plain_http_is_refused_unless_allowed(fresh_cluster) -> None:
    c = fresh_cluster(env={"COFFER_KMS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()})
    s3 = c.client()
    s3.create_bucket(Bucket="bkt")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="bkt", Key="k", Body=b"x", **customer_args(KEY_A))
    assert caught.value.response["Error"]["Code"] == "InvalidRequest"
    assert "secure connection" in caught.value.response["Error"]["Message"]
    s3.put_object(Bucket="bkt", Key="k", Body=b"x", ServerSideEncryption="AES256")     # SSE-S3 needs no TLS
    assert s3.get_object(Bucket="bkt", Key="k")["Body"].read() == b"x"


# -- KMS ---------------------------------------------------------------------------------------------------

def test_unknown_kms_key_is_refused(s3e, ebucket) -> None:
    with pytest.raises(ClientError) as caught:
        s3e.put_object(Bucket=ebucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="nope")
    assert caught.value.response["Error"]["Code"] == "KMS.NotFoundException"


def test_default_kms_key_and_context(s3e, ebucket) -> None:
    context = base64.b64encode(b'{"team": "a"}').decode()
    put = s3e.put_object(Bucket=ebucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                         SSEKMSEncryptionContext=context)
    assert put["SSEKMSKeyId"].endswith(":key/aws/s3")
    assert s3e.get_object(Bucket=ebucket, Key="k")["Body"].read() == b"x"


# -- bucket default encryption -----------------------------------------------------------------------------

def _default(s3e, bucket: str, algorithm: str, key_id: str | None = None) -> None:
    rule: dict = {"SSEAlgorithm": algorithm}
    if key_id:
        rule["KMSMasterKeyID"] = key_id
    s3e.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": rule}]})


def test_bucket_encryption_configuration(s3e, ebucket) -> None:
    with pytest.raises(ClientError) as caught:
        s3e.get_bucket_encryption(Bucket=ebucket)
    assert caught.value.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError"
    _default(s3e, ebucket, "aws:kms", "testkey-2")
    rules = s3e.get_bucket_encryption(Bucket=ebucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                              "KMSMasterKeyID": "testkey-2"}
    assert s3e.delete_bucket_encryption(Bucket=ebucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError):
        s3e.get_bucket_encryption(Bucket=ebucket)


def test_default_encryption_applies_to_put_copy_and_multipart(s3e, ebucket) -> None:
    s3e.put_object(Bucket=ebucket, Key="before", Body=b"old")
    _default(s3e, ebucket, "AES256")
    put = s3e.put_object(Bucket=ebucket, Key="put", Body=b"new")
    assert put["ServerSideEncryption"] == "AES256"
    copied = s3e.copy_object(Bucket=ebucket, Key="copy", CopySource={"Bucket": ebucket, "Key": "before"})
    assert copied["ServerSideEncryption"] == "AES256"
    done = _multipart(s3e, ebucket, "mp", [os.urandom(5 * MIB), b"end"], {}, {})
    assert done["ServerSideEncryption"] == "AES256"
    for key in ("put", "copy", "mp"):
        assert s3e.head_object(Bucket=ebucket, Key=key)["ServerSideEncryption"] == "AES256"
    assert "ServerSideEncryption" not in s3e.head_object(Bucket=ebucket, Key="before")
    _default(s3e, ebucket, "aws:kms", "testkey-2")
    own = s3e.put_object(Bucket=ebucket, Key="own", Body=b"x", ServerSideEncryption="AES256")
    assert own["ServerSideEncryption"] == "AES256"                    # the request's own headers win
    kms = s3e.put_object(Bucket=ebucket, Key="kms", Body=b"x")
    assert kms["ServerSideEncryption"] == "aws:kms" and kms["SSEKMSKeyId"] == "testkey-2"
    assert s3e.get_object(Bucket=ebucket, Key="kms")["Body"].read() == b"x"
