"""Property tests of DelimiterVersions (design.md §6.4, §5.5) against a brute-force model."""
from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, strategies as st

from dmd.metadata.listing import ListingStats, list_page
from shared import constants as C
from shared.models import LISTING_FIELDS
from tests.test_listing_props import (SETTINGS, b, delimiters, draw_prefix, fill, key_text, max_keys, model_entries,
                                      skip_streak, split_page, streaks, view)

__all__ = ["view"]   # the module-scoped DB fixture, shared


def vid_of(t: int, seq: int = 0) -> str:
    """An internal version id (§5.1): newer times sort first."""
    return f"{99999999999999 - t:014d}{999999 - seq:06d}{C.REPLICATION_GROUP_ID:<7}"


@st.composite
def histories(draw: Any) -> tuple[dict[bytes, bytes], dict[bytes, dict], list[tuple[bytes, dict]]]:
    """(raw items, masters by name, model entries) for random version histories with null versions and DMs."""
    names = draw(st.lists(key_text, max_size=12, unique=True))
    items: dict[bytes, bytes] = {}
    masters: dict[bytes, dict] = {}
    entries: list[tuple[bytes, dict]] = []
    for name in sorted(names, key=str.encode):
        n = draw(st.integers(1, 4))
        times = sorted(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n, unique=True)), reverse=True)
        vids = [vid_of(t) for t in times]                      # newest first
        null_at = draw(st.one_of(st.none(), st.integers(0, n - 1)))
        docs = []
        for i, vid in enumerate(vids):
            doc = {"key": name, "content-length": i, "content-md5": "%032x" % i, "versionId": vid,
                   "last-modified": "2026-11-23T10:00:00.000Z", "location": [{"key": "d"}], "md-model-version": 1}
            if i == null_at:
                doc["isNull"] = True
            if draw(st.integers(0, 3)) == 0:
                doc.update({"isDeleteMarker": True, "location": None, "content-length": 0})
            docs.append(doc)
        master = dict(docs[0])
        if null_at is not None and null_at > 0:
            master["nullVersionId"] = vids[null_at]
        key = name.encode()
        items[key] = orjson.dumps(master)
        masters[key] = master
        for i, vid in enumerate(vids):
            # A null master has its own version key only when repaired from one (§5.5 edge case),
            # or in a never-versioned bucket never; every other version has one (the latest: a duplicate).
            if i == 0 and null_at == 0 and not draw(st.booleans()):
                continue
            items[key + b"\x00" + vid.encode()] = orjson.dumps(docs[i])
        entries.append((key, {"key": name, "versionId": vids[0], "isLatest": True, "doc": master}))
        entries += [(key, {"key": name, "versionId": vids[i], "isLatest": False, "doc": docs[i]})
                    for i in range(1, n)]
    return items, masters, entries


def resolve(masters: dict[bytes, dict], key_marker: bytes | None, vid_marker: str | None) -> str | None:
    """The model's reading of a `null` version-id-marker (§5.5)."""
    if key_marker is None or vid_marker != "null":
        return vid_marker if key_marker is not None else None
    master = masters.get(key_marker)
    if master is None:
        return None
    if master.get("isNull"):
        return master["versionId"]
    return master.get("nullVersionId")


def expected(entries: list[tuple[bytes, dict]], masters: dict[bytes, dict], prefix: bytes, delim: bytes | None,
             key_marker: str | None, vid_marker: str | None) -> list[tuple[str, Any]]:
    km = b(key_marker)
    vid = resolve(masters, km, vid_marker)

    def qualifies(name: bytes, e: dict) -> bool:
        if km is None or name > km:
            return True
        return name == km and vid is not None and not e["isLatest"] and e["versionId"] > vid
    return model_entries(entries, prefix, delim, qualifies, km)


def check_version_pages(view: Any, masters: dict, entries: list, params: dict[str, Any]) -> None:
    prefix, delim, n = b(params.get("prefix")) or b"", b(params.get("delimiter")), params["maxKeys"]
    full = expected(entries, masters, prefix, delim, params.get("keyMarker"), params.get("versionIdMarker"))
    seen: list = []
    for _ in range(len(entries) + 2):
        page = list_page(view, "DelimiterVersions", params)
        after = expected(entries, masters, prefix, delim, params.get("keyMarker"), params.get("versionIdMarker"))
        items, cps, truncated, last = split_page(after, n)
        want = [{"key": e["key"], "versionId": e["versionId"], "isLatest": e["isLatest"],
                 "value": {k: e["doc"][k] for k in LISTING_FIELDS if k in e["doc"]}} for e in items]
        assert page["Versions"] == want
        assert page["CommonPrefixes"] == cps
        assert page["IsTruncated"] is truncated
        seen += after[:n]
        if not truncated:
            assert page["NextKeyMarker"] is None and page["NextVersionIdMarker"] is None
            break
        if last[0] == "cp":
            assert (page["NextKeyMarker"], page["NextVersionIdMarker"]) == (last[1].decode(), None)
        else:
            e = last[1]
            assert page["NextKeyMarker"] == e["key"]
            assert page["NextVersionIdMarker"] == ("null" if e["doc"].get("isNull") else e["versionId"])
        params = {**params, "keyMarker": page["NextKeyMarker"], "versionIdMarker": page["NextVersionIdMarker"]}
        params = {k: v for k, v in params.items() if v is not None}
    else:
        pytest.fail("listing did not terminate")
    if n > 0:
        assert seen == full


