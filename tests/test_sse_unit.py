"""The SSE envelope format (s3front/sse/envelope.py): round trips, ranges, tampering and flat memory.

Pure code, no cluster: the envelope is a library the handlers will call.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3front.sse import envelope as E
from shared import constants as C
from shared.errors import InternalError

KIB = 1024
P = C.SSE_PACKAGE_BYTES
SIZES = [0, 1, P - 1, P, P + 1, 2 * P, 3 * 2**20 + 17]      # every size class, up to several MiB


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def _seal(data: bytes, key: bytes, params: dict, chunk: int = 7 * KIB) -> bytes:
    return asyncio.run(_collect(E.encrypt(_chunks(data, chunk), key, params)))


def _open(sealed: bytes, key: bytes, params: dict, size: int, first: int = 0, last: int | None = None,
          chunk: int = 5 * KIB) -> bytes:
    return asyncio.run(_collect(E.decrypt(_chunks(sealed, chunk), key, params, size, first, last)))


def _open_range(sealed: bytes, key: bytes, params: dict, size: int, first: int, last: int) -> bytes:
    span = E.sealed_span(size, first, last, params["pkg"])
    return _open(sealed[span.sealed_first:span.sealed_last + 1], key, params, size, first, last)


@pytest.fixture
def key() -> bytes:
    return os.urandom(C.SSE_KEY_BYTES)


# -- round trips ----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_round_trip_every_size_class(key: bytes, size: int) -> None:
    data = os.urandom(size)
    params = E.new_params()
    sealed = _seal(data, key, params)
    assert len(sealed) == E.sealed_size(size)
    if size >= 16:
        assert sealed[:16] != data[:16]                            # it is not the plaintext
    assert _open(sealed, key, params, size) == data
    assert E.open_bytes(sealed, key, params, size) == data
    assert E.seal_bytes(data, key, params) == sealed               # the stream and the one-shot agree


def test_sealed_size_formula() -> None:
    assert E.sealed_size(0) == 16                    # one empty, authenticated package
    assert E.sealed_size(1) == 17
    assert E.sealed_size(P - 1) == P - 1 + 16
    assert E.sealed_size(P) == P + 16
    assert E.sealed_size(P + 1) == P + 1 + 32
    assert E.sealed_size(5 * 2**30) == 5 * 2**30 + 16 * (5 * 2**30 // P)
    assert E.sealed_size(10, package=4) == 10 + 16 * 3


@pytest.mark.parametrize("chunk", [1, 3, P - 1, P, P + 1, 10 * P])
def test_any_chunking_gives_the_same_sealed_data(key: bytes, chunk: int) -> None:
    data = os.urandom(3 * P + 5)
    params = E.new_params()
    reference = E.seal_bytes(data, key, params)
    assert _seal(data, key, params, chunk) == reference
    assert _open(reference, key, params, len(data), chunk=chunk) == data


def test_encryptor_yields_one_package_at_a_time_and_feeds_the_hash(key: bytes) -> None:
    data = os.urandom(2 * P + 3)
    params = E.new_params()
    md5 = hashlib.md5()
    pieces = asyncio.run(_async_list(E.encrypt(_chunks(data, len(data)), key, params, sealed_hash=md5)))
    assert [len(p) for p in pieces] == [P + 16, P + 16, 3 + 16]
    assert md5.hexdigest() == hashlib.md5(b"".join(pieces)).hexdigest()


async def _async_list(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in stream]


def test_same_plaintext_twice_seals_differently(key: bytes) -> None:
    data = b"x" * 100
    assert _seal(data, key, E.new_params()) != _seal(data, key, E.new_params())     # salts differ


# -- ranges ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("first,last", [(0, 0), (P - 1, P), (P, P), (P - 1, 2 * P), (1, 3 * P + 4),
                                        (2 * P, 2 * P + 1), (3 * P, 3 * P + 4), (0, 3 * P + 4)])
def test_ranges_across_package_boundaries(key: bytes, first: int, last: int) -> None:
    data = os.urandom(3 * P + 5)
    params = E.new_params()
    sealed = _seal(data, key, params)
    assert _open_range(sealed, key, params, len(data), first, last) == data[first:last + 1]


def test_span_fetches_only_the_packages_a_range_touches() -> None:
    span = E.sealed_span(10 * P, P + 5, 2 * P + 1)
    assert (span.first_package, span.last_package) == (1, 2)
    assert span.sealed_first == P + 16
    assert span.sealed_last == 3 * (P + 16) - 1
    assert (span.skip, span.length) == (5, P - 3)
    last = E.sealed_span(P + 10, P + 9, P + 9)               # the short final package
    assert (last.sealed_first, last.sealed_last) == (P + 16, P + 10 + 32 - 1)
    empty = E.sealed_span(0, 0, -1)
    assert (empty.sealed_first, empty.sealed_last, empty.length) == (0, 15, 0)


def test_span_refuses_a_range_outside_the_body() -> None:
    for size, first, last in [(10, 0, 10), (10, 5, 4), (10, -1, 3), (0, 0, 0)]:
        with pytest.raises(ValueError):
            E.sealed_span(size, first, last)


def test_empty_body_is_authenticated(key: bytes) -> None:
    params = E.new_params()
    sealed = _seal(b"", key, params)
    assert _open(sealed, key, params, 0) == b""
    with pytest.raises(E.EnvelopeError):
        _open(b"", key, params, 0)                           # its one package is missing
    with pytest.raises(E.EnvelopeError):
        _open(sealed, os.urandom(32), params, 0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), package=st.integers(1, 40), size=st.integers(1, 400))
def test_random_ranges_decrypt_to_the_plaintext_range(data: st.DataObject, package: int, size: int) -> None:
    key = bytes(32)
    plaintext = bytes(range(256)) * 2
    plaintext = plaintext[:size]
    params = E.new_params(package=package)
    sealed = E.seal_bytes(plaintext, key, params)
    first = data.draw(st.integers(0, size - 1))
    last = data.draw(st.integers(first, size - 1))
    chunk = data.draw(st.integers(1, 64))
    span = E.sealed_span(size, first, last, package)
    got = _open(sealed[span.sealed_first:span.sealed_last + 1], key, params, size, first, last, chunk)
    assert got == plaintext[first:last + 1]


def test_split_range_over_parts() -> None:
    sizes = [5, 0, 3, 4]
    assert E.split_range(sizes, 0, 11) == [(0, 0, 4), (2, 0, 2), (3, 0, 3)]
    assert E.split_range(sizes, 4, 5) == [(0, 4, 4), (2, 0, 0)]
    assert E.split_range(sizes, 8, 8) == [(3, 0, 0)]
    assert E.split_range(sizes, 6, 7) == [(2, 1, 2)]


def test_multipart_ranges_decrypt_part_by_part(key: bytes) -> None:
    parts = [os.urandom(P + 1), os.urandom(2 * P), os.urandom(7)]
    params = [E.new_params(part=n + 1, package=1000) for n in range(3)]
    keys = [os.urandom(32) for _ in parts]
    sealed = [E.seal_bytes(d, k, p) for d, k, p in zip(parts, keys, params)]
    whole = b"".join(parts)
    for first, last in [(0, len(whole) - 1), (P, P + 1), (P + 1, 3 * P + 3), (len(whole) - 1, len(whole) - 1)]:
        out = b""
        for index, a, b in E.split_range([len(d) for d in parts], first, last):
            out += _open_range(sealed[index], keys[index], params[index], len(parts[index]), a, b)
        assert out == whole[first:last + 1]


# -- tampering ------------------------------------------------------------------------------------

def _sealed_packages(key: bytes, count: int, package: int = 1000, part: int = 0) -> tuple[bytes, dict, bytes]:
    data = os.urandom(count * package)
    params = E.new_params(part=part, package=package)
    return data, params, E.seal_bytes(data, key, params)


def _package(sealed: bytes, i: int, package: int = 1000) -> bytes:
    return sealed[i * (package + 16):(i + 1) * (package + 16)]


def test_a_flipped_byte_anywhere_raises(key: bytes) -> None:
    data, params, sealed = _sealed_packages(key, 3)
    for pos in [0, 500, 999, 1000, 1015, 1016, 2500, len(sealed) - 1]:
        bad = bytearray(sealed)
        bad[pos] ^= 0x01
        with pytest.raises(E.EnvelopeError):
            _open(bytes(bad), key, params, len(data))


def test_a_dropped_package_raises(key: bytes) -> None:
    data, params, sealed = _sealed_packages(key, 4)
    dropped = _package(sealed, 0) + _package(sealed, 2) + _package(sealed, 3)
    with pytest.raises(E.EnvelopeError):
        _open(dropped, key, params, len(data))
    with pytest.raises(E.EnvelopeError):                     # and with the size shrunk to match
        _open(dropped, key, params, len(data) - 1000)


def test_swapped_packages_raise(key: bytes) -> None:
    data, params, sealed = _sealed_packages(key, 4)
    swapped = _package(sealed, 1) + _package(sealed, 0) + _package(sealed, 2) + _package(sealed, 3)
    with pytest.raises(E.EnvelopeError):
        _open(swapped, key, params, len(data))


def test_packages_spliced_between_parts_raise(key: bytes) -> None:
    # Same key and salt, different part numbers: only the part number in the associated data differs.
    data = os.urandom(2000)
    one = E.new_params(part=1, package=1000)
    two = {**one, "part": 2}
    sealed_one, sealed_two = E.seal_bytes(data, key, one), E.seal_bytes(data, key, two)
    assert sealed_one != sealed_two
    spliced = _package(sealed_one, 0) + _package(sealed_two, 1)
    with pytest.raises(E.EnvelopeError):
        _open(spliced, key, one, 2000)
    with pytest.raises(E.EnvelopeError):
        _open(sealed_two, key, one, 2000)


def test_truncation_raises(key: bytes) -> None:
    data, params, sealed = _sealed_packages(key, 3)
    with pytest.raises(E.EnvelopeError):
        _open(sealed[:-1], key, params, len(data))
    with pytest.raises(E.EnvelopeError):
        _open(sealed[:2 * 1016], key, params, len(data))
    # Cut at a package boundary and the size in the metadata cut to match: the new last package
    # was not sealed as the final one.
    with pytest.raises(E.EnvelopeError):
        _open(sealed[:2 * 1016], key, params, 2000)
    with pytest.raises(E.EnvelopeError):
        _open(sealed + b"\x00", key, params, len(data))       # and extra bytes after the end


def test_wrong_key_salt_or_version_raises(key: bytes) -> None:
    data, params, sealed = _sealed_packages(key, 2)
    with pytest.raises(E.EnvelopeError):
        _open(sealed, os.urandom(32), params, len(data))
    with pytest.raises(E.EnvelopeError):
        _open(sealed, key, {**params, "salt": E.new_params()["salt"]}, len(data))
    for bad in [{"v": 2}, {"pkg": 0}, {"pkg": "1000"}, {"part": -1}, {"salt": "not base64!"}, {"salt": ""}]:
        with pytest.raises(E.EnvelopeError):
            _open(sealed, key, {**params, **bad}, len(data))


def test_envelope_errors_are_internal_errors() -> None:
    err = E.EnvelopeError("package 3 does not authenticate")
    assert isinstance(err, InternalError)
    assert err.to_wire()["status"] == 500 and err.to_wire()["internal"]


def test_range_reads_check_the_packages_they_touch(key: bytes) -> None:
    data, params, sealed = _sealed_packages(key, 3)
    span = E.sealed_span(len(data), 1500, 1600, 1000)
    piece = bytearray(sealed[span.sealed_first:span.sealed_last + 1])
    piece[-1] ^= 0x80
    with pytest.raises(E.EnvelopeError):
        _open(bytes(piece), key, params, len(data), 1500, 1600)


# -- memory ---------------------------------------------------------------------------------------

def test_a_1_gib_stream_encrypts_and_decrypts_in_flat_memory(key: bytes) -> None:
    block = os.urandom(2**20)
    total = 2**30

    async def plaintext() -> AsyncIterator[bytes]:
        for _ in range(total // len(block)):
            yield block

    async def run() -> tuple[str, int]:
        params = E.new_params()
        out, count = hashlib.sha256(), 0
        async for piece in E.decrypt(E.encrypt(plaintext(), key, params), key, params, total):
            out.update(piece)
            count += len(piece)
        return out.hexdigest(), count

    expected = hashlib.sha256()
    for _ in range(total // len(block)):
        expected.update(block)
    tracemalloc.start()
    try:
        digest, count = asyncio.run(run())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == total and digest == expected.hexdigest()
    assert peak < 4 * 2**20, f"peak {peak} bytes for a 1 GiB stream"
