"""DeleteObjects: up to 1000 keys in one request."""
from __future__ import annotations

HANDLERS: dict = {}