def draw_markers(draw: Any, masters: dict[bytes, dict], entries: list) -> dict[str, str]:
    """A key marker, maybe with a version id marker that a client could have got from an earlier page."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return {}
    if choice == 1 or not entries:
        return {"keyMarker": draw(key_text)}
    name, e = draw(st.sampled_from(entries))
    vid = draw(st.sampled_from([None, "null", "null", e["versionId"]]))
    return {"keyMarker": e["key"], **({"versionIdMarker": vid} if vid else {})}


@SETTINGS
@given(data=st.data(), history=histories(), delim=delimiters, n=max_keys, streak=streaks)
def test_version_pages(view: Any, data: Any, history: Any, delim: str | None, n: int, streak: int) -> None:
    items, masters, entries = history
    fill(view, items)
    params: dict[str, Any] = {"prefix": draw_prefix(data.draw, list(masters)), "maxKeys": n,
                              **draw_markers(data.draw, masters, entries)}
    if delim:
        params["delimiter"] = delim
    with skip_streak(streak):
        check_version_pages(view, masters, entries, params)


@SETTINGS
@given(history=histories(), delim=delimiters)
def test_versions_one_at_a_time(view: Any, history: Any, delim: str | None) -> None:
    """Paging one entry at a time reproduces the full listing; IsLatest once per key, on its master."""
    items, masters, entries = history
    fill(view, items)
    params: dict[str, Any] = {"maxKeys": 1, **({"delimiter": delim} if delim else {})}
    check_version_pages(view, masters, entries, params)
    if not delim:
        whole = list_page(view, "DelimiterVersions", {})
        latest = [v["key"] for v in whole["Versions"] if v["isLatest"]]
        assert latest == [m.decode() for m in masters]
        assert len(whole["Versions"]) == len(entries)


def test_null_marker_resolution(view: Any) -> None:
    """`null` resolves through the master: isNull, then nullVersionId, else past every version of the key."""
    v1, v2, v3 = vid_of(3), vid_of(2), vid_of(1)
    doc = lambda vid, **kw: {"key": "k", "versionId": vid, **kw}   # noqa: E731
    fill(view, {b"k": orjson.dumps(doc(v1, nullVersionId=v2)), b"k\x00" + v1.encode(): orjson.dumps(doc(v1)),
                b"k\x00" + v2.encode(): orjson.dumps(doc(v2, isNull=True)),
                b"k\x00" + v3.encode(): orjson.dumps(doc(v3)), b"l": orjson.dumps({"key": "l", "versionId": v1})})
    page = list_page(view, "DelimiterVersions", {"keyMarker": "k", "versionIdMarker": "null", "maxKeys": 1})
    assert [(e["key"], e["versionId"]) for e in page["Versions"]] == [("k", v3)]
    page = list_page(view, "DelimiterVersions", {"keyMarker": "l", "versionIdMarker": "null"})
    assert page["Versions"] == [] and page["IsTruncated"] is False
    page = list_page(view, "DelimiterVersions", {"keyMarker": "k", "maxKeys": 1})
    assert [(e["key"], e["isLatest"]) for e in page["Versions"]] == [("l", True)]


def test_key_marker_without_vid_lists_the_next_object(view: Any) -> None:
    """keyMarker alone resumes at `k\x01` inclusive: the object named `k\x01` is listed."""
    v1 = vid_of(1)
    fill(view, {b"k": orjson.dumps({"key": "k", "versionId": v1}), b"k\x00" + v1.encode(): b"{}",
                b"k\x01": orjson.dumps({"key": "k\x01", "versionId": v1})})
    page = list_page(view, "DelimiterVersions", {"keyMarker": "k"})
    assert [(e["key"], e["isLatest"]) for e in page["Versions"]] == [("k\x01", True)]


def test_seek_over_newer_versions(view: Any) -> None:
    """Resuming deep inside a key's versions seeks past the newer ones instead of reading them all."""
    vids = [vid_of(20_000 - i) for i in range(5000)]
    items = {b"k": orjson.dumps({"key": "k", "versionId": vids[0]})}
    items.update({b"k\x00" + v.encode(): orjson.dumps({"key": "k", "versionId": v}) for v in vids})
    fill(view, items)
    stats = ListingStats()
    page = list_page(view, "DelimiterVersions", {"keyMarker": "k", "versionIdMarker": vids[4000], "maxKeys": 2},
                     stats)
    assert [e["versionId"] for e in page["Versions"]] == vids[4001:4003]
    assert page["NextVersionIdMarker"] == vids[4002]
    assert stats.seeks > 0 and stats.keys < 3 * C.LISTING_SKIP_STREAK
