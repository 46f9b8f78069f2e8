"""Multipart upload operations of the metadata daemon (dmd-reference §7)."""
from __future__ import annotations

METHODS: dict = {}
