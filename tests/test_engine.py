"""The storage-engine contract (dmd/metadata/engine/base.py): LevelDB and memory give the same answers.

Every check runs the same sequence of batches, gets, scans (both directions), and seeks against both
engines and a plain sorted-list model; the memory engine's cursors must also survive concurrent batches.
"""
from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dmd.metadata import buckets as bucket_ops, keys, multipart, objects
from dmd.metadata.context import MetadataContext
from dmd.metadata.engine import Cursor, Engine, View, has_keys, open_engine
from dmd.metadata.engine.memory import MemoryEngine
from dmd.metadata.listing import list_page, list_parts
from shared import constants as C
from tests.test_listing_props import buckets, delimiters, draw_marker, draw_prefix, max_keys, skip_streak, streaks
from tests.test_listing_uploads import mpu_levels
from tests.test_listing_versions import histories

PREFIX = b"!p!"
# Few bytes, so ranges, prefixes and seek targets often meet exactly; "!p!" keys make a sub-level.
key_bytes = st.lists(st.sampled_from([b"a", b"b", b"\x00", b"\xff", b"!p!"]), min_size=1, max_size=4).map(b"".join)
bound = st.one_of(st.none(), key_bytes)


@pytest.fixture(scope="module")
def engines() -> Iterator[list[Engine]]:
    """One LevelDB engine in a temporary directory and one memory engine, emptied between examples."""
    with tempfile.TemporaryDirectory() as path:
        pair = [open_engine("file", path), open_engine("mem", path + "/never-created")]
        yield pair
        for engine in pair:
            engine.close()


def reset(engine: Engine, items: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """Replace every key but `__sys`'s with `items`; returns everything the engine now holds."""
    with engine.cursor() as cursor:
        old = dict(cursor)
    engine.apply([(k, None) for k in old if not k.startswith(keys.SYS)] + list(items.items()), sync=False)
    return {**{k: v for k, v in old.items() if k.startswith(keys.SYS)}, **items}


def model_scan(items: dict[bytes, bytes], prefix: bytes, start: bytes | None, stop: bytes | None,
               include_start: bool, reverse: bool) -> list[tuple[bytes, bytes]]:
    """What a cursor over a view of `prefix` must yield, written independently of both engines."""
    rel = sorted((k[len(prefix):], v) for k, v in items.items() if k.startswith(prefix))
    inside = [(k, v) for k, v in rel if (start is None or k > start or (include_start and k == start))
              and (stop is None or k < stop)]
    return inside[::-1] if reverse else inside


def model_seek(expected: list[tuple[bytes, bytes]], target: bytes, reverse: bool) -> list[tuple[bytes, bytes]]:
    """The rest of a scan after seek(target): the pairs at or past target in scan order."""
    return [(k, v) for k, v in expected if (k <= target if reverse else k >= target)]


def take(cursor: Cursor, n: int) -> list[tuple[bytes, bytes]]:
    return [pair for pair, _ in zip(cursor, range(n))]


def test_both_engines_meet_the_protocols(engines: list[Engine]) -> None:
    for engine in engines:
        assert isinstance(engine, Engine) and isinstance(engine.view(PREFIX), View)
        assert engine.blocking is False and len(engine.db_uuid) == 36
        with engine.cursor() as cursor:
            assert isinstance(cursor, Cursor)


items_st = st.dictionaries(key_bytes, st.binary(max_size=3), max_size=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=items_st, use_view=st.booleans(), start=bound, stop=bound, include_start=st.booleans(),
       reverse=st.booleans(), first=st.integers(0, 5), target=key_bytes, probes=st.lists(key_bytes, max_size=4))
def test_gets_scans_and_seeks_agree(engines: list[Engine], items: dict, use_view: bool, start: Any, stop: Any,
                                    include_start: bool, reverse: bool, first: int, target: bytes,
                                    probes: list[bytes]) -> None:
    prefix = PREFIX if use_view else b""
    for engine in engines:
        expected = model_scan(reset(engine, items), prefix, start, stop, include_start, reverse)
        reader = engine.view(prefix) if use_view else engine
        for probe in probes:
            assert reader.get(probe) == items.get(prefix + probe)
        with reader.cursor(start, stop, include_start=include_start, reverse=reverse) as cursor:
            assert take(cursor, first) == expected[:first]
            cursor.seek(target)
            assert list(cursor) == model_seek(expected, target, reverse)
            cursor.seek(target)                         # a seek after the end resumes there
            assert take(cursor, 1) == model_seek(expected, target, reverse)[:1]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.tuples(key_bytes, st.one_of(st.none(), st.binary(max_size=2))), max_size=6),
                        max_size=5))
