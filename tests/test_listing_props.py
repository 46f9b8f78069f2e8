"""Property tests of Delimiter and DelimiterMaster (design.md §6.2-6.3, 6.6) against brute-force models.

The `view` fixture (shared by every test_listing_* file) is a bucket sub-level of each engine in turn:
the same pages are asserted on LevelDB and on memory."""
from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dmd.metadata.engine import Engine, open_engine
from dmd.metadata.listing import inc, list_page
from shared import constants as C
from shared.models import LISTING_FIELDS

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Few characters, so keys share prefixes; "/" and "-" delimit, "\x01" sits right at the version skip target
# (`k\x01`), and non-BMP characters order differently in UTF-16 than in UTF-8.
CHARS = ["a", "b", "/", "-", "é", "\x01", "😀", "\U0010fffd"]
key_text = st.text(alphabet=st.sampled_from(CHARS), min_size=1, max_size=6)
delimiters = st.sampled_from([None, "/", "-", "a/", "😀", "ab"])
max_keys = st.one_of(st.integers(1, 3), st.integers(0, 12), st.integers(0, C.LISTING_MAX_KEYS))
streaks = st.sampled_from([1, 2, 3, C.LISTING_SKIP_STREAK])


# ---------------------------------------------------------------- shared helpers (also used by the other files)

class Level:
    """A sub-level of a real engine: the View the listings read, and the writes the tests make."""

    def __init__(self, engine: Engine, prefix: bytes) -> None:
        self.engine, self.prefix = engine, prefix
        inner = engine.view(prefix)
        self.get, self.cursor = inner.get, inner.cursor      # the engine's own reads and cursors


@pytest.fixture(scope="module", params=C.BACKENDS)
def view(request: Any) -> Iterator[Level]:
    """A bucket view in each engine (LevelDB, memory), with neighbouring sub-levels that must never leak in."""
    with tempfile.TemporaryDirectory() as path:
        engine = open_engine(request.param, path)
        engine.apply([(neighbour + b"zz", b'{"neighbour":true}')
                      for neighbour in (b"!bks!", b"!bkt\x00", b"!bkt\"", b"!bku!")], sync=False)
        yield Level(engine, b"!bkt!")
        engine.close()


def fill(view: Level, items: dict[bytes, bytes]) -> None:
    """Replace the view's contents with `items`, in one batch."""
    with view.cursor() as cursor:
        ops: list[tuple[bytes, bytes | None]] = [(view.prefix + key, None) for key, _ in cursor]
    view.engine.apply(ops + [(view.prefix + k, v) for k, v in items.items()], sync=False)


@contextlib.contextmanager
def skip_streak(n: int) -> Iterator[None]:
    """Lower the seek threshold so that small key sets exercise the seek path too."""
    saved = C.LISTING_SKIP_STREAK
    C.LISTING_SKIP_STREAK = n
    try:
        yield
    finally:
        C.LISTING_SKIP_STREAK = saved


def model_cp(name: bytes, prefix: bytes, delim: bytes | None) -> bytes | None:
    """Common prefix, written independently: the part of name after prefix up to the first delimiter."""
    if not delim:
        return None
    head, tail = name[:len(prefix)], name[len(prefix):]
    if delim not in tail:
        return None
    return head + tail.split(delim, 1)[0] + delim


def model_entries(entries: list[tuple[bytes, Any]], prefix: bytes, delim: bytes | None,
                  qualifies: Callable[[bytes, Any], bool], marker: bytes | None) -> list[tuple[str, Any]]:
    """The full listing after a marker: ("item", x) and ("cp", cp) entries, a prefix counted once."""
    skip_cp = model_cp(marker, prefix, delim) if marker is not None else None
    out: list[tuple[str, Any]] = []
    for name, item in entries:
        if not name.startswith(prefix) or not qualifies(name, item):
            continue
        cp = model_cp(name, prefix, delim)
        if cp is None:
            out.append(("item", item))
        elif cp != skip_cp and out[-1:] != [("cp", cp)]:
            out.append(("cp", cp))
    return out


def split_page(entries: list[tuple[str, Any]], n: int) -> tuple[list[Any], list[str], bool, Any]:
    """(items, prefixes, truncated, last entry) of the first n entries."""
    page = entries[:n]
    items = [x for kind, x in page if kind == "item"]
    cps = [x.decode() for kind, x in page if kind == "cp"]
    return items, cps, n > 0 and len(entries) > n, page[-1] if page else None


def b(s: str | None) -> bytes | None:
    return None if s is None else s.encode()


# ---------------------------------------------------------------- objects

def object_md(key: str, i: int, dm: bool) -> dict[str, Any]:
    md = {"key": key, "content-length": i, "content-md5": "%032x" % i, "last-modified": "2026-11-23T10:00:00.000Z",
          "owner-id": "o", "owner-display-name": "O", "x-amz-storage-class": "STANDARD",
          "versionId": "%014d000000RG001  " % i, "isNull": True, "location": [{"key": "d%d" % i}],
          "md-model-version": 1, "content-type": "x/y"}
    if dm:
        md["isDeleteMarker"] = True
        md["location"] = None
    return md


@st.composite
def buckets(draw: Any) -> tuple[dict[bytes, bytes], list[tuple[bytes, dict]]]:
    """Raw bucket contents (masters, some delete markers, version keys) and the visible masters in order."""
    names = draw(st.lists(key_text, max_size=30, unique=True))
    items: dict[bytes, bytes] = {}
    visible = []
    for i, name in enumerate(names):
        dm = draw(st.integers(0, 4)) == 0
        md = object_md(name, i, dm)
        items[name.encode()] = orjson.dumps(md)
        for v in range(draw(st.integers(0, 2))):   # version keys must never show in a master listing
            items[name.encode() + b"\x00" + b"%027d" % v] = orjson.dumps(object_md(name, 1000 + v, False))
        if not dm:
            visible.append((name.encode(), md))
    visible.sort()
    return items, visible


