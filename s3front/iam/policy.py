"""Policy documents: parsed, validated as AWS validates them, and compiled for fast evaluation.

Two kinds, with their own rules ("IAM JSON policy elements reference", "Bucket policy examples"):
- a resource policy (a bucket policy) needs a Principal or NotPrincipal in every statement, S3
  actions only, and resources of its own bucket, each action applying to one of them;
- an identity policy (IAM users, groups, roles, sessions) must not name a principal, and its
  resources are ARNs or "*".
Every refusal is a PolicyError whose message says what is wrong in AWS's words.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from enum import Enum
from typing import Any

from shared import constants as C
from s3front.iam import actions as A
from s3front.iam.arn import CANONICAL_ID, aws_principal, bucket_arn, is_arn
from s3front.iam.conditions import Condition, compile_block
from s3front.iam.errors import PolicyError
from s3front.iam.patterns import Pattern, PatternSet, can_reach
from s3front.iam.variables import Keys, tokenize

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
VERSIONS = (VERSION_2012, VERSION_2008)
_TOP_FIELDS = ("Version", "Id", "Statement")
_STATEMENT_FIELDS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                     "Resource", "NotResource", "Condition")
_PRINCIPAL_TYPES = ("AWS", "CanonicalUser", "Service", "Federated")
_ACTION = re.compile(r"([A-Za-z0-9-]+):([A-Za-z0-9*?]+)", re.ASCII)
_IAM_SID = re.compile(r"[A-Za-z0-9]*", re.ASCII)
_NOT_JSON = "Policies must be valid JSON and the first byte must be '{'"


class Kind(str, Enum):
    RESOURCE = "resource"
    IDENTITY = "identity"


class PrincipalSpec:
    """A Principal or NotPrincipal element: `*`, and the sets of named principals by type."""

    __slots__ = ("wildcard", "aws", "canonical", "service", "federated")

    def __init__(self) -> None:
        self.wildcard = False
        self.aws: frozenset[str] = frozenset()          # ARNs; an account is its root ARN
        self.canonical: frozenset[str] = frozenset()
        self.service: frozenset[str] = frozenset()
        self.federated: frozenset[str] = frozenset()


class Statement:
    """One compiled statement."""

    __slots__ = ("index", "sid", "deny", "actions", "not_action", "resources", "not_resource",
                 "principal", "not_principal", "conditions", "raw")

    def __init__(self, index: int, raw: dict[str, Any]) -> None:
        self.index = index
        self.raw = raw
        self.sid: str = raw.get("Sid", "")
        self.deny = raw.get("Effect") == "Deny"
        self.actions = PatternSet([])
        self.not_action = False
        self.resources = PatternSet([])
        self.not_resource = False
        self.principal: PrincipalSpec | None = None     # None in identity policies
        self.not_principal = False
        self.conditions: tuple[Condition, ...] = ()

    def matches_action(self, action: str) -> bool:
        """Whether the statement covers `action` (lower-cased)."""
        return self.actions.match(action, {}) != self.not_action

    def applies(self, resource: str, keys: Keys) -> bool:
        """Whether the statement covers `resource` and its conditions hold (the principal aside)."""
        hit = self.resources.match3(resource, keys)
        if hit is None or hit == self.not_resource:      # None: a variable without a value
            return False
        return all(c.holds(keys) for c in self.conditions)


class Policy:
    """A compiled policy document."""

    __slots__ = ("kind", "version", "id", "statements", "name", "document", "_by_action")

    def __init__(self, kind: Kind, document: dict[str, Any], statements: list[Statement], name: str) -> None:
        self.kind = kind
        self.document = document
        self.version: str = document.get("Version", VERSION_2008)
        self.id: str | None = document.get("Id")
        self.statements = tuple(statements)
        self.name = name
        self._by_action: dict[str, tuple[Statement, ...]] = {}

    def candidates(self, action: str) -> tuple[Statement, ...]:
        """The statements covering `action` (lower-cased), Deny ones first; remembered per action."""
        found = self._by_action.get(action)
        if found is None:
            hits = [s for s in self.statements if s.matches_action(action)]
            found = tuple(sorted(hits, key=lambda s: not s.deny))
            if len(self._by_action) >= C.POLICY_ACTION_CACHE_SIZE:
                self._by_action.clear()
            self._by_action[action] = found
        return found


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # two parsers that keep different copies of a repeated field would read two policies
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise PolicyError(f"Duplicate field {key}")
        out[key] = value
    return out


def _bad_constant(name: str) -> None:
    raise PolicyError(_NOT_JSON)


def load(text: str | bytes) -> dict[str, Any]:
    """The JSON object of a document; PolicyError if it is not one."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyError(_NOT_JSON) from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_bad_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, PolicyError):
            raise
        raise PolicyError(_NOT_JSON) from None
    if not isinstance(doc, dict):
        raise PolicyError(_NOT_JSON)
    return doc


