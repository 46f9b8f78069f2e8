"""Property tests of MultipartUploads and list_parts (design.md §6.5, §7) against brute-force models."""
from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, strategies as st

from dmd.metadata.listing import ListingStats, list_page, list_parts
from shared import constants as C
from tests.test_listing_props import (SETTINGS, b, delimiters, draw_prefix, fill, key_text, max_keys, model_entries,
                                      skip_streak, split_page, streaks, view)

__all__ = ["view"]   # the module-scoped DB fixture, shared

upload_ids = st.text(alphabet="0123456789abcdef", min_size=1, max_size=3)


def overview(key: str, uid: str) -> dict[str, Any]:
    return {"initiated": "2026-11-23T10:00:00.000Z", "key": key, "uploadId": uid, "storageClass": "STANDARD",
            "initiator": {"ID": "o", "DisplayName": "O"}, "owner": {"ID": "o", "DisplayName": "O"},
            "md": {"x-amz-meta-a": "b"}}


@st.composite
def mpu_levels(draw: Any) -> tuple[dict[bytes, bytes], list[tuple[bytes, dict]]]:
    """Raw MPU sub-level contents (overviews and parts) and the model's uploads in order."""
    pairs = draw(st.lists(st.tuples(key_text, upload_ids), max_size=30, unique=True))
    items: dict[bytes, bytes] = {}
    for key, uid in pairs:
        items[b"overview\x00" + key.encode() + b"\x00" + uid.encode()] = orjson.dumps(overview(key, uid))
        items[b"part\x00" + uid.encode() + b"\x0000001"] = orjson.dumps({"partNumber": 1})   # must never show
    uploads = sorted(((key.encode(), uid.encode()), {"key": key, "uploadId": uid}) for key, uid in pairs)
    return items, [(k[0], {**u, "_sort": k}) for k, u in uploads]


def expected(uploads: list, prefix: bytes, delim: bytes | None, params: dict[str, Any]) -> list[tuple[str, Any]]:
    km = b(params.get("keyMarker"))
    um = b(params.get("uploadIdMarker")) if km is not None else None

    def qualifies(name: bytes, u: dict) -> bool:
        if km is None:
            return True
        return u["_sort"] > (km, um) if um is not None else name > km
    return model_entries(uploads, prefix, delim, qualifies, km)


@SETTINGS
@given(data=st.data(), level=mpu_levels(), delim=delimiters, n=max_keys, streak=streaks,
       max_name=st.sampled_from(["maxUploads", "maxKeys"]))
def test_upload_pages(view: Any, data: Any, level: Any, delim: str | None, n: int, streak: int,
                      max_name: str) -> None:
    items, uploads = level
    fill(view, items)
    names = [name for name, _ in uploads]
    params: dict[str, Any] = {"prefix": draw_prefix(data.draw, names), max_name: n}
    if delim:
        params["delimiter"] = delim
    if data.draw(st.booleans()):
        params["keyMarker"] = data.draw(st.one_of(key_text, st.sampled_from([x.decode() for x in names]))) if names \
            else data.draw(key_text)
    # An uploadIdMarker without keyMarker is ignored (AWS); the model checks that too.
    uid = data.draw(st.one_of(st.none(), upload_ids))
    if uid is not None:
        params["uploadIdMarker"] = uid
    prefix, bdelim = b(params["prefix"]) or b"", b(delim)
    full = expected(uploads, prefix, bdelim, params)
    seen: list = []
    with skip_streak(streak):
        for _ in range(len(uploads) + 2):
            page = list_page(view, "MultipartUploads", params)
            after = expected(uploads, prefix, bdelim, params)
            ups, cps, truncated, last = split_page(after, n)
            assert [(u["key"], u["uploadId"]) for u in page["Uploads"]] == [(u["key"], u["uploadId"]) for u in ups]
            assert all(u["value"]["uploadId"] == u["uploadId"] and "md" not in u["value"] for u in page["Uploads"])
            assert page["CommonPrefixes"] == cps
            assert page["IsTruncated"] is truncated
            seen += after[:n]
            if not truncated:
                assert page["NextKeyMarker"] is None and page["NextUploadIdMarker"] is None
                break
            want = (last[1].decode(), None) if last[0] == "cp" else (last[1]["key"], last[1]["uploadId"])
            assert (page["NextKeyMarker"], page["NextUploadIdMarker"]) == want
            params = {k: v for k, v in params.items() if k not in ("keyMarker", "uploadIdMarker")}
            params["keyMarker"] = page["NextKeyMarker"]
            if page["NextUploadIdMarker"] is not None:
                params["uploadIdMarker"] = page["NextUploadIdMarker"]
        else:
            pytest.fail("listing did not terminate")
    if n > 0:
        assert seen == full


