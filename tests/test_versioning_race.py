"""Two front-ends racing versioned PUTs to one key; a client killed in the middle of a part."""
from __future__ import annotations

import socket
import threading
import time

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.cluster import ACCESS_KEY, SECRET_KEY
from tests.test_multipart import data_files, start


def test_racing_versioned_puts_through_two_frontends(fresh_cluster):
    cluster = fresh_cluster(frontends=2)
    clients = [cluster.client(i=0), cluster.client(i=1)]
    clients[0].create_bucket(Bucket="race")
    clients[0].put_bucket_versioning(Bucket="race", VersioningConfiguration={"Status": "Enabled"})
    acked: dict[str, bytes] = {}
    lock = threading.Lock()

    def put(i: int) -> None:
        body = f"body {i}".encode() * 100
        vid = clients[i % 2].put_object(Bucket="race", Key="k", Body=body)["VersionId"]
        with lock:
            acked[vid] = body

    threads = [threading.Thread(target=put, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = clients[1].list_object_versions(Bucket="race")["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted(acked)             # complete
    assert [v["IsLatest"] for v in versions] == [True] + [False] * 23
    stamps = [v["LastModified"] for v in versions]
    assert stamps == sorted(stamps, reverse=True)                                  # newest first
    latest = versions[0]["VersionId"]
    # The latest is the one that committed last: what a plain GET reads, through either front-end.
    for client in clients:
        got = client.get_object(Bucket="race", Key="k")
        assert got["VersionId"] == latest and got["Body"].read() == acked[latest]
    for v in versions:
        body = clients[0].get_object(Bucket="race", Key="k", VersionId=v["VersionId"])["Body"].read()
        assert body == acked[v["VersionId"]]


@pytest.mark.needs_disk
def test_client_killed_mid_part_leaves_only_the_open_upload(cluster, s3, bucket):
    uid = start(s3, bucket)
    before = data_files(cluster)
    declared = 6 * 2**20
    url = f"{cluster.endpoint}/{bucket}/obj?partNumber=1&uploadId={uid}"
    request = AWSRequest(method="PUT", url=url, headers={"Content-Length": str(declared),
                                                         "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    head = f"PUT /{bucket}/obj?partNumber=1&uploadId={uid} HTTP/1.1\r\nHost: 127.0.0.1:{cluster.s3_ports[0]}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "host") + "\r\n"
    with socket.create_connection(("127.0.0.1", cluster.s3_ports[0]), timeout=10) as sock:
        sock.sendall(head.encode() + b"x" * 2**20)       # a sixth of the part, then the client dies
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and list((cluster.root / "data").glob("*/*.tmp")):
        time.sleep(0.05)
    assert not list((cluster.root / "data").glob("*/*.tmp"))
    assert data_files(cluster) == before                        # no part data kept
    assert s3.list_parts(Bucket=bucket, Key="obj", UploadId=uid).get("Parts", []) == []
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [uid]           # the open upload is all that shows
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    s3.abort_multipart_upload(Bucket=bucket, Key="obj", UploadId=uid)