def test_batches_agree(engines: list[Engine], batches: list) -> None:
    """Puts and deletes in batches (a key put then deleted in one batch: the last op wins)."""
    model: dict[bytes, bytes] = {}
    for batch in batches:
        for key, value in batch:
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
    for engine in engines:
        reset(engine, {})
        for batch in batches:
            engine.apply(batch, sync=False)
        with engine.cursor() as cursor:
            assert [(k, v) for k, v in cursor if not k.startswith(keys.SYS)] == sorted(model.items())
        assert has_keys(engine, PREFIX) == any(k.startswith(PREFIX) for k in model)


def test_db_uuid_is_kept_in_sys(engines: list[Engine]) -> None:
    for engine in engines:
        assert engine.get(keys.sys_key("db_uuid")) == engine.db_uuid.encode()
        assert engine.get(keys.sys_key("schema")) == b"1"


def test_leveldb_keeps_its_db_uuid_across_restarts(tmp_path) -> None:
    first = open_engine("file", str(tmp_path))
    uuid = first.db_uuid
    first.close()
    again = open_engine("file", str(tmp_path))
    assert again.db_uuid == uuid and (tmp_path / "uuid").read_text() == uuid
    again.close()


def test_memory_engine_touches_no_disk(tmp_path) -> None:
    engine = open_engine("mem", str(tmp_path / "md"))
    engine.apply([(b"k", b"v")], sync=True)
    assert engine.get(b"k") == b"v" and not (tmp_path / "md").exists()


def test_unknown_backend_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        open_engine("tape", str(tmp_path))


@pytest.mark.parametrize("reverse", [False, True])
def test_memory_cursor_survives_concurrent_batches(reverse: bool) -> None:
    """Keys that exist throughout come back exactly once, in order, while batches churn other keys."""
    engine = MemoryEngine()
    stable = [b"s%05d" % i for i in range(0, 20_000, 2)]
    engine.apply([(k, b"stable") for k in stable], sync=False)
    stop = threading.Event()
    batches = 0

    def churn() -> None:
        nonlocal batches
        i = 0
        while not stop.is_set():
            # Odd keys between the stable ones appear and go again, on both sides of the cursor.
            odd = [b"s%05d" % (j % 20_000) for j in range(i + 1, i + 201, 2)]
            engine.apply([(k, b"churn") for k in odd], sync=False)
            engine.apply([(k, None) for k in odd], sync=False)
            i += 200
            batches += 1

    def batches_applied_meanwhile() -> None:
        before = batches
        deadline = time.monotonic() + 10
        while batches <= before + 2 and time.monotonic() < deadline:
            time.sleep(0.001)

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        seen = []
        with engine.cursor(b"s", b"t", reverse=reverse) as cursor:
            for key, value in cursor:
                seen.append((key, value))
                if len(seen) in (100, 3000, 6000):
                    batches_applied_meanwhile()        # pages are read before, during and after churn
    finally:
        stop.set()
        writer.join()
    assert batches > 6
    scanned = [k for k, _ in seen]
    assert scanned == sorted(set(scanned), reverse=reverse)        # ordered, never a key twice
    assert [k for k, v in seen if v == b"stable"] == (stable[::-1] if reverse else stable)


def test_memory_cursor_pages_grow() -> None:
    """A short scan reads a small first page; a long one ends on pages of the largest size."""
    engine = MemoryEngine()
    engine.apply([(b"k%05d" % i, b"") for i in range(5000)], sync=False)
    with engine.cursor(b"k") as cursor:
        assert next(cursor)[0] == b"k00000" and len(cursor._page) == C.MEM_CURSOR_FIRST_PAGE
        assert sum(1 for _ in cursor) == 4999 and cursor._size == C.MEM_CURSOR_MAX_PAGE


@st.composite
def listings(draw: Any) -> tuple[dict[bytes, bytes], str, dict[str, Any]]:
    """Sub-level contents, a listing kind that reads them, and its parameters (markers inside the names)."""
    kind = draw(st.sampled_from(["Delimiter", "DelimiterMaster", "DelimiterVersions", "MultipartUploads"]))
    if kind == "MultipartUploads":
        items, uploads = draw(mpu_levels())
        names = [name for name, _ in uploads]
    elif kind == "DelimiterVersions":
        items, masters, _ = draw(histories())
        names = list(masters)
    else:
        items, _ = draw(buckets())
        names = [k for k in items if b"\x00" not in k]
    params: dict[str, Any] = {"prefix": draw_prefix(draw, names), "delimiter": draw(delimiters),
                              "maxKeys": draw(max_keys)}
    marker = draw_marker(draw, names)
    if kind in ("Delimiter", "DelimiterMaster"):
        params["marker"] = marker
    else:
        params["keyMarker"] = marker
        params["versionIdMarker" if kind == "DelimiterVersions" else "uploadIdMarker"] = \
            draw(st.sampled_from([None, "null", "0", "f"]))
    return items, kind, {k: v for k, v in params.items() if v is not None}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(listing=listings(), streak=streaks)