def _strings(value: Any, field: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise PolicyError(f"{field} must be a string or a list of strings")
    if not items:
        raise PolicyError(f"{field} must not be empty")
    return items


def _unknown(obj: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            raise PolicyError(f"Unknown field {key}")


def _one_of(raw: dict[str, Any], field: str, required: bool = True) -> tuple[str | None, bool]:
    """Which of `field` / `Not<field>` the statement has: (name, negated)."""
    has, has_not = field in raw, f"Not{field}" in raw
    if has and has_not:
        raise PolicyError(f"Statement cannot have both {field} and Not{field}")
    if not has and not has_not:
        if required:
            raise PolicyError(f"Missing required field {field}")
        return None, False
    return (f"Not{field}", True) if has_not else (field, False)


class _Parser:
    """Validation and compilation of one document."""

    def __init__(self, kind: Kind, bucket: str | None,
                 principal_exists: Callable[[str], bool] | None) -> None:
        if kind is Kind.RESOURCE and not bucket:
            raise ValueError("a resource policy is validated against its bucket")
        self.kind = kind
        self.bucket = bucket or ""
        self.principal_exists = principal_exists
        self.variables = True
        self.services = ("s3",) if kind is Kind.RESOURCE else tuple(A.SERVICES)
        # IAM refuses two statements with one Sid (MalformedPolicyDocument); S3 stores such bucket
        # policies as given (real buckets carry them), so only IAM's documents check.
        self.unique_sids = kind is Kind.IDENTITY

    def document(self, doc: dict[str, Any], name: str) -> Policy:
        _unknown(doc, _TOP_FIELDS)
        version = doc.get("Version", VERSION_2008)
        if version not in VERSIONS:
            raise PolicyError("Invalid Version")
        self.variables = version == VERSION_2012
        if "Id" in doc and not isinstance(doc["Id"], str):
            raise PolicyError("Id must be a string")
        raw = doc.get("Statement")
        if raw is None:
            raise PolicyError("Missing required field Statement")
        items = [raw] if isinstance(raw, dict) else raw
        if not isinstance(items, list) or not items or not all(isinstance(s, dict) for s in items):
            raise PolicyError("Statement must be an object or a non-empty list of objects")
        statements = [self.statement(i, s) for i, s in enumerate(items)]
        sids = [s.sid for s in statements if s.sid]
        if self.unique_sids and len(sids) != len(set(sids)):
            raise PolicyError("Statement IDs (SID) must be unique")
        return Policy(self.kind, doc, statements, name)

    def statement(self, index: int, raw: dict[str, Any]) -> Statement:
        _unknown(raw, _STATEMENT_FIELDS)
        sid = raw.get("Sid", "")
        if not isinstance(sid, str):
            raise PolicyError("Sid must be a string")
        if self.kind is Kind.IDENTITY and not _IAM_SID.fullmatch(sid):
            raise PolicyError("Statement IDs (SID) must be alpha-numeric")
        if "Effect" not in raw:
            raise PolicyError("Missing required field Effect")
        if raw["Effect"] not in ("Allow", "Deny"):
            raise PolicyError(f"Invalid effect: {raw['Effect']}")
        st = Statement(index, raw)
        self._principal(st, raw)
        field, st.not_action = _one_of(raw, "Action")
        actions = _strings(raw[field], field)
        st.actions = PatternSet([self._action(a) for a in actions])
        field, st.not_resource = _one_of(raw, "Resource")
        resources = _strings(raw[field], field)
        st.resources = PatternSet([self._resource(r) for r in resources])
        if "Condition" in raw:
            st.conditions = compile_block(raw["Condition"], self.variables, self.kind is Kind.RESOURCE)
        if self.kind is Kind.RESOURCE and not st.not_action and not st.not_resource:
            self._actions_apply(actions, resources)
        return st

    def _principal(self, st: Statement, raw: dict[str, Any]) -> None:
        field, st.not_principal = _one_of(raw, "Principal", required=False)
        if self.kind is Kind.IDENTITY:
            if field is not None:
                raise PolicyError("Policy document should not specify a principal.")
            return
        if field is None:
            raise PolicyError("Missing required field Principal")
        st.principal = self.principal_spec(raw[field])

    def principal_spec(self, value: Any) -> PrincipalSpec:
        """The compiled Principal element; "Invalid principal in policy" if AWS would refuse it."""
        spec = PrincipalSpec()
        if value == "*":
            spec.wildcard = True
            return spec
        if not isinstance(value, dict) or not value:
            raise PolicyError("Invalid principal in policy")
        for ptype, names in value.items():
            if ptype not in _PRINCIPAL_TYPES:
                raise PolicyError("Invalid principal in policy")
            try:
                items = _strings(names, "Principal")
            except PolicyError:
                raise PolicyError("Invalid principal in policy") from None
            self._principal_names(spec, ptype, items)
        return spec

    def _principal_names(self, spec: PrincipalSpec, ptype: str, items: list[str]) -> None:
        if ptype == "AWS":
            arns = [aws_principal(v) for v in items]
            if None in arns or any(a != "*" and self.principal_exists and not self.principal_exists(a)
                                   for a in arns if a):
                raise PolicyError("Invalid principal in policy")
            spec.wildcard = spec.wildcard or "*" in arns
            spec.aws = frozenset(a for a in arns if a and a != "*")
        elif ptype == "CanonicalUser":
            if not all(CANONICAL_ID.fullmatch(v) for v in items):
                raise PolicyError("Invalid principal in policy")
            spec.canonical = frozenset(items)
        else:
            if not all(v and "*" not in v and "?" not in v for v in items):
                raise PolicyError("Invalid principal in policy")
            setattr(spec, ptype.lower(), frozenset(items))

    def _action(self, text: str) -> Pattern:
        low = text.lower()
        if low != "*":
            m = _ACTION.fullmatch(low)
            if not m or m.group(1) not in self.services:
                raise PolicyError("Policy has invalid action")
        pattern = Pattern(tokenize(low, variables=False, wildcards=True))
        if low != "*" and not self._expands(pattern, low):
            raise PolicyError("Policy has invalid action")
        return pattern

    def _expands(self, pattern: Pattern, low: str) -> bool:
        if pattern.exact is not None:
            return low in A.CANONICAL
        return any(pattern.match(name, {}) for name in A.CANONICAL if name.startswith(self.services))

    def _resource(self, text: str) -> Pattern:
        tokens = tokenize(text, self.variables, wildcards=True)
        if self.kind is Kind.IDENTITY:
            if text != "*" and not is_arn(text):
                raise PolicyError(f'Resource {text} must be in ARN format or "*".')
        elif not (self._names_bucket(tokens) or self._names_objects(tokens)):
            raise PolicyError("Policy has invalid resource")
        return Pattern(tokens)

    def _names_bucket(self, tokens: tuple) -> bool:
        return can_reach(tokens, bucket_arn(self.bucket), whole=True)

    def _names_objects(self, tokens: tuple) -> bool:
        return can_reach(tokens, bucket_arn(self.bucket) + "/", whole=False)

    def _actions_apply(self, actions: list[str], resources: list[str]) -> None:
        tokens = [tokenize(r, self.variables, wildcards=True) for r in resources]
        types = {"bucket"} if any(map(self._names_bucket, tokens)) else set()
        if any(map(self._names_objects, tokens)):
            types.add("object")
        for action in actions:
            pattern = Pattern(tokenize(action.lower(), variables=False, wildcards=True))
            covered = [n for n in A.CANONICAL if n.startswith("s3:") and pattern.match(n, {})]
            if not any(A.resource_type(n) in types for n in covered):
                raise PolicyError("Action does not apply to any resource(s) in statement")


def parse_policy(text: str | bytes, kind: Kind, bucket: str | None = None, name: str = "",
                 principal_exists: Callable[[str], bool] | None = None) -> Policy:
    """Validate and compile a policy document; PolicyError says what AWS would refuse.

    `bucket` is the bucket a resource policy belongs to; `principal_exists`, if given, is asked
    about every principal ARN (AWS refuses a bucket policy naming a user or role that does not exist).
    `name` labels the policy in decisions, for logs."""
    return _Parser(kind, bucket, principal_exists).document(load(text), name)


def parse_bucket_policy(text: str | bytes, bucket: str, name: str = "bucket-policy",
                        principal_exists: Callable[[str], bool] | None = None) -> Policy:
    """A bucket policy of `bucket`."""
    return parse_policy(text, Kind.RESOURCE, bucket, name, principal_exists)


def parse_identity_policy(text: str | bytes, name: str = "") -> Policy:
    """An IAM policy (managed, inline, or a session policy)."""
    return parse_policy(text, Kind.IDENTITY, None, name)
