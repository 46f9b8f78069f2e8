"""`DelimiterMaster` (design.md §6.3): ListObjects over the v0 layout, masters only, delete markers hidden."""
from __future__ import annotations

from typing import Any

import orjson

from dmd.metadata.engine import Cursor
from dmd.metadata.listing.base import ACCEPT, DELETE_MARKER_TAG, SKIP, FilterResult, inc, is_delete_marker
from dmd.metadata.listing.delimiter import Delimiter
from dmd.metadata.listing.driver import ListingStats
from dmd.metadata.listing.rows import Documents, Projected, Rows
from shared import constants as C

SEP = C.VERSION_SEPARATOR


class DelimiterMaster(Delimiter):
    """Delimiter over masters (`key`), skipping version keys (`key\\0vid`) and delete-marker masters.

    `filter` is the state machine of §6.3, step by step; `scan` runs the same machine over a whole
    iterator in one loop (the hot path of every ListObjects), and the property tests compare the two.
    With `compact` in the params, the page carries compact rows (rows.py) instead of documents.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        # SkippingVersions(m) state; with a marker the scan starts there, so the marker's versions are skipped.
        self.skip_versions: bytes | None = self.marker

    def entry_builder(self, params: dict[str, Any]) -> Documents:
        """Compact rows when asked for, else projected documents."""
        return Rows() if params.get("compact") else Projected()

    def filter(self, key: bytes, value: bytes) -> FilterResult:
        """Skip version keys and hidden masters; list visible masters as Delimiter does."""
        if self.leave_prefix(key):
            return SKIP
        sep = key.find(SEP)
        if sep >= 0:
            # A version key is never listed here. Taking the name from the key itself (not only the
            # current master) keeps the skip target ahead of the scan even for a version without master.
            self.skip_versions = key[:sep]
            return SKIP
        self.skip_versions = None
        if is_delete_marker(value):
            # Invisible object: not added, not counted, and no maxKeys check (§6.3 rule 1).
            self.skip_versions = key
            return ACCEPT
        result = self.add(key, value)
        if result is ACCEPT and self.skip_prefix is None:
            self.skip_versions = key
        return result

    def skipping(self) -> bytes | None:
        """inc(cp) in SkippingPrefix, `m\\x01` (past every version of m) in SkippingVersions."""
        if self.skip_prefix is not None:
            return super().skipping()
        if self.skip_versions is not None:
            return self.skip_versions + b"\x01"
        return None

    def scan(self, it: Cursor, stop: bytes | None, stats: ListingStats) -> None:
        """`filter` and the driver's skip/seek loop fused, with the state in locals (no call per key)."""
        delimiter, plen = self.delimiter, len(self.prefix)
        dlen = len(delimiter) if delimiter else 0
        max_keys, count, limit = self.max_keys, self.count, C.LISTING_SKIP_STREAK
        add, prefixes = self.contents.add, self.prefixes
        skip_prefix = self.skip_prefix
        skip_target = (inc(skip_prefix) or None) if skip_prefix is not None else None
        next_marker, truncated = self.next_marker, False
        streak = keys = seeks = 0
        loads = orjson.loads
        for key, value in it:
            keys += 1
            if skip_prefix is not None and key.startswith(skip_prefix):
                target = skip_target                    # SkippingPrefix
            else:
                skip_prefix = None
                sep = key.find(SEP)
                if sep >= 0:
                    target = key[:sep] + b"\x01"        # a version key: past every version of its name
                else:
                    # A master. A delete marker is invisible: not counted, and no maxKeys check. A value
                    # that will be listed is parsed once, and that parse tells delete markers apart.
                    streak = 0
                    if count >= max_keys:
                        if DELETE_MARKER_TAG in value and is_delete_marker(value):
                            continue
                        truncated = max_keys > 0
                        break
                    index = key.find(delimiter, plen) if dlen else -1
                    if index >= 0:
                        if DELETE_MARKER_TAG in value and is_delete_marker(value):
                            continue
                        skip_prefix = next_marker = key[:index + dlen]
                        skip_target = inc(skip_prefix) or None
                        prefixes.append(skip_prefix)
                    else:
                        doc = loads(value)
                        # is_delete_marker(value), without a second parse
                        if doc.get("isDeleteMarker") is True and DELETE_MARKER_TAG in value:
                            continue
                        add(key, doc)
                        next_marker = key
                    count += 1
                    continue
            if target is None:
                streak = 0
                continue
            streak += 1
            if streak >= limit and target > key:
                if stop is not None and target >= stop:
                    break
                it.seek(target)
                seeks += 1
                streak = 0
        self.count, self.next_marker, self.skip_prefix = count, next_marker, skip_prefix
        self.truncated = self.truncated or truncated
        stats.keys += keys
        stats.seeks += seeks
