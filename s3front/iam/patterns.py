"""Wildcard patterns of policies, compiled once into the cheapest matcher that does the job.

AWS matching: `*` is any run of characters (none included), `?` exactly one. Resources are matched
case-sensitively over the whole ARN; the ARN condition operators match each of the six
colon-separated parts separately, so a wildcard before the resource part stays inside its part.
Callers lower-case both sides where matching is case-insensitive (actions, the IgnoreCase operators).
"""
from __future__ import annotations

import re
from functools import lru_cache

from shared import constants as C
from s3front.iam.variables import LIT, ONE, STAR, VAR, Keys, Token, has_variables, resolve, text_of

GLOB, ARN = "glob", "arn"
_ARN_PARTS = 6


def _regex_source(tokens: tuple[Token, ...], mode: str) -> str:
    parts: list[str] = []
    colons = 0
    for kind, text, _ in tokens:
        in_resource = mode == GLOB or colons >= _ARN_PARTS - 1
        if kind == LIT:
            parts.append(re.escape(text))
            colons += text.count(":")
        elif kind == STAR:
            parts.append(".*" if in_resource else "[^:]*")
        elif kind == ONE:
            parts.append("." if in_resource else "[^:]")
    return "".join(parts)


@lru_cache(maxsize=C.POLICY_PATTERN_CACHE_SIZE)
def _compiled(tokens: tuple[Token, ...], mode: str) -> re.Pattern[str]:
    # DOTALL: object keys may hold newlines, and `*` must run over them too
    return re.compile(_regex_source(tokens, mode), re.DOTALL)


def _static_match(tokens: tuple[Token, ...], mode: str, value: str) -> bool:
    if all(t[0] == LIT for t in tokens):
        return value == text_of(tokens)
    return _compiled(tokens, mode).fullmatch(value) is not None


class Pattern:
    """One pattern; `match` answers True/False, or None when a policy variable has no value."""

    __slots__ = ("tokens", "mode", "dynamic", "exact", "prefix", "anything", "_regex")

    def __init__(self, tokens: tuple[Token, ...], mode: str = GLOB) -> None:
        self.tokens = tokens
        self.mode = mode
        self.dynamic = has_variables(tokens)
        self.exact: str | None = None       # a literal: plain equality
        self.prefix: str | None = None      # "literal*": startswith
        self.anything = False               # "*"
        self._regex: re.Pattern[str] | None = None
        if not self.dynamic:
            self._plan()

    def _plan(self) -> None:
        kinds = [t[0] for t in self.tokens]
        if all(k == LIT for k in kinds):
            self.exact = text_of(self.tokens)
        elif kinds == [STAR] and self.mode == GLOB:
            self.anything = True
        elif kinds[-1] == STAR and all(k == LIT for k in kinds[:-1]) and self.mode == GLOB:
            self.prefix = text_of(self.tokens[:-1])
        else:
            self._regex = _compiled(self.tokens, self.mode)

    def match(self, value: str, keys: Keys) -> bool | None:
        """Whether `value` matches; None if a variable of the pattern is unresolved."""
        if self.dynamic:
            tokens = resolve(self.tokens, keys)
            return None if tokens is None else _static_match(tokens, self.mode, value)
        if self.exact is not None:
            return value == self.exact
        if self.anything:
            return True
        if self.prefix is not None:
            return value.startswith(self.prefix)
        assert self._regex is not None
        return self._regex.fullmatch(value) is not None


class PatternSet:
    """The patterns of one element (Resource, Action ...), grouped so that a match is a set look-up
    or one startswith for the common shapes."""

    __slots__ = ("anything", "exact", "prefixes", "others")

    def __init__(self, patterns: list[Pattern]) -> None:
        self.anything = any(p.anything for p in patterns)
        self.exact = frozenset(p.exact for p in patterns if p.exact is not None)
        self.prefixes = tuple(p.prefix for p in patterns if p.prefix is not None)
        self.others = tuple(p for p in patterns if p.dynamic or p._regex is not None)

    def match(self, value: str, keys: Keys) -> bool:
        """Whether any pattern matches `value`; an unresolved one does not."""
        if self.anything or value in self.exact:
            return True
        if self.prefixes and value.startswith(self.prefixes):
            return True
        return any(p.match(value, keys) for p in self.others)

    def match3(self, value: str, keys: Keys) -> bool | None:
        """Like `match`, but None when nothing matched and some pattern had an unresolved variable
        (a NotResource must not apply then)."""
        if self.anything or value in self.exact or (self.prefixes and value.startswith(self.prefixes)):
            return True
        unresolved = False
        for p in self.others:
            hit = p.match(value, keys)
            if hit:
                return True
            unresolved = unresolved or hit is None
        return None if unresolved else False


def can_reach(tokens: tuple[Token, ...], text: str, whole: bool) -> bool:
    """Whether some string the pattern matches equals `text` (whole) or starts with it; a variable
    counts as `*`. Used to tell whether a Resource of a bucket policy names that bucket."""
    atoms: list[str | None] = []                     # a character, None for `*`, "" for `?`
    for kind, value, _ in tokens:
        if kind == LIT:
            atoms.extend(value)
        else:
            atoms.append(None if kind in (STAR, VAR) else "")
    states = _closure({0}, atoms)
    for ch in text:
        step = {i + 1 for i in states if i < len(atoms) and atoms[i] in (ch, "")}
        step |= {i for i in states if i < len(atoms) and atoms[i] is None}
        states = _closure(step, atoms)
        if not states:
            return False
    return len(atoms) in states if whole else True


def _closure(states: set[int], atoms: list[str | None]) -> set[int]:
    out = set(states)
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(atoms) and atoms[i] is None and i + 1 not in out:
            out.add(i + 1)
            todo.append(i + 1)
    return out
