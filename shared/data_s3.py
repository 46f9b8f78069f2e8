"""A bucket of an S3-compatible endpoint as a data location (`aws_s3`): AWS, MinIO, Ceph RGW, a Coffer.

Requests go out on one pooled httpx.AsyncClient per location (TLS, timeouts on connect, pool and
every read and write) and are signed by botocore's SigV4 signer: AWS's own canonicalisation rules,
kept in step with AWS, where a copy of s3front's verifier would be a second implementation to keep
right (and shared/ may not import s3front). Bodies stream both ways: a put of known length is one
PUT whose body leaves as it arrives; an unknown length becomes a remote multipart upload of
C.REMOTE_PART_BYTES parts, so a put holds at most one part in memory.

Remote names (docs/locations.md): details.prefix, then the object's key (`bucketMatch: true`) or
"<Coffer bucket>/<key>" (`false`). Two Coffer versions of one key must never share bytes, so a
versioned remote bucket (`supportsVersioning`, the default) keeps each put as its own remote version
and the piece key names it ("<name>?versionId=<id>"); without versioning, each put gets a unique
name ("<name>.<16 hex digits>").
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from typing import NoReturn
from urllib.parse import quote

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from defusedxml import ElementTree

from shared import constants as C
from shared import s3_documents as xmldoc
from shared.contract.data import Body, LocationHealth, StoredFile
from shared.errors import InternalError, S3Error, ServiceUnavailable
from shared.locations import LocationConfigError, S3Details

log = logging.getLogger("coffer.data.s3")

_UNSIGNED = "UNSIGNED-PAYLOAD"
_VERSION_MARK = "?versionId="
_PASSED_ON = ("EntityTooLarge", "InvalidRange")      # remote answers that mean the same to our client
_RETRYABLE = (502, 503, 504)


class _Signer(S3SigV4Auth):
    """SigV4 with UNSIGNED-PAYLOAD: a streamed body cannot be hashed before it is sent (TLS guards it)."""

    def _should_sha256_sign_payload(self, request: AWSRequest) -> bool:
        return False


class S3Backend:
    """One `aws_s3` location."""

    def __init__(self, name: str, details: S3Details) -> None:
        self.name = name
        self.d = details
        self._signer = _Signer(_credentials(name, details), "s3", details.region)
        host = details.endpoint.split("://", 1)[1]
        scheme = "https" if details.https else "http"
        self._base = (f"{details.endpoint}/{details.bucket}" if details.path_style
                      else f"{scheme}://{details.bucket}.{host}")
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(details.read_timeout, connect=details.connect_timeout,
                                  pool=C.REMOTE_POOL_TIMEOUT_S),
            limits=httpx.Limits(max_connections=C.REMOTE_MAX_CONNECTIONS,
                                max_keepalive_connections=C.REMOTE_MAX_IDLE),
            follow_redirects=False, trust_env=False)

    # -- DataBackend -------------------------------------------------------------------------

    async def put(self, body: Body, length: int | None, hint: str | None = None) -> str:
        """Store the bytes under a new remote name (or version); the piece key that names them."""
        name = self.remote_name(hint)
        if isinstance(body, bytes):
            return await self._put_whole(name, body, len(body))
        if length is None:
            return await self._put_unknown_length(name, body)
        return await self._put_whole(name, body, length)

    async def get(self, key: str, start: int | None = None, end: int | None = None) -> S3Stream:
        """Open a stored piece (or bytes [start, end] of it) as a stream of the remote's answer."""
        name, version = self._split(key)
        headers = {} if start is None else {"Range": f"bytes={start}-{'' if end is None else end}"}
        resp = await self._send("GET", name, _version_query(version), headers, stream=True)
        if resp.status_code not in (200, 206):
            if resp.status_code == 404:
                await resp.aclose()
                log.error("data missing for referenced metadata", extra={"location": self.name, "dataKey": key})
                raise InternalError(f"data {key} is missing from location {self.name!r}")
            await self._fail(resp, "GET")
        stream = S3Stream(resp, self.name)
        if int(resp.headers.get("content-length", C.DATA_INLINE_READ_BYTES + 1)) <= C.DATA_INLINE_READ_BYTES:
            await stream.preload()
        return stream

    async def delete(self, key: str) -> None:
        """Delete a stored piece (its remote version, on a versioned bucket); a missing one is deleted."""
        name, version = self._split(key)
        resp = await self._send("DELETE", name, _version_query(version))
        if resp.status_code not in (200, 204, 404):
            await self._fail(resp, "DELETE")

    async def size(self, key: str) -> int | None:
        name, version = self._split(key)
        resp = await self._send("HEAD", name, _version_query(version))
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            await self._fail(resp, "HEAD")
        return int(resp.headers["content-length"])

    async def list_files(self) -> AsyncIterator[StoredFile]:
        """Every piece under the location's prefix, as piece keys, in the remote's listing order."""
        listing = self._list_versions if self.d.supports_versioning else self._list_objects
        async for stored in listing():
            yield stored

    async def health(self) -> LocationHealth:
        """The remote bucket answers, and keeps versions when the location relies on them."""
        try:
            resp = await self._send("HEAD", "")
            if resp.status_code != 200:
                return LocationHealth(False, f"HEAD of remote bucket {self.d.bucket!r} answered {resp.status_code}")
            if self.d.supports_versioning:
                status = xmldoc.field_text(await self._xml("GET", "", [("versioning", "")]), "Status")
                if status != "Enabled":
                    return LocationHealth(False, f"versioning is not enabled on remote bucket {self.d.bucket!r}")
        except (S3Error, InternalError) as exc:
            return LocationHealth(False, getattr(exc, "detail", None) or str(exc))
        return LocationHealth(True)

    async def close(self) -> None:
        await self._http.aclose()

    # -- names -------------------------------------------------------------------------------

    def remote_name(self, hint: str | None) -> str:
        """Where a put goes in the remote bucket: prefix, then the key (or "bucket/key"), or a random name."""
        base = None
        if hint:
            bucket, _, key = hint.partition("/")
            base = _no_dot_segments(key if self.d.bucket_match else f"{bucket}/{key}")
        name = self.d.prefix + (base or secrets.token_hex(16))
        if len(name.encode()) > C.MAX_KEY_BYTES - 20:      # room for the unique suffix below
            name = self.d.prefix + secrets.token_hex(16)
        return name if self.d.supports_versioning else f"{name}.{secrets.token_hex(8)}"

    def _piece_key(self, name: str, resp: httpx.Response) -> str:
        if not self.d.supports_versioning:
            return name
        version = resp.headers.get("x-amz-version-id")
        if not version or version == "null":
            log.error("remote bucket does not keep versions", extra={"location": self.name, "bucket": self.d.bucket})
            raise InternalError(f"location {self.name!r}: remote bucket {self.d.bucket!r} does not keep versions "
                                "(enable versioning on it, or set supportsVersioning to false)")
        return f"{name}{_VERSION_MARK}{version}"

    def _split(self, key: str) -> tuple[str, str | None]:
        if not self.d.supports_versioning:
            return key, None
        name, _, version = key.rpartition(_VERSION_MARK)
        return name, version

    # -- multipart (unknown length) ----------------------------------------------------------

    async def _put_unknown_length(self, name: str, body: AsyncIterator[bytes]) -> str:
        chunks = body.__aiter__()
        part, done = await _read_part(chunks)
        if done:                        # it fits one part: one PUT
            return await self._put_whole(name, part, len(part))
        upload = xmldoc.field_text(await self._xml("POST", name, [("uploads", "")], self._write_headers()), "UploadId")
        try:
            etags: list[str] = []
            while part or not etags:
                etags.append(await self._upload_part(name, upload, len(etags) + 1, part))
                part, done = (b"", True) if done else await _read_part(chunks)
            return await self._complete(name, upload, etags)
        except BaseException:
            await self._abort(name, upload)
            raise

    async def _put_whole(self, name: str, body: Body, length: int) -> str:
        """One PUT; a streamed body leaves as it arrives, framed by its Content-Length."""
        headers = self._write_headers()
        if not isinstance(body, bytes):
            headers["Content-Length"] = str(length)
        resp = await self._send("PUT", name, headers=headers, body=body)
        await self._expect(resp, "PUT", 200)
        return self._piece_key(name, resp)

    async def _upload_part(self, name: str, upload: str, number: int, data: bytes) -> str:
        resp = await self._send("PUT", name, [("partNumber", str(number)), ("uploadId", upload)], body=data)
        await self._expect(resp, "UploadPart", 200)
        return resp.headers["etag"]

    async def _complete(self, name: str, upload: str, etags: list[str]) -> str:
        parts = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
                        for n, e in enumerate(etags, 1))
        body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        resp = await self._send("POST", name, [("uploadId", upload)], body=body)
        text = await resp.aread()
        if resp.status_code != 200 or b"<Error>" in text[:512]:     # S3 may fail a completion inside a 200
            self._raise(resp.status_code, xmldoc.code(text), "CompleteMultipartUpload")
        return self._piece_key(name, resp)

    async def _abort(self, name: str, upload: str) -> None:
        try:
            await self._send("DELETE", name, [("uploadId", upload)])
        except Exception as exc:  # noqa: BLE001 - the remote's own lifecycle rules reclaim what is left
            log.warning("could not abort a remote multipart upload",
                        extra={"location": self.name, "uploadId": upload, "error": str(exc)})

    # -- listings ----------------------------------------------------------------------------

    async def _list_objects(self) -> AsyncIterator[StoredFile]:
        token = None
        while True:
            query = [("list-type", "2"), ("prefix", self.d.prefix), ("max-keys", str(C.REMOTE_LIST_PAGE))]
            root = await self._xml("GET", "", query + ([("continuation-token", token)] if token else []))
            for item in xmldoc.children(root, "Contents"):
                yield StoredFile(xmldoc.field_text(item, "Key"), int(xmldoc.field_text(item, "Size")), xmldoc.mtime(xmldoc.field_text(item, "LastModified")))
            token = xmldoc.field_text(root, "NextContinuationToken")
            if xmldoc.field_text(root, "IsTruncated") != "true" or not token:
                return

    async def _list_versions(self) -> AsyncIterator[StoredFile]:
        markers: list[tuple[str, str]] = []
        while True:
            query = [("versions", ""), ("prefix", self.d.prefix), ("max-keys", str(C.REMOTE_LIST_PAGE))]
            root = await self._xml("GET", "", query + markers)
            for item in xmldoc.children(root, "Version"):
                yield StoredFile(f"{xmldoc.field_text(item, 'Key')}{_VERSION_MARK}{xmldoc.field_text(item, 'VersionId')}",
                                 int(xmldoc.field_text(item, "Size")), xmldoc.mtime(xmldoc.field_text(item, "LastModified")))
            if xmldoc.field_text(root, "IsTruncated") != "true":
                return
            markers = [("key-marker", xmldoc.field_text(root, "NextKeyMarker")),
                       ("version-id-marker", xmldoc.field_text(root, "NextVersionIdMarker"))]

    # -- requests ----------------------------------------------------------------------------

    def _write_headers(self) -> dict[str, str]:
        return {"x-amz-server-side-encryption": "AES256"} if self.d.server_side_encryption else {}

    def _url(self, name: str, query: list[tuple[str, str]]) -> str:
        url = f"{self._base}/{quote(name, safe='/~')}" if name else (self._base if self.d.path_style
                                                                      else self._base + "/")
        if query:       # encoded as SigV4 canonicalises it, so the signer's and the wire's agree
            url += "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
        return url

    async def _send(self, method: str, name: str, query: list[tuple[str, str]] | None = None,
                    headers: dict[str, str] | None = None, body: Body | None = None,
                    stream: bool = False) -> httpx.Response:
        url = self._url(name, query or [])
        headers = headers or {}
        if isinstance(body, bytes) and len(body) > C.DATA_INLINE_READ_BYTES:
            # httpx's response and its stream reference each other, and through the request its body:
            # sent from a generator, a part is not kept alive by that cycle until the next GC.
            body, headers = _once(body), {**headers, "Content-Length": str(len(body))}
        signed = AWSRequest(method=method, url=url, headers={**headers, "X-Amz-Content-SHA256": _UNSIGNED})
        length = headers.get("Content-Length")
        if length is not None:
            del signed.headers["Content-Length"]      # sent, not signed: httpx frames the body by it
        self._signer.add_auth(signed)
        out = dict(signed.headers.items())
        if length is not None:
            out["Content-Length"] = length
        try:
            request = self._http.build_request(method, url, headers=out, content=body)
            return await self._http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise self._unavailable(method, f"timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(method, str(exc) or type(exc).__name__) from exc

    async def _xml(self, method: str, name: str, query: list[tuple[str, str]],
                   headers: dict[str, str] | None = None) -> ElementTree.Element:
        resp = await self._send(method, name, query, headers)
        await self._expect(resp, f"{method} ?{query[0][0]}", 200)
        try:
            return xmldoc.strip_namespaces(ElementTree.fromstring(resp.content))
        except ElementTree.ParseError as exc:
            raise InternalError(f"location {self.name!r} answered malformed XML: {exc}") from exc

    async def _expect(self, resp: httpx.Response, op: str, status: int) -> None:
        if resp.status_code != status:
            await self._fail(resp, op)

    async def _fail(self, resp: httpx.Response, op: str) -> NoReturn:
        try:
            text = await resp.aread()
        except httpx.HTTPError:
            text = b""
        self._raise(resp.status_code, xmldoc.code(text) or resp.headers.get("x-amz-error-code", ""), op)

    def _raise(self, status: int, code: str, op: str) -> NoReturn:
        """A remote error as the client should see it; the log line names the location, never a secret."""
        log.warning("data location answered an error",
                    extra={"location": self.name, "op": op, "status": status, "code": code})
        if status in _RETRYABLE or code == "SlowDown":
            raise ServiceUnavailable(f"location {self.name!r}: {op} answered {status} {code}".rstrip())
        if code in _PASSED_ON:
            raise S3Error(code)
        raise InternalError(f"location {self.name!r}: {op} answered {status} {code}".rstrip())

    def _unavailable(self, op: str, why: str) -> ServiceUnavailable:
        log.warning("data location is not reachable", extra={"location": self.name, "op": op, "error": why})
        return ServiceUnavailable(f"location {self.name!r} ({self.d.endpoint}) is not reachable: {why}",
                                  outcome_unknown=op in ("PUT", "POST", "DELETE"))


class S3Stream:
    """A remote GET being read: its bytes as they arrive; `aclose` gives the connection back."""

    def __init__(self, resp: httpx.Response, location: str) -> None:
        self._resp = resp
        self._location = location
        self._body: bytes | None = None

    async def preload(self) -> None:
        """Read a small answer at once, so the caller can send it in one piece."""
        try:
            self._body = await self._resp.aread()
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"location {self._location!r} went away mid-body: {exc}") from exc

    def ready(self) -> bytes | None:
        return self._body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body is not None:
            yield self._body
            return
        try:
            async for chunk in self._resp.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"location {self._location!r} went away mid-body: {exc}") from exc
        finally:
            await self._resp.aclose()

    async def aclose(self) -> None:
        await self._resp.aclose()


