"""Listing algorithms run inside the metadata daemon (design.md §6): one page per call."""
from __future__ import annotations

from typing import Any

from dmd.metadata.engine import View
from dmd.metadata.listing.base import FilterResult, ListingExtension, common_prefix, inc, project
from dmd.metadata.listing.delimiter import Delimiter
from dmd.metadata.listing.driver import ListingStats, run_listing
from dmd.metadata.listing.master import DelimiterMaster
from dmd.metadata.listing.uploads import MultipartUploads, list_parts
from dmd.metadata.listing.versions import DelimiterVersions
from shared.errors import S3Error

KINDS = ("Delimiter", "DelimiterMaster", "DelimiterVersions", "MultipartUploads")

__all__ = ["KINDS", "Delimiter", "DelimiterMaster", "DelimiterVersions", "FilterResult", "ListingExtension",
           "ListingStats", "MultipartUploads", "common_prefix", "inc", "list_page", "list_parts", "project",
           "run_listing"]


def make_extension(db: View, kind: str, params: dict[str, Any]) -> ListingExtension:
    """The extension for a listing type; DelimiterVersions reads the db to resolve a `null` vid marker."""
    if kind == "Delimiter":
        return Delimiter(params)
    if kind == "DelimiterMaster":
        return DelimiterMaster(params)
    if kind == "DelimiterVersions":
        return DelimiterVersions(params, db)
    if kind == "MultipartUploads":
        return MultipartUploads(params)
    raise S3Error("InvalidArgument", f"Unknown listing type {kind!r}", ArgumentName="listingType",
                  ArgumentValue=kind)


def list_page(db: View, kind: str, params: dict[str, Any], stats: ListingStats | None = None) -> dict[str, Any]:
    """One listing page of `kind` over `db` (a bucket or MPU sub-level view)."""
    return run_listing(make_extension(db, kind, params), db, stats)
