"""The fast paths of listings give what the step-by-step ones give: DelimiterMaster's fused scan loop
against `filter` fed by the driver, compact rows against projected documents, bulk XML of rows against
the generic renderer."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import given, strategies as st

from dmd.metadata.listing import ListingStats, run_listing
from dmd.metadata.listing.master import DelimiterMaster
from s3front.api.listing import contents_xml, row_node
from s3front.xml import render
from shared.contract.listings import ObjectsPage
from tests.test_listing_props import (SETTINGS, buckets, delimiters, draw_marker, draw_prefix, fill, max_keys,
                                      skip_streak, streaks, view)

__all__ = ["view"]   # the module-scoped DB fixture, shared


def _run(view: Any, params: dict[str, Any], fused: bool) -> tuple[dict[str, Any], ListingStats]:
    stats = ListingStats()
    return run_listing(DelimiterMaster(params), view, stats, fused=fused), stats


def _row_of(entry: dict[str, Any], owners: list) -> tuple:
    """The compact row a projected entry should give (rows.py)."""
    v = entry["value"]
    owner = owners.index((v.get("owner-id"), v.get("owner-display-name")))
    return (entry["key"], v.get("last-modified"), v.get("content-md5", ""), v.get("content-length", 0),
            v.get("x-amz-storage-class") or "STANDARD", owner)


@SETTINGS
@given(data=st.data(), bucket=buckets(), delim=delimiters, n=max_keys, streak=streaks)
def test_fused_scan_matches_filter(view: Any, data: Any, bucket: Any, delim: str | None, n: int,
                                   streak: int) -> None:
    items, visible = bucket
    fill(view, items)
    names = [k for k, _ in visible] + [k for k in items if b"\x00" not in k]
    params = {"prefix": draw_prefix(data.draw, names), "delimiter": delim, "maxKeys": n,
              "marker": draw_marker(data.draw, names)}
    params = {k: v for k, v in params.items() if v is not None}
    with skip_streak(streak):
        stepwise, stats = _run(view, params, fused=False)
        fused, fused_stats = _run(view, params, fused=True)
        compact, _ = _run(view, {**params, "compact": True}, fused=True)
    assert fused == stepwise
    assert (fused_stats.keys, fused_stats.seeks) == (stats.keys, stats.seeks)
    assert compact.pop("Rows") == [_row_of(e, compact["Owners"]) for e in stepwise["Contents"]]
    table = compact.pop("Owners")
    assert len(set(table)) == len(table)          # each owner once per page
    assert compact == {k: v for k, v in stepwise.items() if k != "Contents"}


text = st.text(alphabet=st.sampled_from(["a", "&", "<", ">", '"', "'", "\r", "é", "/", " ", "\x00"]), max_size=5)
odd = st.one_of(text, st.none(), st.integers(-2, 2), st.booleans())
owners = st.lists(st.tuples(st.one_of(text, st.none()), st.one_of(text, st.none())), min_size=1, max_size=3,
                  unique=True)


@SETTINGS
@given(data=st.data(), owner_table=owners, with_owner=st.booleans(), url=st.booleans())
def test_bulk_rows_render_like_nodes(data: Any, owner_table: list, with_owner: bool, url: bool) -> None:
    enc = (lambda s: quote(s, safe="/")) if url else (lambda s: s)
    owner_index = st.integers(0, len(owner_table) - 1)
    usual = st.tuples(text, text, text, st.integers(0, 9), text, owner_index)
    unusual = st.tuples(text, odd, odd, st.one_of(st.integers(0, 9), odd), odd, owner_index)
    rows = data.draw(st.lists(st.one_of(usual, usual, usual, unusual), max_size=5))
    # As orjson hands them to the front-end: lists, not tuples.
    page = ObjectsPage.from_wire({"Rows": [list(r) for r in rows], "Owners": [list(o) for o in owner_table]})
    want = "".join(render(row_node(r, with_owner, enc)) for r in page.rows)
    assert render(contents_xml(page, enc, with_owner)) == want