def test_key_marker_skips_only_its_own_uploads(view: Any) -> None:
    """keyMarker alone resumes at `k\x01` inclusive: an upload of the object named `k\x01` is listed."""
    fill(view, {b"overview\x00" + k + b"\x00u": orjson.dumps(overview(k.decode(), "u")) for k in (b"k", b"k\x01")})
    page = list_page(view, "MultipartUploads", {"keyMarker": "k"})
    assert [u["key"] for u in page["Uploads"]] == ["k\x01"]


def test_upload_prefix_seek(view: Any) -> None:
    items = {b"overview\x00a/%05d\x00u" % i: orjson.dumps(overview("a/%05d" % i, "u")) for i in range(2000)}
    items[b"overview\x00b\x00u"] = orjson.dumps(overview("b", "u"))
    fill(view, items)
    stats = ListingStats()
    page = list_page(view, "MultipartUploads", {"delimiter": "/", "maxUploads": 5}, stats)
    assert page["CommonPrefixes"] == ["a/"] and [u["key"] for u in page["Uploads"]] == ["b"]
    assert stats.seeks == 1


@SETTINGS
@given(numbers=st.sets(st.one_of(st.integers(1, 30), st.integers(1, C.MPU_MAX_PART_NUMBER)), max_size=40),
       marker=st.one_of(st.integers(0, 40), st.integers(0, C.MPU_MAX_PART_NUMBER)),
       n=st.one_of(st.integers(0, 4), st.integers(0, C.LISTING_MAX_KEYS)))
def test_list_parts_pages(view: Any, numbers: set[int], marker: int, n: int) -> None:
    def part(num: int, uid: str) -> bytes:
        return orjson.dumps({"partNumber": num, "etag": "%032x" % num, "size": num, "lastModified": "t",
                             "location": [{"key": uid}]})
    items = {b"part\x00ab\x00%05d" % num: part(num, "ab") for num in numbers}
    # Another upload whose id extends this one, and one that sorts just before: neither may leak in.
    items.update({b"part\x00abc\x00%05d" % num: part(num, "abc") for num in (1, 2)})
    items.update({b"part\x00a\x00%05d" % num: part(num, "a") for num in (1, 2)})
    items[b"overview\x00k\x00ab"] = orjson.dumps(overview("k", "ab"))
    fill(view, items)
    want = sorted(num for num in numbers if num > marker)
    seen: list[int] = []
    for _ in range(len(numbers) + 2):
        page = list_parts(view, "ab", marker, n)
        nums = [p["partNumber"] for p in page["Parts"]]
        assert nums == sorted(num for num in numbers if num > marker)[:n]
        assert all("location" not in p and p["etag"] == "%032x" % p["partNumber"] for p in page["Parts"])
        truncated = n > 0 and len([num for num in numbers if num > marker]) > n
        assert page["IsTruncated"] is truncated
        seen += nums
        if not truncated:
            assert page["NextPartNumberMarker"] is None
            break
        assert page["NextPartNumberMarker"] == nums[-1]
        marker = page["NextPartNumberMarker"]
    if n > 0:
        assert seen == want
