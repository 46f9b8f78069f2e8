"""Acknowledged, flow-controlled streams: createReadStream (dmd-reference §4)."""
from __future__ import annotations

METHODS: dict = {}
