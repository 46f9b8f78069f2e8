"""Integers in requests: one parser for every query parameter, header and XML value that holds one.

Only ASCII digits count: `str.isdigit()` and `int()` also take "²" or "٣" (the first makes int()
raise, the second reads as 3), and int() takes spaces, "+" and "_". Magnitudes are bounded before
anything is converted, so no value reaches a daemon past what JSON can carry: one integer past 2^64
once made a whole batch of RPC calls fail to encode.
"""
from __future__ import annotations

from shared import constants as C
from shared.errors import S3Error

# What a number with more significant digits than INT_MAX_DIGITS reads as: more than any bound we
# check against, and small enough to convert and compare cheaply (int() of 5000 digits raises).
BEYOND = 10 ** C.INT_MAX_DIGITS
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_int(text: str, signed: bool = False) -> int | None:
    """The integer `text` spells in ASCII digits (after one '-' when signed), else None.

    Magnitudes of more than INT_MAX_DIGITS digits read as ±BEYOND.
    """
    negative = signed and text.startswith("-")
    digits = text[1:] if negative else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    digits = digits.lstrip("0") or "0"
    value = int(digits) if len(digits) <= C.INT_MAX_DIGITS else BEYOND
    return -value if negative else value


def parse_hex(text: str) -> int | None:
    """The integer `text` spells in ASCII hex digits, else None; more than 16 significant digits read as 16**16."""
    if not text or not _HEX_DIGITS.issuperset(text):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits, 16) if len(digits) <= 16 else 16**16


def ascii_int(raw: str, name: str, low: int, high: int, message: str | None = None) -> int:
    """`raw` as an integer in [low, high]; anything else is 400 InvalidArgument naming the parameter.

    `message` is the text AWS gives for this parameter; the default is the one it gives for max-keys.
    """
    value = parse_int(raw, signed=low < 0)
    if value is None or not low <= value <= high:
        raise S3Error("InvalidArgument", message or f"Provided {name} not an integer or within integer range",
                      ArgumentName=name, ArgumentValue=raw)
    return value


def ascii_part_number(raw: str, name: str = "partNumber") -> int:
    """A part number, 1..10000, with the message AWS gives for one out of range."""
    return ascii_int(raw, name, 1, C.MPU_MAX_PART_NUMBER,
                     f"Part number must be an integer between 1 and {C.MPU_MAX_PART_NUMBER}, inclusive")
