"""HTTP byte ranges: one parser for the S3 layer and the /DataFile layer (design.md §8.3)."""
from __future__ import annotations

import re

from shared.params import parse_int

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")       # ASCII digits: \d takes any script's


class Unsatisfiable(Exception):
    """The range does not overlap the object: 416."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`bytes=a-b`, `bytes=a-`, `bytes=-n` -> inclusive (start, end); None when the header is malformed.

    Positions past any object's size (even of thousands of digits) are valid, as HTTP has them.
    """
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:
        n = parse_int(last)
        if n == 0:
            if size == 0:
                return None
            raise Unsatisfiable()
        return (max(0, size - n), size - 1) if size else None
    start = parse_int(first)
    end = parse_int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise Unsatisfiable()
    return start, min(end, size - 1)
