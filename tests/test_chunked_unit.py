"""The aws-chunked decoder without sockets: framing, split feeds, trailers, signatures, errors."""
from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3front.auth.chunked import ChunkedDecoder, ChunkEnd, ChunkSignatures, Data, Done, Trailers
from shared.errors import S3Error

KEY = b"k" * 32
DATE, SCOPE, SEED = "20250101T000000Z", "20250101/us-east-1/s3/aws4_request", "a" * 64
EMPTY = hashlib.sha256(b"").hexdigest()


def unsigned_body(chunks: list[bytes], trailers: dict[str, str] | None = None) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n"
    for k, v in (trailers or {}).items():
        out += f"{k}:{v}\r\n".encode()
    return out + b"\r\n"


def _sign(to_sign: str) -> str:
    return hmac.new(KEY, to_sign.encode(), hashlib.sha256).hexdigest()


def signed_body(chunks: list[bytes], trailers: dict[str, str] | None = None, tamper: int | None = None) -> bytes:
    """Frame `chunks` as STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), signing each like a client does."""
    prev, out = SEED, b""
    for i, chunk in enumerate([c for c in chunks if c] + [b""]):
        sig = _sign("\n".join(["AWS4-HMAC-SHA256-PAYLOAD", DATE, SCOPE, prev, EMPTY,
                               hashlib.sha256(chunk).hexdigest()]))
        if i == tamper:
            sig = "0" * 64
        out += b"%x;chunk-signature=%s\r\n" % (len(chunk), sig.encode())
        out += chunk + b"\r\n" if chunk else b""
        prev = sig
    if trailers is None:
        return out + b"\r\n"
    canonical = "".join(f"{k}:{v}\n" for k, v in sorted(trailers.items())).encode()
    tsig = _sign("\n".join(["AWS4-HMAC-SHA256-TRAILER", DATE, SCOPE, prev, hashlib.sha256(canonical).hexdigest()]))
    for k, v in trailers.items():
        out += f"{k}:{v}\r\n".encode()
    return out + f"x-amz-trailer-signature:{tsig}\r\n\r\n".encode()


def run(decoder: ChunkedDecoder, pieces: list[bytes], chain: ChunkSignatures | None = None) -> tuple[bytes, dict]:
    """Feed pieces, check signatures like decode_chunked does; (payload, trailers)."""
    payload, trailers, done = bytearray(), {}, False
    events = [e for p in pieces for e in decoder.feed(p)] + decoder.end()
    for event in events:
        if isinstance(event, Data):
            payload += event.data
        elif isinstance(event, ChunkEnd) and chain:
            chain.check_chunk(event.sha256, event.signature)
        elif isinstance(event, Trailers):
            if chain and event.signature:
                chain.check_trailer(event.canonical, event.signature)
            trailers = event.fields
        elif isinstance(event, Done):
            done = True
    assert done
    return bytes(payload), trailers


def chain() -> ChunkSignatures:
    return ChunkSignatures(KEY, DATE, SCOPE, SEED)


def test_unsigned_payload_and_trailer():
    body = unsigned_body([b"hello ", b"world"], {"x-amz-checksum-crc32": "DUoRhQ=="})
    dec = ChunkedDecoder(False, frozenset({"x-amz-checksum-crc32"}), 11)
    assert run(dec, [body]) == (b"hello world", {"x-amz-checksum-crc32": "DUoRhQ=="})


def test_signed_chunks_and_trailer_signature():
    data = [b"x" * 8192, b"y" * 8192, b"z" * 10]
    body = signed_body(data, {"x-amz-checksum-sha256": "abc="})
    dec = ChunkedDecoder(True, frozenset({"x-amz-checksum-sha256", "x-amz-trailer-signature"}), 8192 * 2 + 10)
    payload, trailers = run(dec, [body], chain())
    assert payload == b"".join(data)
    assert trailers == {"x-amz-checksum-sha256": "abc="}


@pytest.mark.parametrize("signed", [False, True])
def test_split_at_every_byte_boundary(signed):
    data = [b"a" * 8192, b"bc\r\n0\r\n"]       # payload bytes that look like framing
    if signed:
        body = signed_body(data, {"x-amz-checksum-crc32": "AAAAAA=="})
        names = frozenset({"x-amz-checksum-crc32", "x-amz-trailer-signature"})
    else:
        body = unsigned_body(data, {"x-amz-checksum-crc32": "AAAAAA=="})
        names = frozenset({"x-amz-checksum-crc32"})
    expected = b"".join(data)
    for cut in range(len(body) + 1):
        dec = ChunkedDecoder(signed, names, len(expected))
        payload, trailers = run(dec, [body[:cut], body[cut:]], chain() if signed else None)
        assert payload == expected, cut
        assert trailers == {"x-amz-checksum-crc32": "AAAAAA=="}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=300), max_size=6), st.data())
