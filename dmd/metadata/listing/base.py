"""Shared pieces of the listing extensions (design.md §6.1): results, byte helpers, projection, base class."""
from __future__ import annotations

import enum
from typing import Any

import orjson

from dmd.metadata.keys import inc
from shared import constants as C
from shared.models import LISTING_FIELDS

# A range as the extensions describe it: at most one of "gt"/"gte", optionally "lt"; None means "scan nothing".
Range = dict[str, bytes]


class FilterResult(enum.Enum):
    """What an extension did with one (key, value) pair."""

    ACCEPT = "accept"   # consumed; maybe added to the page
    SKIP = "skip"       # ignored; skipping() names where the scan may jump
    END = "end"         # the page is full: stop scanning


ACCEPT, SKIP, END = FilterResult.ACCEPT, FilterResult.SKIP, FilterResult.END

DELETE_MARKER_TAG = b'"isDeleteMarker":true'


def common_prefix(key: bytes, prefix: bytes, delimiter: bytes | None) -> bytes | None:
    """key up to and including the first delimiter at or after len(prefix), or None."""
    if not delimiter:
        return None
    # Searching UTF-8 bytes is safe: UTF-8 is self-synchronising, so a byte match is a character match.
    index = key.find(delimiter, len(prefix))
    return None if index < 0 else key[:index + len(delimiter)]


def project_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """Keep only the fields a listing returns (never `location`)."""
    return {name: doc[name] for name in LISTING_FIELDS if name in doc}


def project(value: bytes) -> dict[str, Any]:
    """Parse an orjson object-metadata value and keep only the listing fields."""
    return project_doc(orjson.loads(value))


def is_delete_marker(value: bytes) -> bool:
    """True for a delete marker; the byte pre-filter spares parsing every other value (§2.3)."""
    if DELETE_MARKER_TAG not in value:
        return False
    return orjson.loads(value).get("isDeleteMarker") is True


def to_bytes(value: str | bytes | None) -> bytes | None:
    """A parameter as UTF-8 bytes; None and the empty string both mean "not given"."""
    if not value:
        return None
    return value if isinstance(value, bytes) else value.encode("utf-8")


def max_keys_param(params: dict[str, Any], *names: str) -> int:
    """The first of `names` present in params, clamped to 0..LISTING_MAX_KEYS (default the maximum)."""
    for name in names:
        raw = params.get(name)
        if raw is not None:
            return max(0, min(int(raw), C.LISTING_MAX_KEYS))
    return C.LISTING_MAX_KEYS


def _tighter(a: tuple[bytes, bool], b: tuple[bytes, bool]) -> tuple[bytes, bool]:
    """The stricter of two lower bounds (key, inclusive): the larger key, exclusive on a tie."""
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return a if not a[1] else b


def start_range(prefix: bytes, delimiter: bytes | None, marker: bytes | None,
                resume: tuple[bytes, bool] | None = None, ns: bytes = b"") -> Range | None:
    """The initial range of §6.2: the prefix bounds, tightened by a marker and its common prefix.

    `resume` is the bound the marker itself implies, relative to `ns` (default: strictly after the marker);
    `ns` is a fixed namespace in front of every key (`overview\\0` for uploads).
    """
    rng: Range = {}
    lower: tuple[bytes, bool] | None = None
    if ns or prefix:
        lower = (ns + prefix, True)
        upper = inc(ns + prefix)
        if upper:
            rng["lt"] = upper
    if marker is not None:
        cp = common_prefix(marker, prefix, delimiter)
        if cp is not None:
            # A marker inside a common prefix (or equal to one) resumes after everything under it.
            after = inc(ns + cp)
            if not after:
                return None
            lower = (after, True) if lower is None else _tighter(lower, (after, True))
        key, inclusive = resume if resume is not None else (marker, False)
        bound = (ns + key, inclusive)
        lower = bound if lower is None else _tighter(lower, bound)
    if lower is not None:
        rng["gte" if lower[1] else "gt"] = lower[0]
    return rng


class ListingExtension:
    """A state machine fed (key, value) pairs in key order (§6.1); subclasses define the states."""

    def __init__(self, params: dict[str, Any], *max_names: str) -> None:
        self.prefix: bytes = to_bytes(params.get("prefix")) or b""
        self.delimiter: bytes | None = to_bytes(params.get("delimiter"))
        self.max_keys: int = max_keys_param(params, *(max_names or ("maxKeys",)))
        self.count = 0
        self.truncated = False
        self.prefixes: list[bytes] = []
        # SkippingPrefix(cp) state: raw key prefix being skipped (namespace included), or None.
        self.skip_prefix: bytes | None = None

    def gen_params(self) -> Range | None:
        """The initial range, or None when nothing can be listed."""
        raise NotImplementedError

    def filter(self, key: bytes, value: bytes) -> FilterResult:
        """Consume one pair; see FilterResult."""
        raise NotImplementedError

    def skipping(self) -> bytes | None:
        """The first key the scan may jump to in the current skipping state, or None."""
        if self.skip_prefix is not None:
            return inc(self.skip_prefix) or None
        return None

    def result(self) -> dict[str, Any]:
        """The page."""
        raise NotImplementedError

    def common_prefix(self, name: bytes) -> bytes | None:
        """The common prefix of an object name under this listing's prefix and delimiter."""
        return common_prefix(name, self.prefix, self.delimiter)

    def leave_prefix(self, key: bytes) -> bool:
        """In SkippingPrefix: True if `key` is still under the skipped prefix, else back to NotSkipping."""
        if self.skip_prefix is None:
            return False
        if key.startswith(self.skip_prefix):
            return True
        self.skip_prefix = None
        return False

    def reached_max(self) -> bool:
        """Full? Only called when a listable entry arrives, so truncation means one more entry exists."""
        if self.count >= self.max_keys:
            self.truncated = self.max_keys > 0
            return True
        return False

    def add_prefix(self, cp: bytes, raw_prefix: bytes | None = None) -> None:
        """Add a CommonPrefix (counted like a key) and skip everything under it."""
        self.prefixes.append(cp)
        self.count += 1
        self.skip_prefix = cp if raw_prefix is None else raw_prefix

    def prefix_strings(self) -> list[str]:
        return [cp.decode("utf-8") for cp in self.prefixes]
