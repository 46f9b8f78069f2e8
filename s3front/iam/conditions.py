"""The Condition element: every operator AWS defines, compiled into checks of a request context.

AWS's rules, as "IAM JSON policy elements: Condition operators" states them:
- several values of one key are ORed; several keys, and several operators, are ANDed;
- key names are case-insensitive, values case-sensitive but for the IgnoreCase operators;
- a key missing from the context makes a condition false, or true for a negated operator
  (StringNotEquals, NotIpAddress, ArnNotLike ...); `...IfExists` makes it true; Null tests presence;
- ForAnyValue: some value of the context matches (false when the key is missing or empty);
  ForAllValues: every value matches (true when the key is missing or empty);
- a negated operator is the negation of its positive: the context value is none of the policy's;
- policy variables work in the string and ARN operators only; a value whose variable has no value
  is dropped, and a condition left with no value is false (AWS: the statement is invalid).
Context values are strings, or lists of strings for multi-valued keys.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from functools import lru_cache

from s3front.iam.errors import PolicyError
from s3front.iam.keys import valid_key
from s3front.iam.patterns import ARN, Pattern, PatternSet
from s3front.iam.variables import Keys, Token, has_variables, resolve, text_of, tokenize

Test = Callable[[str], bool]          # does one context value match any of the policy's values
_NO_KEYS: dict[str, str] = {}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_EPOCH = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b, "NotEquals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b,
}

# operator -> (family, negated); a negated operator's family test is its positive counterpart's
OPERATORS: dict[str, tuple[str, bool]] = {
    "StringEquals": ("string", False), "StringNotEquals": ("string", True),
    "StringEqualsIgnoreCase": ("istring", False), "StringNotEqualsIgnoreCase": ("istring", True),
    "StringLike": ("like", False), "StringNotLike": ("like", True),
    "Bool": ("bool", False), "BinaryEquals": ("binary", False),
    "IpAddress": ("ip", False), "NotIpAddress": ("ip", True),
    "ArnEquals": ("arn", False), "ArnLike": ("arn", False),
    "ArnNotEquals": ("arn", True), "ArnNotLike": ("arn", True),
    "Null": ("null", False),
}
for _kind in ("Numeric", "Date"):
    for _cmp in _COMPARE:
        OPERATORS[_kind + _cmp] = (f"{_kind.lower()}:{_cmp}", _cmp == "NotEquals")
_WITH_VARIABLES = {"string", "istring", "like", "arn"}
QUALIFIERS = {"ForAnyValue:": "any", "ForAllValues:": "all"}


def parse_number(text: str) -> float | None:
    """A Numeric operand, or None."""
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_date(text: str) -> float | None:
    """A Date operand (ISO 8601, or epoch seconds) as epoch seconds, or None."""
    if _EPOCH.fullmatch(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _string_test(family: str, values: list[tuple[Token, ...]]) -> Test:
    if family == "string":
        exact = frozenset(text_of(v) for v in values)
        return exact.__contains__
    if family == "istring":
        folded = frozenset(text_of(v).lower() for v in values)
        return lambda v: v.lower() in folded
    mode = ARN if family == "arn" else "glob"
    if family == "arn" and any(text_of(v) == "*" and len(v) == 1 for v in values):
        return lambda v: True                   # a lone "*" matches any ARN
    patterns = PatternSet([Pattern(v, mode) for v in values])
    return lambda v: patterns.match(v, _NO_KEYS)


@lru_cache(maxsize=1024)
def _resolved_test(family: str, values: tuple[tuple[Token, ...], ...]) -> Test:
    return _string_test(family, list(values))


def _numeric_test(cmp: Callable[[float, float], bool], operands: list[float],
                  parse: Callable[[str], float | None]) -> Test:
    def test(v: str) -> bool:
        got = parse(v)
        return got is not None and any(cmp(got, want) for want in operands)
    return test


def _ip_test(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> Test:
    def test(v: str) -> bool:
        addr = _address(v.strip())
        return addr is not None and any(addr.version == n.version and addr in n for n in networks)
    return test


class Condition:
    """One (operator, key) pair of a Condition block."""

    __slots__ = ("operator", "key", "family", "negated", "qualifier", "if_exists", "values", "test",
                 "null_wanted")

    def __init__(self, operator: str, key: str, raw: list[str], variables: bool) -> None:
        self.operator = operator
        self.key = key.lower()
        base, self.qualifier = _split_qualifier(operator)
        self.if_exists = base.endswith("IfExists") and base != "IfExists"
        if self.if_exists:
            base = base[: -len("IfExists")]
        if base not in OPERATORS or (self.if_exists and base == "Null"):
            raise PolicyError(f"Invalid Condition type : {operator}")
        self.family, self.negated = OPERATORS[base]
        with_vars = variables and self.family in _WITH_VARIABLES
        wildcards = self.family in ("like", "arn")
        self.values = tuple(tokenize(v, with_vars, wildcards) for v in raw)
        self.null_wanted: frozenset[bool] = frozenset()
        self.test: Test | None = self._compile(raw)

    def _compile(self, raw: list[str]) -> Test | None:
        family = self.family
        if family in _WITH_VARIABLES:
            if any(has_variables(v) for v in self.values):
                return None                         # built per request, once the variables are known
            return _string_test(family, list(self.values))
        if family == "null":
            self.null_wanted = frozenset(self._each(raw, _boolean))
            return None
        if family == "bool":
            wanted = frozenset("true" if b else "false" for b in self._each(raw, _boolean))
            return lambda v: v.lower() in wanted
        if family == "binary":
            wanted = frozenset(self._each(raw, _b64))
            return lambda v: _b64(v) in wanted
        if family == "ip":
            return _ip_test(self._each(raw, _network))
        kind, cmp = family.split(":")
        parse = parse_number if kind == "numeric" else parse_date
        return _numeric_test(_COMPARE[cmp], self._each(raw, parse), parse)

    def _each(self, raw: list[str], parse: Callable[[str], object]) -> list:
        out = []
        for value in raw:
            parsed = parse(value)
            if parsed is None:
                raise PolicyError(f"Invalid Condition value for {self.operator} {self.key}: {value}")
            out.append(parsed)
        return out

    def holds(self, keys: Keys) -> bool:
        """Whether this condition is true of the request context `keys`."""
        got = keys.get(self.key)
        present = got is not None and got != []
        if self.family == "null":
            return (not present) in self.null_wanted
        if not present:
            if self.if_exists or self.qualifier == "all":
                return True
            return self.negated and self.qualifier is None
        test = self.test or self._resolve(keys)
        if test is None:
            return False                          # every value named a variable with no value
        values = (got,) if isinstance(got, str) else got
        if self.qualifier is None:
            return any(map(test, values)) != self.negated
        each = (test(v) != self.negated for v in values)
        return any(each) if self.qualifier == "any" else all(each)

    def _resolve(self, keys: Keys) -> Test | None:
        resolved = tuple(r for r in (resolve(v, keys) for v in self.values) if r is not None)
        return _resolved_test(self.family, resolved) if resolved else None


def _split_qualifier(operator: str) -> tuple[str, str | None]:
    for prefix, qualifier in QUALIFIERS.items():
        if operator.startswith(prefix):
            return operator[len(prefix):], qualifier
    return operator, None


def _boolean(text: str) -> bool | None:
    low = text.lower()
    return True if low == "true" else False if low == "false" else None


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _value_text(value: object, operator: str, key: str) -> str:
    # JSON booleans and numbers are accepted and compared as their text, as AWS does
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value
    raise PolicyError(f"Invalid Condition value for {operator} {key}")


def _values(raw: object, operator: str, key: str) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyError(f"Condition {operator} {key} has no value")
    return [_value_text(v, operator, key) for v in items]


def compile_block(block: object, variables: bool, resource_policy: bool) -> tuple[Condition, ...]:
    """The Condition element's checks; PolicyError if AWS would refuse it."""
    if not isinstance(block, dict):
        raise PolicyError("Condition must be an object mapping condition operators to keys")
    out: list[Condition] = []
    for operator, keys in block.items():
        if not isinstance(keys, dict):
            raise PolicyError(f"Invalid Condition type : {operator}")
        for key, raw in keys.items():
            if not valid_key(key, resource_policy):
                raise PolicyError("Policy has an invalid condition key")
            out.append(Condition(operator, key, _values(raw, operator, key), variables))
    return tuple(out)


def all_hold(conditions: Iterable[Condition], keys: Keys) -> bool:
    """Whether every condition holds (the AND of a Condition block)."""
    return all(c.holds(keys) for c in conditions)
