"""`Delimiter` (design.md §6.2): plain keys, Contents and CommonPrefixes, v1 marker or v2 token."""
from __future__ import annotations

from typing import Any

import orjson

from dmd.metadata.listing.base import ACCEPT, END, SKIP, FilterResult, ListingExtension, Range, start_range, to_bytes
from dmd.metadata.listing.rows import Documents


class Delimiter(ListingExtension):
    """Lists plain keys; values are returned as parsed documents (they need not be object metadata)."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.v2 = bool(params.get("v2"))
        # v2: the continuation token wins over StartAfter (§6.7).
        raw = (params.get("continuationToken") or params.get("startAfter")) if self.v2 else params.get("marker")
        self.marker: bytes | None = to_bytes(raw)
        # The listed entries; only values that end up in the page are parsed.
        self.contents = self.entry_builder(params)
        self.next_marker: bytes | None = None

    def gen_params(self) -> Range | None:
        """Prefix bounds, then strictly after the marker (or after its common prefix)."""
        if self.max_keys == 0:
            return None
        return start_range(self.prefix, self.delimiter, self.marker)

    def filter(self, key: bytes, value: bytes) -> FilterResult:
        """SkippingPrefix: skip keys under the prefix; NotSkipping: add the key or its prefix."""
        if self.leave_prefix(key):
            return SKIP
        return self.add(key, value)

    def add(self, key: bytes, value: bytes) -> FilterResult:
        """NotSkipping on a listable key: END when full, else add it (or its common prefix)."""
        if self.reached_max():
            return END
        cp = self.common_prefix(key)
        if cp is not None:
            self.add_prefix(cp)
            self.next_marker = cp
        else:
            self.contents.add(key, orjson.loads(value))
            self.count += 1
            self.next_marker = key
        return ACCEPT

    def entry_builder(self, params: dict[str, Any]) -> Documents:
        """How the page carries listed keys: here, each value whole."""
        return Documents()

    def result(self) -> dict[str, Any]:
        """Contents, CommonPrefixes, IsTruncated and the v1/v2 resume point."""
        nxt = self.next_marker.decode("utf-8") if self.truncated and self.next_marker is not None else None
        return {
            **self.contents.entries(),
            "CommonPrefixes": self.prefix_strings(),
            "IsTruncated": self.truncated,
            # AWS: without a delimiter, v1 clients resume from the last Key, so NextMarker is omitted.
            "NextMarker": nxt if not self.v2 and self.delimiter is not None else None,
            "NextContinuationToken": nxt if self.v2 else None,
        }
