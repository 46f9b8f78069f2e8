"""CopyObject (and the byte copying UploadPartCopy shares)."""
from __future__ import annotations

HANDLERS: dict = {}
