"""Bucket versioning: PutBucketVersioning, GetBucketVersioning, ListObjectVersions."""
from __future__ import annotations

HANDLERS: dict = {}
