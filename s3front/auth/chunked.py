"""aws-chunked request bodies: a pure decoder (bytes in, events out) and the async glue that checks it.

Framing: `hex-size[;chunk-signature=sig]\\r\\n data \\r\\n` ... `0[;chunk-signature=sig]\\r\\n`, then
either `\\r\\n` or trailer lines `name:value\\r\\n` ended by an empty line. The decoder never holds
more than one header or trailer line; chunk data passes straight through as it arrives.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared import constants as C
from shared.errors import S3Error
from shared.params import parse_hex, parse_int

if TYPE_CHECKING:
    from s3front.request import S3Request

SIGNED = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
TRAILER_SIGNATURE = "x-amz-trailer-signature"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SIZE, _DATA, _DATA_END, _FINAL_END, _TRAILER, _DONE = range(6)


@dataclass(frozen=True)
class Data:
    data: bytes


@dataclass(frozen=True)
class ChunkEnd:
    """A chunk ended: its size, the SHA-256 of its data (signed streams only) and its signature."""
    size: int
    sha256: str | None
    signature: str | None


@dataclass(frozen=True)
class Trailers:
    fields: dict[str, str]          # lower-case names, the trailer signature left out
    canonical: bytes                # `name:value\n` for each field, as the trailer signature covers them
    signature: str | None


@dataclass(frozen=True)
class Done:
    pass


Event = Data | ChunkEnd | Trailers | Done


def _incomplete(detail: str = "The request body terminated unexpectedly") -> S3Error:
    return S3Error("IncompleteBody", detail)


class ChunkedDecoder:
    """The aws-chunked state machine, in the h11 style: `feed()` bytes, get events; `end()` at EOF."""

    def __init__(self, signed: bool, trailers: frozenset[str] = frozenset(), length: int | None = None) -> None:
        self.signed = signed
        self.expected_trailers = trailers       # names the client declared (x-amz-trailer and the signature)
        self.length = length                    # x-amz-decoded-content-length, when known
        self.received = 0
        self._state = _SIZE
        self._buf = bytearray()                 # an unfinished header or trailer line
        self._left = 0                          # data bytes still due in the current chunk
        self._chunk_size = 0
        self._signature: str | None = None
        self._sha: hashlib._Hash | None = None
        self._chunks = 0
        self._last_size: int | None = None
        self._fields: dict[str, str] = {}
        self._trailer_sig: str | None = None

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> list[Event]:
        """Consume bytes; returns the events they complete (payload bytes as `Data`)."""
        events: list[Event] = []
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            if self._state == _DATA:
                pos = self._take_data(view, pos, events)
            elif self._state == _DONE:
                raise _incomplete("The request body has data after its end.")
            else:
                pos = self._take_line(view, pos, events)
        return events

    def end(self) -> list[Event]:
        """The input ended; complete the body or refuse it as incomplete."""
        if self._state == _FINAL_END and not self._buf:
            return self._finish([])    # some clients omit the last CRLF after the final chunk
        if self._state != _DONE:
            raise _incomplete()
        return []

    # -- data -------------------------------------------------------------------------------------

    def _take_data(self, view: memoryview, pos: int, events: list[Event]) -> int:
        whole = pos == 0 and self._left >= len(view)
        piece = view.obj if whole and isinstance(view.obj, bytes) else bytes(view[pos:pos + self._left])
        self._left -= len(piece)
        if self._sha is not None:
            self._sha.update(piece)
        events.append(Data(piece))
        if self._left == 0:
            self._end_chunk(events)
            self._state = _DATA_END
        return pos + len(piece)

    # -- lines ------------------------------------------------------------------------------------

    def _take_line(self, view: memoryview, pos: int, events: list[Event]) -> int:
        """Gather one CRLF-ended line (bounded), then act on it."""
        end = bytes(view[pos:pos + C.CHUNKED_MAX_LINE_BYTES + 2]).find(b"\n")
        if end < 0:
            self._buf += view[pos:]
            if len(self._buf) > C.CHUNKED_MAX_LINE_BYTES:
                raise _incomplete("A chunk header or trailer line is too long.")
            return len(view)
        self._buf += view[pos:pos + end + 1]
        line = bytes(self._buf)
        self._buf.clear()
        if not line.endswith(b"\r\n") or len(line) > C.CHUNKED_MAX_LINE_BYTES + 2:
            raise _incomplete()
        self._on_line(line[:-2], events)
        return pos + end + 1

    def _on_line(self, line: bytes, events: list[Event]) -> None:
        if self._state == _SIZE:
            self._on_size(line, events)
        elif self._state == _DATA_END:
            if line:
                raise _incomplete("A chunk is longer than its size says.")
            self._state = _SIZE
        elif self._state == _FINAL_END:
            if line:
                self._state = _TRAILER
                self._on_trailer(line, events)
            else:
                self._finish(events)
        elif self._state == _TRAILER:
            if line:
                self._on_trailer(line, events)
            else:
                self._finish(events)

    def _on_size(self, line: bytes, events: list[Event]) -> None:
        text, _, params = line.decode("latin-1").partition(";")
        size = parse_hex(text.strip())         # ASCII hex only: int(_, 16) takes "+a", "1_0", " a "
        if size is None:
            raise _incomplete(f"Invalid chunk size {text[:20]!r}.")
        self._chunks += 1
        self._signature = self._chunk_signature(params)
        if self.signed and self._last_size is not None and self._last_size < C.CHUNKED_MIN_CHUNK_BYTES and size:
            raise S3Error("InvalidChunkSizeError", Chunk=self._chunks - 1, BadChunkSize=self._last_size)
        self._last_size = size
        self.received += size
        if self.length is not None and self.received > self.length:
            raise S3Error("IncompleteBody", "The chunks hold more data than x-amz-decoded-content-length says.")
        self._chunk_size = self._left = size
        self._sha = hashlib.sha256() if self.signed else None
        if size:
            self._state = _DATA
            return
        self._end_chunk(events)
        self._state = _FINAL_END

    def _chunk_signature(self, params: str) -> str | None:
        if not self.signed:
            return None
        name, _, value = params.partition("=")
        if name.strip() != "chunk-signature" or not value.strip():
            raise _incomplete("A chunk has no chunk-signature.")
        return value.strip()

    def _end_chunk(self, events: list[Event]) -> None:
        digest = (self._sha.hexdigest() if self._sha else _EMPTY_SHA256) if self.signed else None
        events.append(ChunkEnd(self._chunk_size, digest, self._signature))

    def _on_trailer(self, line: bytes, events: list[Event]) -> None:
        name, sep, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if not sep or name not in self.expected_trailers or name in self._fields or \
                (name == TRAILER_SIGNATURE and self._trailer_sig is not None):
            raise S3Error("MalformedTrailerError")
        if name == TRAILER_SIGNATURE:
            self._trailer_sig = value.strip()
        else:
            self._fields[name] = value.strip()

    def _finish(self, events: list[Event]) -> list[Event]:
        if self.length is not None and self.received != self.length:
            raise S3Error("IncompleteBody", "The chunks hold less data than x-amz-decoded-content-length says.")
        seen = set(self._fields) | ({TRAILER_SIGNATURE} if self._trailer_sig is not None else set())
        if seen != set(self.expected_trailers):
            raise S3Error("MalformedTrailerError")
        if self.expected_trailers:
            canonical = "".join(f"{k}:{v}\n" for k, v in sorted(self._fields.items())).encode("latin-1")
            events.append(Trailers(dict(self._fields), canonical, self._trailer_sig))
        events.append(Done())
        self._state = _DONE
        return events


class ChunkSignatures:
    """The chain of chunk signatures of a signed stream, seeded by the request's own signature."""

    def __init__(self, signing_key: bytes, amz_date: str, scope: str, seed: str) -> None:
        self.key, self.amz_date, self.scope, self.previous = signing_key, amz_date, scope, seed

    def chunk_string_to_sign(self, chunk_sha256: str) -> str:
        return "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, self.previous,
                          _EMPTY_SHA256, chunk_sha256])

    def trailer_string_to_sign(self, canonical: bytes) -> str:
        return "\n".join(["AWS4-HMAC-SHA256-TRAILER", self.amz_date, self.scope, self.previous,
                          hashlib.sha256(canonical).hexdigest()])

    def check_chunk(self, chunk_sha256: str, signature: str | None) -> None:
        self._check(self.chunk_string_to_sign(chunk_sha256), signature)

    def check_trailer(self, canonical: bytes, signature: str | None) -> None:
        self._check(self.trailer_string_to_sign(canonical), signature)

    def _check(self, to_sign: str, signature: str | None) -> None:
        expected = hmac.new(self.key, to_sign.encode(), hashlib.sha256).hexdigest()
        if signature is None or not hmac.compare_digest(expected.encode(), signature.encode()):
            raise S3Error("SignatureDoesNotMatch")
        self.previous = signature


