"""The request and response objects that S3 handlers see."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.config import Account
from shared.errors import S3Error
from shared.models import decode_version_id

if TYPE_CHECKING:
    from s3front.auth import AuthResult
    from s3front.authorize import Access
    from s3front.frontend import Frontend
    from s3front.routing import Operation

Receive = Callable[[], Awaitable[dict]]


@dataclass
class S3Request:
    method: str
    raw_path: str
    raw_query: str
    bucket: str | None
    key: str | None
    query: dict[str, str]
    headers: dict[str, str]
    request_id: str
    receive: Receive
    frontend: "Frontend"
    operation: "Operation | None" = None
    auth: "AuthResult | None" = None
    body_complete: bool = False        # the whole HTTP body has been read
    access: "Access | None" = None     # what authorization resolved (s3front.authorize)
    source_ip: str = ""                # the client's address (aws:SourceIp)
    secure: bool = False               # the request came over TLS (aws:SecureTransport)
    received: int = 0                  # body bytes read so far, as sent (metrics)
    sent: int = 0                      # body bytes of the answer sent so far (metrics)
    body_done_at: float = 0.0          # perf clock: the body's last byte arrived (access logs)
    replied_at: float = 0.0            # perf clock: the answer's first byte left (access logs)

    @property
    def account(self) -> Account | None:
        return self.auth.account if self.auth else None

    @property
    def principal(self) -> Any:
        """Who signed, in the policy language's terms (s3front.iam.Principal): an IAM user, a
        session, a service account; None for an account's own keys and for anonymous requests."""
        return self.auth.principal if self.auth else None

    @property
    def resource(self) -> str:
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}" + (f"/{self.key}" if self.key is not None else "")

    def require_account(self) -> Account:
        if self.account is None:
            raise S3Error("AccessDenied")
        return self.account

    async def raw_body(self) -> AsyncIterator[bytes]:
        """The bytes of the HTTP body as they arrive (still framed, if the client used aws-chunked)."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise S3Error("IncompleteBody", "The client closed the connection before the body ended.")
            chunk = message.get("body", b"")
            if chunk:
                self.received += len(chunk)
                yield chunk
            if not message.get("more_body", False):
                self.body_complete = True
                self.body_done_at = time.perf_counter()
                return


def version_param(req: S3Request) -> str | None:
    """The internal version id the query's versionId names, or None."""
    value = req.query.get("versionId")
    return None if value is None else decode_version_id(value)


def upload_id(req: S3Request) -> str:
    """The uploadId query parameter; NoSuchUpload when it is empty."""
    value = req.query.get("uploadId", "")
    if not value:
        raise S3Error("NoSuchUpload", UploadId=value)
    return value


@dataclass
class S3Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | AsyncIterator[bytes] = b""
    after: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)   # work once the client has its answer
    error_code: str | None = None      # the S3 error it answers, if any (access logs)
    deleted: tuple[tuple[str, str | None], ...] = ()    # DeleteObjects: the (key, versionId) it removed

    def run_after(self) -> None:
        for job in self.after:
            asyncio.get_running_loop().create_task(job())


def xml_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> S3Response:
    return S3Response(status, {"Content-Type": "application/xml", **(headers or {})}, body)
