"""How `coffer admin` prints a result without --json: a table of rows, or one record's fields."""
from __future__ import annotations

import json
from typing import Any


def table(result: Any) -> str:
    """A result as a human-readable table (rows of dicts) or list of fields (one dict)."""
    rows = result if isinstance(result, list) else [result]
    if not rows:
        return "(none)"
    if not isinstance(result, list):
        width = max(len(k) for k in result)
        return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in result.items())
    columns = list(rows[0])
    widths = [max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in columns]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(_cell(r.get(c)).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
