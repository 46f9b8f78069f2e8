"""Limits on what a client may make a server hold: the size of a request head, and how slowly it may send.

`HeadCounter` is the pure part: the protocol (services/runner.py) tells it what the parser saw and how
big each chunk read from the socket was, and it raises the S3Error to answer once a limit is passed.
It counts in two ways, both cheap (an addition per chunk, and per header field):

- the parsed sizes, the URL and each field as the parser reports them: these are the limits, exactly
  (a field counts its name and value, plus 4 for ": " and CRLF).
- the bytes of every chunk read while a head is incomplete: this stops a head that grows without end
  (one field that never ends, say) before httptools accumulates it; httptools concatenates a field's
  pieces, so an unbounded field costs quadratic time. This guard allows `WIRE_SLACK` more than the
  head limit, for what the parsed sizes leave out (method, version, line ends, spaces). A chunk in
  which a message also ended is not counted, since the next head's share of it is unknown: a head can
  pass the guard by one socket read at most (uvloop reads 256 KiB).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from http import HTTPStatus

from s3front.errors import error_body
from shared import constants as C
from shared.config import Config
from shared.errors import S3Error

TOO_LARGE = "RequestHeaderSectionTooLarge"
_SHOWN_NAME = 64            # how much of an oversized field's name an error message quotes
WIRE_SLACK = 1024           # the bytes of a head on the wire beyond its parsed sizes, at most


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The limits of one server port (sizes in bytes, times in seconds)."""
    url_bytes: int = C.HTTP_MAX_URL_BYTES
    field_bytes: int = C.HTTP_MAX_FIELD_BYTES
    fields: int = C.HTTP_MAX_FIELDS
    head_bytes: int = C.HTTP_MAX_HEAD_BYTES
    header_timeout: float = C.HTTP_HEADER_TIMEOUT_S
    body_timeout: float = C.HTTP_BODY_TIMEOUT_S
    idle_timeout: float = C.HTTP_IDLE_TIMEOUT_S
    linger: float = C.HTTP_LINGER_S
    linger_bytes: int = C.HTTP_LINGER_BYTES

    @classmethod
    def from_config(cls, config: Config, daemon: bool = False) -> "HttpLimits":
        """The sizes are fixed; the timeouts are settings (COFFER_HTTP_*_TIMEOUT).

        A daemon's body comes from a front-end relaying its own client's: the daemon waits longer,
        so that the front-end answers its stalled client RequestTimeout rather than relay an error.
        """
        grace = C.HTTP_DAEMON_BODY_GRACE_S if daemon else 0.0
        return cls(header_timeout=config.http_header_timeout, body_timeout=config.http_body_timeout + grace,
                   idle_timeout=config.http_idle_timeout)


class HeadCounter:
    """Where one connection's parser is (head, body, neither) and how big the head being read is."""

    __slots__ = ("limits", "in_head", "in_body", "wire_bytes", "url_bytes", "field_bytes", "fields", "_ended")

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.in_head = self.in_body = self._ended = False
        self.wire_bytes = self.url_bytes = self.field_bytes = self.fields = 0

    def begin(self) -> None:
        """A request starts (its first byte was parsed): its head is being read."""
        self.in_head, self.in_body = True, False
        self.wire_bytes = self.url_bytes = self.field_bytes = self.fields = 0

    def url(self, size: int) -> None:
        """The URL read so far is `size` bytes long."""
        self.url_bytes = size
        limits = self.limits
        if size > limits.url_bytes:
            raise S3Error(TOO_LARGE, f"The request URI exceeds the maximum allowed size of {limits.url_bytes}"
                          " bytes.", MaxSizeAllowed=limits.url_bytes)
        if size + self.field_bytes > limits.head_bytes:
            raise S3Error(TOO_LARGE, MaxSizeAllowed=limits.head_bytes)

    def field(self, name: bytes, value: bytes) -> None:
        """One whole header field was parsed."""
        size = len(name) + len(value)
        self.fields += 1
        self.field_bytes += size + 4            # ": " and CRLF
        limits = self.limits
        # One test on the way of every field; which limit was passed is worked out only on a refusal.
        if size > limits.field_bytes or self.fields > limits.fields or \
                self.url_bytes + self.field_bytes > limits.head_bytes:
            raise self._field_refusal(name, size)

    def _field_refusal(self, name: bytes, size: int) -> S3Error:
        limits = self.limits
        if self.fields > limits.fields:
            return S3Error(TOO_LARGE, f"Your request has more than the {limits.fields} header fields allowed.")
        if size > limits.field_bytes:
            shown = name[:_SHOWN_NAME].decode("latin-1")
            return S3Error(TOO_LARGE, f"The header field {shown!r} exceeds the maximum allowed size of "
                           f"{limits.field_bytes} bytes.", MaxSizeAllowed=limits.field_bytes)
        return S3Error(TOO_LARGE, MaxSizeAllowed=limits.head_bytes)

    def head_done(self) -> None:
        """The head is complete; a body may follow."""
        self.in_head, self.in_body = False, True

    def message_done(self) -> None:
        """The request (body included) is complete."""
        self.in_body, self._ended = False, True

    def chunk(self, size: int) -> None:
        """A chunk of `size` bytes was parsed: while a head is incomplete, it counts against the head."""
        ended, self._ended = self._ended, False
        if self.in_head and not ended:
            self.wire_bytes += size
            if self.wire_bytes > self.limits.head_bytes + WIRE_SLACK:
                raise S3Error(TOO_LARGE, MaxSizeAllowed=self.limits.head_bytes)

    def reset(self) -> None:
        """The connection is being closed: nothing more is counted."""
        self.in_head = self.in_body = self._ended = False


def error_response(err: S3Error, resource: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP response carrying `err` as S3 XML, ending the connection."""
    rid = secrets.token_hex(8).upper()
    body = error_body(err, resource, rid)
    lines = [b"HTTP/1.1 %d %s" % (err.status, HTTPStatus(err.status).phrase.encode())]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [b"x-amz-request-id: " + rid.encode(), b"x-amz-id-2: " + rid.encode(), b"server: Coffer",
              b"content-type: application/xml", b"content-length: %d" % len(body), b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
