"""Policy variables: `${aws:username}`, `${key, 'default'}` and the escapes `${*}`, `${?}`, `${$}`.

A string of a policy is cut once, at compile time, into tokens: literal text, the wildcards `*` and
`?` (where the element has wildcards), and variables. At evaluation a variable takes the request
context's value of its key (or its default); a key that is missing, or multi-valued, leaves the
variable unresolved, and then the string matches nothing, as AWS documents ("any attempt to match
it fails"). What a variable puts in is literal text: a `*` in a user name is no wildcard.
Variables exist only in policies of Version 2012-10-17; in 2008-10-17 `${...}` is plain text.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

LIT, STAR, ONE, VAR = range(4)
Token = tuple[int, str, str | None]          # (kind, text or key, default of a variable)
Keys = Mapping[str, "str | list[str]"]

_VARIABLE = re.compile(r"\$\{([^{}]*)\}")
_DEFAULT = re.compile(r"\s*([^\s,']+)\s*,\s*'([^']*)'\s*")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def tokenize(text: str, variables: bool, wildcards: bool) -> tuple[Token, ...]:
    """Cut `text` into tokens; `variables` and `wildcards` say whether `${...}` and `*`/`?` are special."""
    tokens: list[Token] = []
    pos = 0
    if variables:
        for m in _VARIABLE.finditer(text):
            _plain(text[pos:m.start()], wildcards, tokens)
            _variable(m.group(1), m.group(0), tokens)
            pos = m.end()
    _plain(text[pos:], wildcards, tokens)
    return tuple(_merge(tokens))


def _plain(text: str, wildcards: bool, out: list[Token]) -> None:
    if not wildcards:
        if text:
            out.append((LIT, text, None))
        return
    for part in re.split(r"([*?])", text):
        if part == "*":
            out.append((STAR, "*", None))
        elif part == "?":
            out.append((ONE, "?", None))
        elif part:
            out.append((LIT, part, None))


def _variable(inner: str, whole: str, out: list[Token]) -> None:
    if inner in _ESCAPES:
        out.append((LIT, _ESCAPES[inner], None))
        return
    m = _DEFAULT.fullmatch(inner)
    if m:
        out.append((VAR, m.group(1).lower(), m.group(2)))
    elif inner.strip() and "," not in inner and "'" not in inner:
        out.append((VAR, inner.strip().lower(), None))
    else:
        out.append((LIT, whole, None))          # not a variable AWS would recognise: plain text


def _merge(tokens: list[Token]) -> list[Token]:
    merged: list[Token] = []
    for tok in tokens:
        if tok[0] == LIT and merged and merged[-1][0] == LIT:
            merged[-1] = (LIT, merged[-1][1] + tok[1], None)
        else:
            merged.append(tok)
    return merged


def has_variables(tokens: tuple[Token, ...]) -> bool:
    """Whether any token is a variable."""
    return any(t[0] == VAR for t in tokens)


def lookup(key: str, default: str | None, keys: Keys) -> str | None:
    """A variable's value: the context's single value of `key`, else its default, else None."""
    value = keys.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return default


def resolve(tokens: tuple[Token, ...], keys: Keys) -> tuple[Token, ...] | None:
    """The tokens with every variable replaced by literal text, or None if one is unresolved."""
    out: list[Token] = []
    for tok in tokens:
        if tok[0] == VAR:
            value = lookup(tok[1], tok[2], keys)
            if value is None:
                return None
            tok = (LIT, value, None)
        out.append(tok)
    return tuple(_merge(out))


def text_of(tokens: tuple[Token, ...]) -> str:
    """The literal text of tokens that hold no wildcard and no variable."""
    return "".join(t[1] for t in tokens)
