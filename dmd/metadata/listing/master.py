"""`DelimiterMaster` (dmd-reference §6.3): ListObjects over the v0 layout, masters only, delete markers hidden."""
from __future__ import annotations

from typing import Any

from dmd.metadata.listing.base import ACCEPT, SKIP, FilterResult, is_delete_marker, project
from dmd.metadata.listing.delimiter import Delimiter
from shared import constants as C

SEP = C.VERSION_SEPARATOR


class DelimiterMaster(Delimiter):
    """Delimiter over masters (`key`), skipping version keys (`key\\0vid`) and delete-marker masters."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        # SkippingVersions(m) state; with a marker the scan starts there, so the marker's versions are skipped.
        self.skip_versions: bytes | None = self.marker

    def parse(self, value: bytes) -> Any:
        """Object metadata, projected to the listing fields."""
        return project(value)

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
