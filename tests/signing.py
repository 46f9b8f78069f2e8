"""Client-side signing for raw-HTTP tests: botocore's SigV4Auth, aws-chunked framing done by hand."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import os

import httpx
import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.cluster import ACCESS_KEY, SECRET_KEY

REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_names = itertools.count()


def _leaving_out(signer: type, names: frozenset[str]) -> type:
    """botocore's signer `signer`, made to leave the headers `names` out of SignedHeaders."""
    class Partial(signer):
        def headers_to_sign(self, request):
            chosen = super().headers_to_sign(request)
            for name in names:
                del chosen[name]
            return chosen
    return Partial


def sign_v4(method: str, url: str, headers: dict[str, str], payload_hash: str,
            left_out: frozenset[str] = frozenset()) -> dict[str, str]:
    """The headers of a request signed with SigV4 in the Authorization header, as botocore does it
    (`left_out`: headers sent but kept out of SignedHeaders)."""
    req = AWSRequest(method=method, url=url, headers={**headers, "X-Amz-Content-SHA256": payload_hash})
    _leaving_out(SigV4Auth, left_out)(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
    return dict(req.headers.items())


def presign_v4(method: str, url: str, headers: dict[str, str] | None = None, expires: int = 300,
               left_out: frozenset[str] = frozenset()) -> str:
    """A presigned SigV4 URL, as botocore makes it; `headers` are signed and must be sent with it."""
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    signer = _leaving_out(S3SigV4QueryAuth, left_out)
    signer(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION, expires=expires).add_auth(req)
    return req.url


def send_v4(method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None,
            payload_hash: str | None = None) -> httpx.Response:
    """Send a SigV4-signed request; payload_hash defaults to the body's real SHA-256."""
    headers = {"Content-Length": str(len(body)), **(headers or {})}
    signed = sign_v4(method, url, headers, payload_hash or hashlib.sha256(body).hexdigest())
    return httpx.request(method, url, headers=signed, content=body)


class ChunkSigner:
    """Signs aws-chunked chunks the way an SDK does, seeded by the request's signature."""

    def __init__(self, headers: dict[str, str]) -> None:
        auth = headers["Authorization"]
        self.previous = auth.rsplit("Signature=", 1)[1]
        self.amz_date = headers["X-Amz-Date"]
        self.scope = f"{self.amz_date[:8]}/{REGION}/s3/aws4_request"
        key = ("AWS4" + SECRET_KEY).encode()
        for part in (self.amz_date[:8], REGION, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self.key = key

    def _sign(self, to_sign: str) -> str:
        self.previous = hmac.new(self.key, to_sign.encode(), hashlib.sha256).hexdigest()
        return self.previous

    def chunk(self, data: bytes) -> str:
        return self._sign("\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, self.previous,
                                     EMPTY_SHA256, hashlib.sha256(data).hexdigest()]))

    def trailer(self, trailers: dict[str, str]) -> str:
        canonical = "".join(f"{k}:{v}\n" for k, v in sorted(trailers.items())).encode()
        return self._sign("\n".join(["AWS4-HMAC-SHA256-TRAILER", self.amz_date, self.scope, self.previous,
                                     hashlib.sha256(canonical).hexdigest()]))


def signed_chunked_body(signer: ChunkSigner, chunks: list[bytes], trailers: dict[str, str] | None = None,
                        tamper: int | None = None) -> bytes:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) framing; chunk number `tamper` gets a wrong signature."""
    out = b""
    for i, chunk in enumerate(chunks + [b""]):
        sig = signer.chunk(chunk)
        if i == tamper:
            sig = "0" * 64
        out += b"%x;chunk-signature=%s\r\n" % (len(chunk), sig.encode()) + (chunk + b"\r\n" if chunk else b"")
    if trailers is None:
        return out + b"\r\n"
    for k, v in trailers.items():
        out += f"{k}:{v}\r\n".encode()
    return out + f"x-amz-trailer-signature:{signer.trailer(trailers)}\r\n\r\n".encode()


def unsigned_chunked_body(chunks: list[bytes], trailers: dict[str, str]) -> bytes:
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER framing, as botocore's AwsChunkedWrapper writes it."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n"
    return out + b"".join(f"{k}:{v}\r\n".encode() for k, v in trailers.items()) + b"\r\n"


def send_chunked(url: str, chunks: list[bytes], mode: str, trailers: dict[str, str] | None = None,
                 tamper: int | None = None, headers: dict[str, str] | None = None,
                 unsigned: dict[str, str] | None = None) -> httpx.Response:
    """PUT an aws-chunked body in `mode` (a STREAMING-* x-amz-content-sha256), framed and signed here;
    `unsigned` headers are added after signing."""
    decoded = sum(map(len, chunks))
    base = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(decoded), **(headers or {})}
    if trailers:
        base["X-Amz-Trailer"] = ",".join(trailers)
    if mode == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
        body = unsigned_chunked_body(chunks, trailers or {})
        signed = sign_v4("PUT", url, {**base, "Content-Length": str(len(body))}, mode)
        return httpx.put(url, headers={**signed, **(unsigned or {})}, content=body)
    # Signatures have a fixed width, so framing with dummy ones gives the Content-Length to sign.
    dummy = ChunkSigner({"Authorization": "Signature=" + "0" * 64, "X-Amz-Date": "20250101T000000Z"})
    probe = signed_chunked_body(dummy, chunks, trailers)
    signed = sign_v4("PUT", url, {**base, "Content-Length": str(len(probe))}, mode)
    body = signed_chunked_body(ChunkSigner(signed), chunks, trailers, tamper)
    assert len(body) == len(probe)
    return httpx.put(url, headers={**signed, **(unsigned or {})}, content=body)


@pytest.fixture
def bucket(s3):
    """A new bucket; emptied afterwards when listing allows it (the cluster's directory goes anyway)."""
    name = f"auth-{os.getpid()}-{next(_names)}"
    s3.create_bucket(Bucket=name)
    yield name
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=obj["Key"])
        s3.delete_bucket(Bucket=name)
    except Exception:  # noqa: BLE001 - a leftover bucket in a throwaway cluster harms nothing
        pass
