"""The skip/seek optimisation (design.md §6.6): long skips are jumped over, and the page stays right."""
from __future__ import annotations

from typing import Any

import orjson

from dmd.metadata.listing import ListingStats, list_page
from shared import constants as C
from tests.test_listing_props import fill, object_md, view

__all__ = ["view"]   # the module-scoped DB fixture, shared


def test_seek_over_a_large_common_prefix(view: Any) -> None:
    """~10^4 keys under one prefix are jumped over by one seek, and the page is right."""
    items = {b"a": orjson.dumps(object_md("a", 0, False)), b"z": orjson.dumps(object_md("z", 1, False))}
    for i in range(10_000):
        items[b"p/%05d" % i] = orjson.dumps(object_md("p/%05d" % i, i, False))
    items[b"p/00007\x00" + b"9" * 27] = items[b"p/00007"]
    fill(view, items)
    stats = ListingStats()
    page = list_page(view, "DelimiterMaster", {"delimiter": "/", "maxKeys": 10}, stats)
    assert [c["key"] for c in page["Contents"]] == ["a", "z"]
    assert page["CommonPrefixes"] == ["p/"] and page["IsTruncated"] is False
    assert stats.seeks > 0 and stats.keys < 3 * C.LISTING_SKIP_STREAK
    stats = ListingStats()
    page = list_page(view, "DelimiterMaster", {"delimiter": "/", "maxKeys": 2}, stats)
    assert page["IsTruncated"] is True and page["NextMarker"] == "p/" and stats.seeks > 0
    page = list_page(view, "DelimiterMaster", {"delimiter": "/", "maxKeys": 2, "marker": "p/"})
    assert [c["key"] for c in page["Contents"]] == ["z"] and page["IsTruncated"] is False


def test_seek_over_many_versions(view: Any) -> None:
    """A master followed by 10^4 version keys costs one seek in a master listing."""
    items = {b"k": orjson.dumps(object_md("k", 0, False)), b"k\x01": orjson.dumps(object_md("k\x01", 1, False))}
    for i in range(10_000):
        items[b"k\x00%027d" % i] = orjson.dumps(object_md("k", i, False))
    fill(view, items)
    stats = ListingStats()
    page = list_page(view, "DelimiterMaster", {}, stats)
    assert [c["key"] for c in page["Contents"]] == ["k", "k\x01"]
    assert "location" not in page["Contents"][0]["value"]
    assert stats.seeks > 0 and stats.keys < 3 * C.LISTING_SKIP_STREAK