def draw_prefix(draw: Any, names: list[bytes]) -> str:
    choice = draw(st.integers(0, 3))
    if choice == 0 or not names:
        return ""
    if choice == 1:
        return draw(key_text)
    name = draw(st.sampled_from(names)).decode()
    return name[:draw(st.integers(0, len(name)))]


def draw_marker(draw: Any, names: list[bytes]) -> str | None:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return None
    if choice == 1 or not names:
        return draw(key_text)
    return draw(st.sampled_from(names)).decode()


def check_object_pages(view: Any, kind: str, visible: list[tuple[bytes, Any]], params: dict[str, Any],
                       project: Callable[[Any], Any]) -> None:
    """Every page equals the model's page, and following the markers reproduces the full listing."""
    prefix, delim = b(params.get("prefix")) or b"", b(params.get("delimiter"))
    v2, n = params.get("v2", False), params["maxKeys"]
    start = params.get("continuationToken") or params.get("startAfter") if v2 else params.get("marker")
    full = model_entries(visible, prefix, delim, lambda name, _: start is None or name > b(start), b(start))
    marker, seen = start, []
    for _ in range(len(visible) + 2):
        page = list_page(view, kind, params)
        after = model_entries(visible, prefix, delim, lambda name, _: marker is None or name > b(marker), b(marker))
        items, cps, truncated, last = split_page(after, n)
        assert [c["key"] for c in page["Contents"]] == [it["key"] for it in items]
        assert [c["value"] for c in page["Contents"]] == [project(it) for it in items]
        assert page["CommonPrefixes"] == cps
        assert page["IsTruncated"] is truncated
        seen += after[:n]
        resume = None if not truncated else (last[1].decode() if last[0] == "cp" else last[1]["key"])
        assert page["NextContinuationToken"] == (resume if v2 else None)
        assert page["NextMarker"] == (resume if not v2 and delim else None)
        if not truncated:
            break
        # v1 without delimiter: clients resume from the last Key (AWS).
        marker = resume if v2 or delim else page["Contents"][-1]["key"]
        params = {**params, "continuationToken": marker} if v2 else {**params, "marker": marker}
    else:
        pytest.fail("listing did not terminate")
    if n > 0:
        assert seen == full


def projected(md: dict[str, Any]) -> dict[str, Any]:
    return {k: md[k] for k in LISTING_FIELDS if k in md}


@SETTINGS
@given(data=st.data(), bucket=buckets(), delim=delimiters, n=max_keys, streak=streaks, v2=st.booleans())
def test_delimiter_master_pages(view: Any, data: Any, bucket: Any, delim: str | None, n: int, streak: int,
                                v2: bool) -> None:
    items, visible = bucket
    fill(view, items)
    names = [k for k, _ in visible] + [k for k in items if b"\x00" not in k]
    params: dict[str, Any] = {"prefix": draw_prefix(data.draw, names),
                              "delimiter": delim, "maxKeys": n}
    marker = draw_marker(data.draw, names)
    if v2:
        params["v2"] = True
        params[data.draw(st.sampled_from(["continuationToken", "startAfter"]))] = marker
    else:
        params["marker"] = marker
    params = {k: v for k, v in params.items() if v is not None}
    with skip_streak(streak):
        check_object_pages(view, "DelimiterMaster", visible, params, projected)


@SETTINGS
@given(data=st.data(), names=st.lists(st.text(alphabet=st.sampled_from(CHARS + ["\x00"]), min_size=1, max_size=6),
                                      max_size=30, unique=True),
       delim=delimiters, n=max_keys, streak=streaks, v2=st.booleans())
def test_delimiter_plain_pages(view: Any, data: Any, names: list[str], delim: str | None, n: int, streak: int,
                               v2: bool) -> None:
    # Plain keys may hold \x00 (users bucket: `<canonicalId>\x00<bucket>`), and values are any JSON document.
    docs = {name.encode(): {"key": name, "location": [1, 2], "creationDate": "x"} for name in names}
    fill(view, {k: orjson.dumps(v) for k, v in docs.items()})
    visible = sorted(docs.items())
    keys = [k for k, _ in visible]
    params: dict[str, Any] = {"prefix": draw_prefix(data.draw, keys), "delimiter": delim, "maxKeys": n}
    marker = draw_marker(data.draw, keys)
    params.update({"v2": True, "startAfter": marker} if v2 else {"marker": marker})
    params = {k: v for k, v in params.items() if v is not None}
    with skip_streak(streak):
        check_object_pages(view, "Delimiter", visible, params, lambda doc: doc)


# Bytes near the edges, so trailing 0xFF runs (which inc must drop) are common.
edge_bytes = st.lists(st.sampled_from([0x00, 0x01, 0x2f, 0x7f, 0xfe, 0xff]), max_size=5).map(bytes)


@given(edge_bytes, edge_bytes)
@settings(max_examples=300, deadline=None)
def test_inc_bounds_the_prefix(prefix: bytes, other: bytes) -> None:
    upper = inc(prefix)
    if other.startswith(prefix):
        assert upper == b"" or other < upper
    elif other >= prefix:
        assert upper != b"" and other >= upper   # nothing outside the prefix falls in [prefix, inc(prefix))