def declared_trailers(headers: dict[str, str]) -> list[str]:
    """The trailer names an x-amz-trailer header declares, lower-cased."""
    value = headers.get("x-amz-trailer", "").strip()
    return [name.strip().lower() for name in value.rstrip(",").split(",")] if value else []


def decoder_for(req: "S3Request", mode: str, length: int | None) -> tuple[ChunkedDecoder, ChunkSignatures | None]:
    """A decoder for the request's streaming mode, and the signature chain to check (signed modes)."""
    signed = mode in SIGNED
    if mode.startswith("STREAMING-") and not signed and mode != UNSIGNED_TRAILER:
        raise S3Error("NotImplemented", f"Coffer cannot validate {mode} streams.")
    names = set(declared_trailers(req.headers))
    if mode.endswith("-TRAILER") and signed:
        names.add(TRAILER_SIGNATURE)
    chain = None
    if signed:
        auth = req.auth
        if auth is None or not auth.signing_key:
            raise S3Error("InvalidRequest", "Signed streaming payloads need AWS Signature Version 4.")
        chain = ChunkSignatures(auth.signing_key, auth.amz_date, auth.scope, auth.seed_signature)
    return ChunkedDecoder(signed, frozenset(names), length), chain


async def decode_chunked(req: "S3Request", trailers: dict[str, str]) -> AsyncIterator[bytes]:
    """The payload of an aws-chunked body, every signature checked; fills `trailers` at the end."""
    mode = req.auth.payload_hash if req.auth else ""
    length = req.headers.get("x-amz-decoded-content-length", "")
    decoder, chain = decoder_for(req, mode, parse_int(length))
    async for piece in req.raw_body():
        for event in decoder.feed(piece):
            data = _apply(event, chain, trailers)
            if data:
                yield data
    for event in decoder.end():
        _apply(event, chain, trailers)


def _apply(event: Event, chain: ChunkSignatures | None, trailers: dict[str, str]) -> bytes | None:
    if isinstance(event, Data):
        return event.data
    if isinstance(event, ChunkEnd) and chain is not None:
        chain.check_chunk(event.sha256 or _EMPTY_SHA256, event.signature)
    elif isinstance(event, Trailers):
        if chain is not None and event.signature is not None:
            chain.check_trailer(event.canonical, event.signature)
        trailers.update(event.fields)
    return None
