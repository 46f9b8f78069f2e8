"""A large browser POST streams through the front-end: its RSS stays flat while the file goes by.

The form is generated as it is sent (never stored), with a Content-Length, as a browser sends it;
the front-end's resident set is sampled from /proc during the upload. COFFER_POST_STREAM_MIB sets
the file's size (256 MiB by default; 1024 for the issue's 1 GiB).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

MIB = 1024 * 1024
SIZE = int(os.environ.get("COFFER_POST_STREAM_MIB", "256")) * MIB
BOUNDARY = "----coffer-post-stream"
FLAT = 64 * MIB             # what the front-end may grow by while it relays SIZE bytes


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


class Sampler(threading.Thread):
    """The largest RSS of a process, sampled until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, rss(pid), threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, rss(self.pid))


def form_parts(fields: dict[str, str]) -> tuple[bytes, bytes]:
    head = b"".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    head += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n' \
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def file_chunks(md5) -> Iterator[bytes]:
    """SIZE bytes, 1 MiB at a time, each chunk different (its index up front), hashed as they go."""
    block = os.urandom(MIB)
    for i in range(SIZE // MIB):
        chunk = i.to_bytes(8, "big") + block[8:]
        md5.update(chunk)
        yield chunk


def test_large_post_keeps_the_frontend_rss_flat(cluster, s3, bucket):
    form = s3.generate_presigned_post(bucket, "big.bin", Conditions=[["content-length-range", 1, SIZE]])
    head, tail = form_parts(form["fields"])
    md5 = hashlib.md5()

    def body() -> Iterator[bytes]:
        yield head
        yield from file_chunks(md5)
        yield tail

    url = urlsplit(form["url"])
    sampler = Sampler(cluster.pid("s3-0"))
    before = sampler.peak
    sampler.start()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    try:
        conn.request("POST", url.path, body=body(), headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(head) + SIZE + len(tail))})
        resp = conn.getresponse()
        answer = resp.read()
    finally:
        conn.close()
        sampler.done.set()
        sampler.join()
    assert resp.status == 204, answer
    assert sampler.peak - before < FLAT, f"the front-end grew by {(sampler.peak - before) / MIB:.0f} MiB"
    head_md = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head_md["ContentLength"] == SIZE and head_md["ETag"] == f'"{md5.hexdigest()}"'
    s3.delete_object(Bucket=bucket, Key="big.bin")
