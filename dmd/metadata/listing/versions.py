"""`DelimiterVersions` (design.md §6.4): ListObjectVersions over masters and version keys."""
from __future__ import annotations

from typing import Any

import orjson

from dmd.metadata.engine import View
from dmd.metadata.listing.base import ACCEPT, END, SKIP, FilterResult, ListingExtension, Range, project_doc, \
    start_range, to_bytes
from shared import constants as C
from shared.models import NULL_VERSION

SEP = C.VERSION_SEPARATOR


def resolve_null_marker(db: View | None, key_marker: bytes) -> bytes | None:
    """The internal vid of keyMarker's null version (§5.5); b"" when it is a master without vid; None if none."""
    raw = db.get(key_marker) if db is not None else None
    if raw is None:
        return None
    master = orjson.loads(raw)
    if master.get("isNull") or not master.get("versionId"):
        vid = master.get("versionId")
        # A legacy null master without vid: it was the entry itself, so resume at its first version key.
        return vid.encode("ascii") if vid else b""
    if master.get("nullVersionId"):
        return str(master["nullVersionId"]).encode("ascii")
    return None


class DelimiterVersions(ListingExtension):
    """Every version of every key, newest first per key; IsLatest exactly on entries from master keys."""

    def __init__(self, params: dict[str, Any], db: View | None = None) -> None:
        super().__init__(params)
        self.key_marker: bytes | None = to_bytes(params.get("keyMarker"))
        vid = params.get("versionIdMarker") or None
        self.vid_marker: bytes | None = None
        if self.key_marker is not None and vid is not None:
            self.vid_marker = resolve_null_marker(db, self.key_marker) if vid == NULL_VERSION \
                else vid.encode("ascii")
        # SkippingVersions(keyMarker\0vidMarker): the initial state when resuming inside a key.
        self.skipping_marker = bool(self.vid_marker)
        self.master_key: bytes | None = None
        self.master_vid: bytes | None = None
        self.versions: list[dict[str, Any]] = []
        self.next_key_marker: bytes | None = None
        self.next_vid_marker: str | None = None

    def gen_params(self) -> Range | None:
        """§6.2 with keyMarker; from keyMarker's first version key, or past all of them without a vid marker."""
        if self.max_keys == 0:
            return None
        resume = None
        if self.key_marker is not None:
            # `gte k\x01`, not `gt`: an object may be named exactly `k\x01`.
            resume = (self.key_marker + (SEP if self.vid_marker is not None else b"\x01"), True)
        return start_range(self.prefix, self.delimiter, self.key_marker, resume)

    def filter(self, key: bytes, value: bytes) -> FilterResult:
        """SkippingPrefix, then SkippingVersions of the marker key, then NotSkipping."""
        if self.leave_prefix(key):
            return SKIP
        sep = key.find(SEP)
        name, vid = (key, None) if sep < 0 else (key[:sep], key[sep + 1:])
        if self.skipping_marker:
            if name == self.key_marker and vid is not None:
                if vid < self.vid_marker:          # newer than the marker: already listed
                    return SKIP
                if vid == self.vid_marker:         # the marker entry itself
                    self.skipping_marker = False
                    return ACCEPT
            self.skipping_marker = False
        if vid is None:
            return self._master(name, value)
        if name == self.master_key and vid == self.master_vid:
            # Duplicate of the master, which was already listed as the latest entry; not counted.
            return ACCEPT
        if self.reached_max():
            return END
        return self._add(name, vid.decode("ascii"), False, value)

    def _master(self, name: bytes, value: bytes) -> FilterResult:
        if self.reached_max():
            return END
        cp = self.common_prefix(name)
        if cp is not None:
            return self._add_prefix(cp)
        doc = orjson.loads(value)
        vid = doc.get("versionId")
        self.master_key = name
        self.master_vid = vid.encode("ascii") if vid else None
        return self._add(name, vid, True, value, doc)

    def _add(self, name: bytes, vid: str | None, latest: bool, value: bytes,
             doc: dict[str, Any] | None = None) -> FilterResult:
        cp = self.common_prefix(name)
        if cp is not None:
            return self._add_prefix(cp)
        if doc is None:
            doc = orjson.loads(value)
        self.versions.append({"key": name.decode("utf-8"), "versionId": vid, "isLatest": latest,
                              "value": project_doc(doc)})
        self.count += 1
        self.next_key_marker = name
        self.next_vid_marker = NULL_VERSION if doc.get("isNull") or not vid else vid
        return ACCEPT

    def _add_prefix(self, cp: bytes) -> FilterResult:
        self.add_prefix(cp)
        self.next_key_marker, self.next_vid_marker = cp, None
        return ACCEPT

    def skipping(self) -> bytes | None:
        """inc(cp), or the key just after the marker version while skipping newer versions."""
        if self.skip_prefix is not None:
            return super().skipping()
        if self.skipping_marker:
            return self.key_marker + SEP + self.vid_marker + b"\x00"
        return None

    def result(self) -> dict[str, Any]:
        """Versions (delete markers included), CommonPrefixes, and the resume point when truncated."""
        truncated = self.truncated and self.next_key_marker is not None
        return {
            "Versions": self.versions,
            "CommonPrefixes": self.prefix_strings(),
            "IsTruncated": self.truncated,
            "NextKeyMarker": self.next_key_marker.decode("utf-8") if truncated else None,
            "NextVersionIdMarker": self.next_vid_marker if truncated else None,
        }
