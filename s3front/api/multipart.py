"""Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts, ListMultipartUploads."""
from __future__ import annotations

HANDLERS: dict = {}