def test_any_feed_pattern_gives_the_payload(chunks, data):
    body = unsigned_body(chunks)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=8)))
    pieces = [body[a:b] for a, b in zip([0] + cuts, cuts + [len(body)])]
    payload, _ = run(ChunkedDecoder(False, frozenset(), sum(map(len, chunks))), pieces)
    assert payload == b"".join(chunks)


def test_one_byte_feeds_yield_data_as_it_comes():
    body = unsigned_body([b"0123456789"])
    dec = ChunkedDecoder(False)
    got = [e for b in body for e in dec.feed(bytes([b]))]
    assert [e.data for e in got if isinstance(e, Data)] == [bytes([c]) for c in b"0123456789"]


def test_bad_chunk_signature():
    body = signed_body([b"x" * 8192, b"y"], tamper=1)
    with pytest.raises(S3Error) as err:
        run(ChunkedDecoder(True, frozenset(), 8193), [body], chain())
    assert err.value.code == "SignatureDoesNotMatch"


def test_bad_final_chunk_signature():
    body = signed_body([b"x" * 10], tamper=1)
    with pytest.raises(S3Error) as err:
        run(ChunkedDecoder(True, frozenset(), 10), [body], chain())
    assert err.value.code == "SignatureDoesNotMatch"


def test_bad_trailer_signature():
    body = signed_body([b"x"], {"x-amz-checksum-crc32": "AAAAAA=="}).replace(b"AAAAAA==", b"BBBBBB==")
    dec = ChunkedDecoder(True, frozenset({"x-amz-checksum-crc32", "x-amz-trailer-signature"}), 1)
    with pytest.raises(S3Error) as err:
        run(dec, [body], chain())
    assert err.value.code == "SignatureDoesNotMatch"


def test_signed_chunk_without_signature_is_incomplete():
    with pytest.raises(S3Error) as err:
        run(ChunkedDecoder(True, frozenset(), 1), [b"1\r\nx\r\n0\r\n\r\n"], chain())
    assert err.value.code == "IncompleteBody"


def test_small_signed_chunk_before_the_last():
    body = signed_body([b"x" * 100, b"y" * 100])
    with pytest.raises(S3Error) as err:
        run(ChunkedDecoder(True, frozenset(), 200), [body], chain())
    assert err.value.code == "InvalidChunkSizeError"


@pytest.mark.parametrize("body", [
    b"zz\r\nabc\r\n0\r\n\r\n",          # size is not hex
    b"+3\r\nabc\r\n0\r\n\r\n",          # int(_, 16) would take a sign, an underscore or a 0x
    b"0_3\r\nabc\r\n0\r\n\r\n",
    b"0x3\r\nabc\r\n0\r\n\r\n",
    b"3\nabc\r\n0\r\n\r\n",             # LF alone ends the size line
    b"3\r\nabcd\r\n0\r\n\r\n",          # chunk longer than its size
    b"3\r\nab",                         # body ends inside a chunk
    b"3\r\nabc\r\n",                    # body ends before the final chunk
    b"3\r\nabc\r\n0\r\n\r\nextra",      # data after the end
])
def test_bad_framing_is_incomplete_body(body):
    with pytest.raises(S3Error) as err:
        run(ChunkedDecoder(False, frozenset(), None), [body])
    assert err.value.code == "IncompleteBody"


@pytest.mark.parametrize("length", [2, 4])
def test_decoded_length_must_match(length):
    with pytest.raises(S3Error) as err:
        run(ChunkedDecoder(False, frozenset(), length), [unsigned_body([b"abc"])])
    assert err.value.code == "IncompleteBody"


def test_header_line_length_is_bounded():
    with pytest.raises(S3Error) as err:
        ChunkedDecoder(False).feed(b"1" * 10_000)
    assert err.value.code == "IncompleteBody"


@pytest.mark.parametrize("trailers,declared", [
    ({"x-amz-checksum-crc32": "AAAAAA=="}, frozenset()),                         # not declared
    ({}, frozenset({"x-amz-checksum-crc32"})),                                   # declared, missing
    ({"x-amz-checksum-sha1": "AAAAAA=="}, frozenset({"x-amz-checksum-crc32"})),  # another one
])
def test_undeclared_or_missing_trailers(trailers, declared):
    with pytest.raises(S3Error) as err:
        run(ChunkedDecoder(False, declared, 1), [unsigned_body([b"x"], trailers)])
    assert err.value.code == "MalformedTrailerError"


def test_final_crlf_may_be_missing():
    assert run(ChunkedDecoder(False, frozenset(), 3), [b"3\r\nabc\r\n0\r\n"])[0] == b"abc"


def test_empty_payload():
    assert run(ChunkedDecoder(False, frozenset(), 0), [b"0\r\n\r\n"])[0] == b""
    assert run(ChunkedDecoder(True, frozenset(), 0), [signed_body([])], chain())[0] == b""
