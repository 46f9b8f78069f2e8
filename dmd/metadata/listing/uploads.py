"""Multipart listings (design.md §6.5): ListMultipartUploads and ListParts over the MPU sub-level."""
from __future__ import annotations

from typing import Any

import orjson

from dmd.metadata.engine import View
from dmd.metadata.keys import OVERVIEW, inc, part_number, relative_parts
from dmd.metadata.listing.base import ACCEPT, END, SKIP, FilterResult, ListingExtension, Range, start_range, to_bytes
from shared import constants as C

SEP = C.VERSION_SEPARATOR
# Fields of an overview that the upload listing never shows: metadata and ACL to apply at completion.
_HIDDEN_OVERVIEW_FIELDS = ("md",)


class MultipartUploads(ListingExtension):
    """Uploads in progress, by key then uploadId (time-ordered), with the normal prefix skipping."""

    def __init__(self, params: dict[str, Any]) -> None:
        # The front-end may send maxKeys for max-uploads; maxUploads wins when both are present.
        super().__init__(params, "maxUploads", "maxKeys")
        self.key_marker: bytes | None = to_bytes(params.get("keyMarker"))
        # AWS ignores upload-id-marker without key-marker.
        self.upload_marker: bytes | None = to_bytes(params.get("uploadIdMarker")) if self.key_marker else None
        self.uploads: list[dict[str, Any]] = []
        self.next_key_marker: bytes | None = None
        self.next_upload_marker: bytes | None = None

    def gen_params(self) -> Range | None:
        """`overview\\0prefix` bounds; after keyMarker's upload, or past all uploads of keyMarker."""
        if self.max_keys == 0:
            return None
        resume = None
        if self.key_marker is not None:
            if self.upload_marker is not None:
                resume = (self.key_marker + SEP + self.upload_marker, False)
            else:
                resume = (self.key_marker + b"\x01", True)
        # A keyMarker that is a CommonPrefix (NextKeyMarker of a page ending on one) resumes after it.
        return start_range(self.prefix, self.delimiter, self.key_marker, resume, ns=OVERVIEW)

    def filter(self, key: bytes, value: bytes) -> FilterResult:
        """Add an upload, or its key's common prefix once and skip the rest of that prefix."""
        if self.leave_prefix(key):
            return SKIP
        name, sep, upload_id = key[len(OVERVIEW):].partition(SEP)
        if not sep or not key.startswith(OVERVIEW):
            return ACCEPT      # not an overview key: ignore it, it is not a listable entry
        if self.reached_max():
            return END
        cp = self.common_prefix(name)
        if cp is not None:
            self.add_prefix(cp, OVERVIEW + cp)
            self.next_key_marker, self.next_upload_marker = cp, None
            return ACCEPT
        overview = orjson.loads(value)
        for field in _HIDDEN_OVERVIEW_FIELDS:
            overview.pop(field, None)
        self.uploads.append({"key": name.decode("utf-8"), "uploadId": upload_id.decode("utf-8"), "value": overview})
        self.count += 1
        self.next_key_marker, self.next_upload_marker = name, upload_id
        return ACCEPT

    def result(self) -> dict[str, Any]:
        """Uploads, CommonPrefixes and the resume point when truncated."""
        t = self.truncated
        return {
            "Uploads": self.uploads,
            "CommonPrefixes": self.prefix_strings(),
            "IsTruncated": t,
            "NextKeyMarker": self.next_key_marker.decode("utf-8") if t and self.next_key_marker else None,
            "NextUploadIdMarker": self.next_upload_marker.decode("utf-8") if t and self.next_upload_marker else None,
        }


def list_parts(db: View, upload_id: str, part_number_marker: int | None = 0,
               max_parts: int = C.LISTING_MAX_KEYS) -> dict[str, Any]:
    """Parts of one upload after part_number_marker, at most max_parts, without their locations."""
    marker = max(0, int(part_number_marker or 0))
    limit = max(0, min(int(max_parts), C.LISTING_MAX_KEYS))
    base = relative_parts(upload_id)
    parts: list[dict[str, Any]] = []
    truncated = False
    # Part numbers are padded to 5 digits; a marker at or past 99999 has nothing after it.
    if limit > 0 and marker < 99999:
        with db.cursor(base + part_number(marker + 1), inc(base)) as it:
            for _key, value in it:
                if len(parts) >= limit:
                    truncated = True
                    break
                part = orjson.loads(value)
                part.pop("location", None)
                parts.append(part)
    return {"Parts": parts, "IsTruncated": truncated,
            "NextPartNumberMarker": parts[-1]["partNumber"] if truncated else None}
