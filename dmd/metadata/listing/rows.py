"""Page encodings of object listings: projected documents, or compact rows for the S3 front-end.

A page of 1000 projected documents is ~350 KB, mostly `key` said twice and the 64-character owner id
said on every entry; moving and parsing it cost more than computing it (measured). The compact
encoding sends, per object, only what ListObjects shows, and each distinct owner once per page:

    "Rows":   [[key, last-modified, content-md5, content-length, storage class, owner index], ...]
    "Owners": [[owner-id, owner-display-name], ...]

with the defaults the XML applies already applied (ETag `""`, Size 0, StorageClass STANDARD).
"""
from __future__ import annotations

from typing import Any

from shared.models import LISTING_FIELDS

_LISTED = frozenset(LISTING_FIELDS)


class Documents:
    """Page entries as {"key", "value"} with each value whole (plain keys: any JSON document)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, key: bytes, doc: Any) -> None:
        self.items.append({"key": key.decode("utf-8"), "value": doc})

    def entries(self) -> dict[str, Any]:
        return {"Contents": self.items}


class Projected(Documents):
    """Page entries as {"key", "value"}, each value cut to the listing fields (never `location`)."""

    def add(self, key: bytes, doc: Any) -> None:
        # Reduced at once: keeping 1000 whole documents alive costs cyclic-GC passes (measured). One pass
        # over the document's fields is 20 % cheaper than ten lookups (measured); only the order differs.
        self.items.append({"key": key.decode("utf-8"), "value": {name: v for name, v in doc.items()
                                                                  if name in _LISTED}})


class Rows(Documents):
    """Page entries in the compact encoding: `Rows` and the page's `Owners` table."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.owners: dict[tuple, int] = {}

    def add(self, key: bytes, doc: dict[str, Any]) -> None:
        get = doc.get
        owner = (get("owner-id"), get("owner-display-name"))
        index = self.owners.get(owner)
        if index is None:
            index = self.owners[owner] = len(self.owners)
        self.rows.append((key.decode("utf-8"), get("last-modified"), get("content-md5", ""),
                          get("content-length", 0), get("x-amz-storage-class") or "STANDARD", index))

    def entries(self) -> dict[str, Any]:
        return {"Rows": self.rows, "Owners": list(self.owners)}