def _credentials(name: str, d: S3Details) -> Credentials:
    """The location's keys, or its profile's (resolved by botocore: files, environment, roles)."""
    if d.access_key:
        return Credentials(d.access_key, d.secret_key)
    import botocore.session
    from botocore.exceptions import BotoCoreError
    try:
        found = botocore.session.Session(profile=d.profile).get_credentials()
    except BotoCoreError as exc:
        raise LocationConfigError(f"location {name!r}", [f"credentialsProfile {d.profile!r}: {exc}"]) from None
    if found is None:
        raise LocationConfigError(f"location {name!r}", [f"credentialsProfile {d.profile!r} has no credentials"])
    return found


async def _read_part(chunks: AsyncIterator[bytes]) -> tuple[bytes, bool]:
    """The next part of a body (C.REMOTE_PART_BYTES or a chunk more, or what is left) and whether it ended.

    Parts need not be equal, so a part is its chunks joined once: no slicing, no second copy.
    """
    held: list[bytes] = []
    size = 0
    while size < C.REMOTE_PART_BYTES:
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return b"".join(held), True
        held.append(chunk)
        size += len(chunk)
    return b"".join(held), False


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _no_dot_segments(name: str) -> str:
    """HTTP clients resolve "." and ".." path segments away: such segments get a "~" to survive."""
    parts = name.split("/")
    return "/".join(p + "~" if p in (".", "..") else p for p in parts)


def _version_query(version: str | None) -> list[tuple[str, str]]:
    return [("versionId", version)] if version else []