def test_listing_pages_agree(engines: list[Engine], listing: tuple, streak: int) -> None:
    """Every listing kind gives the same page on both engines (each is also checked against a model in
    tests/test_listing_*.py); a neighbouring sub-level never leaks in."""
    items, kind, params = listing
    pages = []
    for engine in engines:
        reset(engine, {**{PREFIX + k: v for k, v in items.items()}, b"!p\"zz": b"{}", b"!q!": b"{}"})
        with skip_streak(streak):
            pages.append(list_page(engine.view(PREFIX), kind, params))
    assert pages[0] == pages[1]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(level=mpu_levels(), marker=st.integers(0, 3), n=st.integers(0, 3))
def test_part_pages_agree(engines: list[Engine], level: tuple, marker: int, n: int) -> None:
    items, uploads = level
    upload_id = uploads[0][1]["uploadId"] if uploads else "u"
    pages = []
    for engine in engines:
        reset(engine, {PREFIX + k: v for k, v in items.items()})
        pages.append(list_parts(engine.view(PREFIX), upload_id, marker, n))
    assert pages[0] == pages[1]


class RecordingEngine(MemoryEngine):
    """A memory engine that records which threads read it, and can say that it blocks."""

    def __init__(self, blocking: bool) -> None:
        self.readers: set[int] = set()
        super().__init__()
        self.blocking = blocking

    def read(self, key: bytes) -> bytes | None:
        self.readers.add(threading.get_ident())
        return super().read(key)

    def page(self, *args: Any) -> list:
        self.readers.add(threading.get_ident())
        return super().page(*args)


@pytest.mark.parametrize("blocking", [False, True])
def test_the_loop_reads_the_engine_only_when_it_does_not_block(blocking: bool) -> None:
    """Bucket, object, version and multipart operations: a blocking engine is never called on the loop."""
    engine = RecordingEngine(blocking)
    ctx = MetadataContext(engine, C.REPLICATION_GROUP_ID, sync=False)

    async def operations() -> int:
        engine.readers.clear()
        await bucket_ops.create_bucket(ctx, "bkt", {"owner": "o"})
        await bucket_ops.update_bucket(ctx, "bkt", set={"versioning": "Enabled"}, unset=None)
        first = await objects.put_object(ctx, "bkt", "k", {"content-length": 1, "location": None})
        await objects.put_object(ctx, "bkt", "k", {"content-length": 2, "location": None})
        upload = await multipart.initiate_multipart_upload(ctx, "bkt", "mp", {})
        piece = {"key": "d" * 40, "size": 3, "start": 0}
        await multipart.put_part(ctx, "bkt", "mp", upload, 1, {"etag": "a" * 32, "size": 3, "location": [piece]})
        await multipart.complete_multipart_upload(ctx, "bkt", "mp", upload, [{"partNumber": 1, "etag": "a" * 32}], {})
        latest = await objects.get_object(ctx, "bkt", "k")
        await objects.delete_object(ctx, "bkt", "k", version_id=latest["versionId"])   # the master moves back
        assert (await objects.get_object(ctx, "bkt", "k"))["versionId"] == first["versionId"]
        return threading.get_ident()

    try:
        loop_thread = asyncio.run(operations())
    finally:
        ctx.gatherer.close()
    assert engine.readers and (loop_thread in engine.readers) is not blocking


def test_the_key_layout_is_the_reference_one() -> None:
    """Pinned bytes: existing LevelDB directories must keep reading (design.md §2.1)."""
    assert keys.metastore_key("bkt") == b"!__metastore!bkt"
    assert keys.users_key("owner", "bkt") == b"!users..bucket!owner\x00bkt"
    assert keys.object_key("bkt", "k") == b"!bkt!k"
    assert keys.object_key("bkt", keys.version_key("k", "v1")) == b"!bkt!k\x00v1"
    assert keys.versions_range("bkt", "k") == (b"!bkt!k\x00", b"!bkt!k\x01")
    assert keys.overview_key("bkt", "k", "u1") == b"!mpuShadowBucketbkt!overview\x00k\x00u1"
    assert keys.part_key("bkt", "u1", 7) == b"!mpuShadowBucketbkt!part\x00u1\x0000007"
    assert keys.gc_entry(keys.gc_key(5, "d" * 40)) == b"!__gc!0000000000005\x00" + b"d" * 40
    assert keys.sys_key("vid_hwm") == b"!__sys!vid_hwm"
    assert keys.raw_key("users..bucket", "x") == b"!users..bucket!x"


def test_memory_cursor_reads_a_small_page_after_a_seek() -> None:
    """A listing seeks after every few skipped keys: each seek starts again with a small page."""
    engine = MemoryEngine()
    engine.apply([(b"k%05d" % i, b"") for i in range(5000)], sync=False)
    with engine.cursor(b"k") as cursor:
        assert sum(1 for _ in zip(cursor, range(2000))) == 2000 and cursor._size == C.MEM_CURSOR_MAX_PAGE
        cursor.seek(b"k04000")
        assert next(cursor)[0] == b"k04000" and len(cursor._page) == C.MEM_CURSOR_FIRST_PAGE
