"""Multipart uploads end to end with real clients (boto3, raw HTTP): the seven calls, AWS's rules, versioning,
UploadPartCopy, GET by part number and checksums. Data reclamation and big transfers: test_multipart_data.py."""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
from pathlib import Path

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.cluster import ACCESS_KEY, SECRET_KEY

MiB = 2**20
PART = 5 * MiB
ZERO_PART = b"\0" * PART


def error_of(exc: ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]


def signed(cluster, method: str, path: str, query: str = "", body: bytes = b"") -> httpx.Response:
    """A raw SigV4-signed request, for bodies that boto3 would never send."""
    url = f"{cluster.endpoint}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body)
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    return httpx.request(method, url, content=body, headers=dict(request.headers.items()))


def data_files(cluster) -> set[Path]:
    root = cluster.root / "data"
    return {p for p in root.glob("*/*") if p.is_file() and not p.name.endswith(".tmp")}


def wait_gone(paths: set[Path], timeout: float = 15.0) -> set[Path]:
    """The paths still present once background deletion had its chance."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(p.exists() for p in paths):
        time.sleep(0.05)
    return {p for p in paths if p.exists()}


def start(s3, bucket: str, key: str = "obj", **kw) -> str:
    return s3.create_multipart_upload(Bucket=bucket, Key=key, **kw)["UploadId"]


def part(s3, bucket: str, uid: str, n: int, body: bytes, key: str = "obj", **kw) -> dict:
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=body, **kw)["ETag"]
    return {"PartNumber": n, "ETag": etag}


def complete(s3, bucket: str, uid: str, parts: list[dict], key: str = "obj") -> dict:
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts})


def test_two_zero_parts_have_the_reference_etag(s3, bucket):
    uid = start(s3, bucket, ContentType="text/plain", Metadata={"color": "blue"})
    parts = [part(s3, bucket, uid, 1, ZERO_PART), part(s3, bucket, uid, 2, ZERO_PART)]
    assert parts[0]["ETag"] == f'"{hashlib.md5(ZERO_PART).hexdigest()}"'
    done = complete(s3, bucket, uid, parts)
    assert done["ETag"] == '"a7d414b9133d6483d9a1c4e04e856e3b-2"'
    assert done["Bucket"] == bucket and done["Key"] == "obj" and done["Location"].endswith(f"/{bucket}/obj")
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ContentLength"] == 2 * PART and head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"color": "blue"} and head["ETag"] == done["ETag"]
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == ZERO_PART * 2
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="obj", UploadId=uid)
    assert error_of(exc.value) == (404, "NoSuchUpload")


def test_parts_stitch_in_listed_order_and_ranges_cross_parts(s3, bucket):
    first, last = os.urandom(PART), os.urandom(1000)
    uid = start(s3, bucket)
    parts = [part(s3, bucket, uid, 3, first), part(s3, bucket, uid, 7, last)]
    complete(s3, bucket, uid, parts)
    whole = first + last
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == whole
    got = s3.get_object(Bucket=bucket, Key="obj", Range=f"bytes={PART - 10}-{PART + 9}")["Body"].read()
    assert got == whole[PART - 10:PART + 10]


@pytest.mark.parametrize("number", [0, 10001])
def test_part_number_out_of_range_is_invalid_argument(s3, bucket, number):
    uid = start(s3, bucket)
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="obj", UploadId=uid, PartNumber=number, Body=b"x")
    assert error_of(exc.value) == (400, "InvalidArgument")
    s3.upload_part(Bucket=bucket, Key="obj", UploadId=uid, PartNumber=10000, Body=b"x")


def test_entity_too_small_only_for_parts_before_the_last(s3, bucket):
    uid = start(s3, bucket)
    parts = [part(s3, bucket, uid, 1, b"a" * (PART - 1)), part(s3, bucket, uid, 2, b"b")]
    with pytest.raises(ClientError) as exc:
        complete(s3, bucket, uid, parts)
    assert error_of(exc.value) == (400, "EntityTooSmall")
    parts[0] = part(s3, bucket, uid, 1, b"a" * PART)
    complete(s3, bucket, uid, parts)
    assert s3.head_object(Bucket=bucket, Key="obj")["ContentLength"] == PART + 1


def test_single_small_part_completes(s3, bucket):
    uid = start(s3, bucket)
    done = complete(s3, bucket, uid, [part(s3, bucket, uid, 1, b"tiny")])
    md5 = hashlib.md5(hashlib.md5(b"tiny").digest()).hexdigest()
    assert done["ETag"] == f'"{md5}-1"'
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"tiny"


def test_parts_out_of_order_are_refused(s3, bucket):
    uid = start(s3, bucket)
    parts = [part(s3, bucket, uid, 1, ZERO_PART), part(s3, bucket, uid, 2, b"x")]
    with pytest.raises(ClientError) as exc:
        complete(s3, bucket, uid, [parts[1], parts[0]])
    assert error_of(exc.value) == (400, "InvalidPartOrder")


def test_a_part_listed_twice_counts_once_with_its_last_entry(s3, bucket):
    """A part re-sent while its first upload was still running may be listed with both ETags."""
    uid = start(s3, bucket)
    first = part(s3, bucket, uid, 1, b"first")
    second = part(s3, bucket, uid, 1, b"second")
    done = complete(s3, bucket, uid, [first, second])
    assert done["ETag"] == f'"{hashlib.md5(hashlib.md5(b"second").digest()).hexdigest()}-1"'
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"second"
    uid = start(s3, bucket)
    first = part(s3, bucket, uid, 1, b"first")
    second = part(s3, bucket, uid, 1, b"second")
    with pytest.raises(ClientError) as exc:
        complete(s3, bucket, uid, [second, first])      # the last entry names a replaced part
    assert error_of(exc.value) == (400, "InvalidPart")


def test_unknown_part_or_wrong_etag_is_invalid_part(s3, bucket):
    uid = start(s3, bucket)
    p1 = part(s3, bucket, uid, 1, ZERO_PART)
    for wrong in ([p1, {"PartNumber": 2, "ETag": p1["ETag"]}],
                  [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]):
        with pytest.raises(ClientError) as exc:
            complete(s3, bucket, uid, wrong)
        assert error_of(exc.value) == (400, "InvalidPart")
    complete(s3, bucket, uid, [{"PartNumber": 1, "ETag": p1["ETag"].strip('"')}])     # quotes are optional


def test_unknown_or_finished_upload_is_no_such_upload(s3, bucket):
    bogus = "0" * 48
    calls = [lambda u: s3.upload_part(Bucket=bucket, Key="obj", UploadId=u, PartNumber=1, Body=b"x"),
             lambda u: complete(s3, bucket, u, [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]),
             lambda u: s3.abort_multipart_upload(Bucket=bucket, Key="obj", UploadId=u),
             lambda u: s3.list_parts(Bucket=bucket, Key="obj", UploadId=u)]
    aborted = start(s3, bucket)
    s3.abort_multipart_upload(Bucket=bucket, Key="obj", UploadId=aborted)
    completed = start(s3, bucket)
    complete(s3, bucket, completed, [part(s3, bucket, completed, 1, b"x")])
    other_key = start(s3, bucket, key="other")
    for uid in (bogus, aborted, other_key):
        for call in calls:
            with pytest.raises(ClientError) as exc:
                call(uid)
            assert error_of(exc.value) == (404, "NoSuchUpload"), (uid, call)
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="obj", UploadId=completed, PartNumber=2, Body=b"x")
    assert error_of(exc.value) == (404, "NoSuchUpload")


@pytest.mark.parametrize("body", [b"", b"<CompleteMultipartUpload/>",
                                  b"<CompleteMultipartUpload xmlns='http://s3.amazonaws.com/doc/2006-03-01/'>"
                                  b"</CompleteMultipartUpload>", b"<CompleteMultipartUpload><Part>",
                                  b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag>"
                                  b"</Part></CompleteMultipartUpload>", b"not xml at all"])
def test_malformed_complete_bodies(cluster, s3, bucket, body):
    uid = start(s3, bucket)
    part(s3, bucket, uid, 1, b"x")
    resp = signed(cluster, "POST", f"/{bucket}/obj", f"uploadId={uid}", body)
    assert resp.status_code == 400
    assert b"<Code>MalformedXML</Code>" in resp.content
    assert s3.list_parts(Bucket=bucket, Key="obj", UploadId=uid)["Parts"][0]["PartNumber"] == 1


def test_complete_with_raw_xml_and_unquoted_etags(cluster, s3, bucket):
    uid = start(s3, bucket)
    etag = part(s3, bucket, uid, 1, b"raw")["ETag"].strip('"')
    body = (f"<CompleteMultipartUpload><Part><ETag>{etag}</ETag><PartNumber>1</PartNumber></Part>"
            "</CompleteMultipartUpload>").encode()
    resp = signed(cluster, "POST", f"/{bucket}/obj", f"uploadId={uid}", body)
    assert resp.status_code == 200 and b"<CompleteMultipartUploadResult" in resp.content
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"raw"


def test_part_body_over_5_gib_is_entity_too_large(cluster, s3, bucket):
    uid = start(s3, bucket)
    url = f"{cluster.endpoint}/{bucket}/obj?partNumber=1&uploadId={uid}"
    request = AWSRequest(method="PUT", url=url, headers={"Content-Length": str(5 * 2**30 + 1),
                                                         "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    head = f"PUT /{bucket}/obj?partNumber=1&uploadId={uid} HTTP/1.1\r\nHost: 127.0.0.1:{cluster.s3_ports[0]}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "host") + "\r\n"
    with socket.create_connection(("127.0.0.1", cluster.s3_ports[0]), timeout=10) as sock:
        sock.sendall(head.encode())     # the body never comes: the answer must not wait for it
        answer = b""
        while b"</Error>" not in answer:        # headers and body may come in separate packets
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b"EntityTooLarge" in answer


def test_complete_retry_returns_the_same_result(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    uid = start(s3, bucket)
    parts = [part(s3, bucket, uid, 1, ZERO_PART), part(s3, bucket, uid, 2, b"tail")]
    first = complete(s3, bucket, uid, parts)
    again = complete(s3, bucket, uid, parts)
    assert again["ETag"] == first["ETag"] and again["VersionId"] == first["VersionId"]
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["VersionId"] for v in versions] == [first["VersionId"]]
    with pytest.raises(ClientError) as exc:
        complete(s3, bucket, uid, parts[:1])
    assert error_of(exc.value) == (404, "NoSuchUpload")


def test_completion_follows_the_versioning_rules(s3, bucket):
    s3.put_object(Bucket=bucket, Key="obj", Body=b"plain")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    uid = start(s3, bucket)
    done = complete(s3, bucket, uid, [part(s3, bucket, uid, 1, b"multi")])
    assert done["VersionId"] not in (None, "null")
    versions = {v["VersionId"]: v for v in s3.list_object_versions(Bucket=bucket)["Versions"]}
    assert set(versions) == {done["VersionId"], "null"} and versions[done["VersionId"]]["IsLatest"]
    assert s3.get_object(Bucket=bucket, Key="obj", VersionId="null")["Body"].read() == b"plain"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    uid = start(s3, bucket)
    done = complete(s3, bucket, uid, [part(s3, bucket, uid, 1, b"suspended")])
    assert "VersionId" not in done      # a null version is not named, as for PutObject
    assert s3.get_object(Bucket=bucket, Key="obj", VersionId="null")["Body"].read() == b"suspended"


def test_list_parts_pages(s3, bucket):
    uid = start(s3, bucket, ContentType="a/b")
    etags = [part(s3, bucket, uid, n, f"part {n}".encode())["ETag"] for n in range(1, 6)]
    page = s3.list_parts(Bucket=bucket, Key="obj", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2] and page["IsTruncated"]
    assert page["NextPartNumberMarker"] == 2 and page["MaxParts"] == 2
    assert page["Initiator"]["DisplayName"] == "Bart" and page["Owner"]["DisplayName"] == "Bart"
    assert page["StorageClass"] == "STANDARD"
    page = s3.list_parts(Bucket=bucket, Key="obj", UploadId=uid, PartNumberMarker=2)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in page["Parts"]] == \
        [(n, etags[n - 1], 6) for n in (3, 4, 5)]
    assert not page["IsTruncated"] and page["PartNumberMarker"] == 2


def test_open_uploads_are_listed(s3, bucket):
    uids = {key: start(s3, bucket, key=key) for key in ("a/1", "a/2", "b", "c")}
    second_b = start(s3, bucket, key="b")
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == \
        [("a/1", uids["a/1"]), ("a/2", uids["a/2"]), ("b", uids["b"]), ("b", second_b), ("c", uids["c"])]
    assert listed["Uploads"][0]["Initiator"]["ID"] and listed["Uploads"][0]["StorageClass"] == "STANDARD"
    grouped = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/"]
    assert [u["Key"] for u in grouped["Uploads"]] == ["b", "b", "c"]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert page["IsTruncated"] and (page["NextKeyMarker"], page["NextUploadIdMarker"]) == ("a/2", uids["a/2"])
    rest = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="b", UploadIdMarker=uids["b"])
    assert [(u["Key"], u["UploadId"]) for u in rest["Uploads"]] == [("b", second_b), ("c", uids["c"])]
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")["Uploads"]] == ["a/1", "a/2"]


def test_upload_part_copy_with_ranges(s3, bucket):
    source = os.urandom(PART + 4096)
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    uid = start(s3, bucket)
    parts = []
    for n, rng in ((1, f"bytes=0-{PART - 1}"), (2, f"bytes=4096-{PART + 4095}")):
        resp = s3.upload_part_copy(Bucket=bucket, Key="obj", UploadId=uid, PartNumber=n,
                                   CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=rng)
        parts.append({"PartNumber": n, "ETag": resp["CopyPartResult"]["ETag"]})
    assert parts[1]["ETag"] == f'"{hashlib.md5(source[4096:]).hexdigest()}"'
    whole = s3.upload_part_copy(Bucket=bucket, Key="obj", UploadId=uid, PartNumber=3,
                                CopySource={"Bucket": bucket, "Key": "src"})
    parts.append({"PartNumber": 3, "ETag": whole["CopyPartResult"]["ETag"]})
    with pytest.raises(ClientError) as exc:
        s3.upload_part_copy(Bucket=bucket, Key="obj", UploadId=uid, PartNumber=4, CopySourceRange="bytes=0-",
                            CopySource={"Bucket": bucket, "Key": "src"})
    assert error_of(exc.value) == (400, "InvalidArgument")
    complete(s3, bucket, uid, parts)
    expected = source[:PART] + source[4096:] + source
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == expected
    s3.delete_object(Bucket=bucket, Key="src")        # the copy shares no data with its source
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == expected


def test_get_and_head_by_part_number(s3, bucket):
    first, second = os.urandom(PART), os.urandom(300)
    uid = start(s3, bucket)
    complete(s3, bucket, uid, [part(s3, bucket, uid, 1, first), part(s3, bucket, uid, 2, second)])
    got = s3.get_object(Bucket=bucket, Key="obj", PartNumber=2)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206 and got["PartsCount"] == 2
    assert got["ContentRange"] == f"bytes {PART}-{PART + 299}/{PART + 300}" and got["Body"].read() == second
    head = s3.head_object(Bucket=bucket, Key="obj", PartNumber=1)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206 and head["ContentLength"] == PART
    assert head["PartsCount"] == 2
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="obj", PartNumber=3)
    assert error_of(exc.value) == (400, "InvalidPart")
    s3.put_object(Bucket=bucket, Key="plain", Body=b"single")
    assert s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)["Body"].read() == b"single"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="plain", PartNumber=2)
    assert error_of(exc.value) == (400, "InvalidPart")


def test_part_checksums_and_the_composite_checksum(s3, bucket):
    bodies = [os.urandom(PART), b"last part"]
    uid = start(s3, bucket, ChecksumAlgorithm="SHA256")
    parts = []
    for n, body in enumerate(bodies, 1):
        resp = s3.upload_part(Bucket=bucket, Key="obj", UploadId=uid, PartNumber=n, Body=body,
                              ChecksumAlgorithm="SHA256")
        assert resp["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        parts.append({"PartNumber": n, "ETag": resp["ETag"], "ChecksumSHA256": resp["ChecksumSHA256"]})
    listed = s3.list_parts(Bucket=bucket, Key="obj", UploadId=uid)
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [p["ChecksumSHA256"] for p in parts]
    done = complete(s3, bucket, uid, parts)
    combined = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in bodies)).digest()
    assert done["ChecksumSHA256"] == base64.b64encode(combined).decode() + "-2"
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="obj", UploadId=start(s3, bucket), PartNumber=1, Body=b"abc",
                       ChecksumSHA256=base64.b64encode(hashlib.sha256(b"abd").digest()).decode())
    assert error_of(exc.value) == (400, "BadDigest")


def test_complete_with_a_wrong_part_checksum_is_invalid_part(s3, bucket):
    uid = start(s3, bucket, ChecksumAlgorithm="SHA256")
    resp = s3.upload_part(Bucket=bucket, Key="obj", UploadId=uid, PartNumber=1, Body=b"abc", ChecksumAlgorithm="SHA256")
    wrong = base64.b64encode(hashlib.sha256(b"abd").digest()).decode()
    with pytest.raises(ClientError) as exc:
        complete(s3, bucket, uid, [{"PartNumber": 1, "ETag": resp["ETag"], "ChecksumSHA256": wrong}])
    assert error_of(exc.value) == (400, "InvalidPart")
