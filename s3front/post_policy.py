"""Browser POST uploads: the policy document and the form signatures, as pure functions.

The policy is base64 JSON: `{"expiration": ISO 8601, "conditions": [...]}` with conditions
`{"field": "value"}`, `["eq", "$field", "value"]`, `["starts-with", "$field", "prefix"]` (an empty
prefix allows anything) and `["content-length-range", min, max]`. Condition names, operators and
form field names are case-insensitive; values are not. Every form field except the exempt ones
(x-amz-signature, file, policy, x-ignore-*, x-amz-checksum-*, and SigV2's AWSAccessKeyId and signature) must be
covered by a condition, and so must the bucket. What AWS answers:
  InvalidPolicyDocument (400)  a policy that is not base64, not JSON, or not of that grammar;
  AccessDenied (403)           "Invalid according to Policy: Policy expired." /
                               "... Extra input fields: x" / "... Policy Condition failed: [...]";
  EntityTooLarge/EntityTooSmall  a file outside content-length-range;
  InvalidArgument (400)        a signed form missing one of its fields, a malformed credential;
  InvalidAccessKeyId / SignatureDoesNotMatch (403)  as for any signed request.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from s3front.auth import sigv2, sigv4
from shared.errors import S3Error

EQ, STARTS_WITH, LENGTH_RANGE = "eq", "starts-with", "content-length-range"
EXEMPT = frozenset({"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"})
V4_FIELDS = ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
V2_FIELDS = ("awsaccesskeyid", "policy", "signature")
_NAMES = {"awsaccesskeyid": "AWSAccessKeyId"}          # how AWS spells a missing field
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_SIGNING_KEYS = sigv4.SigningKeys()


@dataclass(frozen=True)
class Condition:
    op: str                       # EQ | STARTS_WITH | LENGTH_RANGE
    field: str = ""               # lower-case form field name, without the '$'
    value: str = ""
    low: int = 0
    high: int = 0
    text: str = ""                # the condition as AccessDenied quotes it


def _invalid(detail: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {detail}")


def _denied(detail: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {detail}")


def _quote(parts: list[Any]) -> str:
    return json.dumps(parts, ensure_ascii=False)


# -- parsing ----------------------------------------------------------------------------------------
def _decode(encoded: str) -> Any:
    text = "".join(encoded.split())
    if not text:
        raise _invalid("Expecting '{' but found End-of-Input")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("invalid Base64 encoding.") from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("Invalid JSON.") from None


def _expiration(value: Any) -> float:
    when = None
    if isinstance(value, str) and "T" in value:
        try:
            when = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            pass
    if when is None or when.tzinfo is None:
        raise _invalid(f"Invalid 'expiration' value: '{value}'")
    return when.timestamp()


def _simple(item: dict[str, Any]) -> Condition:
    if len(item) != 1:
        raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
    name, value = next(iter(item.items()))
    if not isinstance(value, str):
        raise _invalid("Invalid Simple-Condition: value must be a string.")
    return Condition(EQ, name.lower(), value, text=_quote([EQ, f"${name}", value]))


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    raise _invalid("Invalid JSON.")


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)                     # AWS takes quoted integers too
    raise _invalid("Invalid JSON.")


def _array(item: list[Any]) -> Condition:
    if not item:
        raise _invalid("Invalid Condition: missing operation identifier.")
    if not isinstance(item[0], str):
        raise _invalid("Invalid JSON.")
    op = item[0].lower()
    if op not in (EQ, STARTS_WITH, LENGTH_RANGE):
        raise _invalid(f"Invalid Condition: unknown operation '{item[0]}'.")
    if len(item) != 3:
        raise _invalid(f"Invalid {item[0]}: wrong number of arguments.")
    if op == LENGTH_RANGE:
        return Condition(op, low=_integer(item[1]), high=_integer(item[2]), text=_quote(item))
    ref = item[1]
    if not isinstance(ref, str) or len(ref) < 2 or not ref.startswith("$"):
        raise _denied(f"Policy Condition failed: {_quote(item)}")
    return Condition(op, ref[1:].lower(), _scalar(item[2]), text=_quote(item))


def _condition(item: Any) -> Condition:
    if isinstance(item, dict):
        return _simple(item)
    if isinstance(item, list):
        return _array(item)
    raise _invalid("Invalid condition test: must be a List or Object.")


@dataclass(frozen=True)
class Policy:
    expiration: float
    conditions: tuple[Condition, ...]

    def check(self, bucket: str, fields: Mapping[str, str], now: float) -> None:
        """The form (lower-case field names, the key with ${filename} replaced) against the policy."""
        if now >= self.expiration:
            raise _denied("Policy expired.")
        inputs = {"bucket": bucket, **{k: v for k, v in fields.items() if k != "bucket"}}
        covered = {c.field for c in self.conditions}
        extra = [name for name in inputs if name not in covered and not exempt(name)]
        if extra:
            raise _denied(f"Extra input fields: {', '.join(extra)}")
        for c in self.conditions:
            if c.op != LENGTH_RANGE and not _holds(c, inputs.get(c.field)):
                raise _denied(f"Policy Condition failed: {c.text}")

    def check_size(self, size: int) -> None:
        """The file's size against every content-length-range."""
        for c in self.conditions:
            if c.op == LENGTH_RANGE and size > c.high:
                raise S3Error("EntityTooLarge", ProposedSize=size, MaxSizeAllowed=c.high)
            if c.op == LENGTH_RANGE and size < c.low:
                raise S3Error("EntityTooSmall", ProposedSize=size, MinSizeAllowed=c.low)

    @property
    def max_size(self) -> int | None:
        """The largest file any content-length-range allows, to stop a stream early."""
        return min((c.high for c in self.conditions if c.op == LENGTH_RANGE), default=None)

    @property
    def min_size(self) -> int:
        """The smallest file every content-length-range allows."""
        return max((c.low for c in self.conditions if c.op == LENGTH_RANGE), default=0)


def exempt(name: str) -> bool:
    """A field the policy need not name: the signature's own, x-ignore-*, and the checksum fields
    (s3-tests' test_post_object_upload_checksum, checked against AWS, sends x-amz-checksum-sha256
    with a policy that does not name it)."""
    return name in EXEMPT or name.startswith(("x-ignore-", "x-amz-checksum-"))


def _holds(c: Condition, value: str | None) -> bool:
    if value is None:
        # ["starts-with", "$field", ""] allows any value, none included (s3-tests' SSE POST tests
        # send no x-amz-server-side-encryption field under such a condition and expect success)
        return c.op == STARTS_WITH and c.value == ""
    if c.op == EQ:
        return value == c.value
    if c.field == "content-type" and "," in value:
        # AWS reads a comma-separated Content-Type as a list: each entry must have the prefix.
        return all(part.strip().startswith(c.value) for part in value.split(","))
    return value.startswith(c.value)


def parse_policy(encoded: str) -> Policy:
    """The `policy` form field, decoded and checked against the policy grammar."""
    doc = _decode(encoded)
    if not isinstance(doc, dict):
        raise _invalid("Invalid JSON.")
    if "expiration" not in doc:
        raise _invalid("Policy missing expiration.")
    if "conditions" not in doc:
        raise _invalid("Policy missing conditions.")
    unexpected = [k for k in doc if k not in ("expiration", "conditions")]
    if unexpected:
        raise _invalid(f'Unexpected: "{unexpected[0]}"')
    if not isinstance(doc["conditions"], list):
        raise _invalid("Invalid 'conditions' value: must be a List.")
    return Policy(_expiration(doc["expiration"]), tuple(_condition(c) for c in doc["conditions"]))


# -- signatures -------------------------------------------------------------------------------------
def sign_v4(secret: str, credential: sigv4.Credential, policy: str) -> str:
    """x-amz-signature: HMAC-SHA256 of the base64 policy with the credential scope's signing key."""
    return sigv4.sign(_SIGNING_KEYS.get(secret, credential), policy)


def sign_v2(secret: str, policy: str) -> str:
    """signature: base64 HMAC-SHA1 of the base64 policy."""
    return sigv2.sign(secret, policy)


def _missing(name: str) -> S3Error:
    shown = _NAMES.get(name, name)
    return S3Error("InvalidArgument", f"Bucket POST must contain a field named '{shown}'.  If it is specified, "
                                      f"please check the order of the fields.", ArgumentName=shown, ArgumentValue="")


def _require(fields: Mapping[str, str], names: tuple[str, ...]) -> None:
    for name in names:
        if name not in fields:
            raise _missing(name)


def _credential(value: str) -> sigv4.Credential:
    parts = value.split("/")
    if len(parts) != 5 or not parts[0] or not re.fullmatch(r"\d{8}", parts[1]):
        raise S3Error("InvalidArgument", 'the Credential is mal-formed; expecting '
                      '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
                      ArgumentName="x-amz-credential", ArgumentValue=value)
    if parts[4] != "aws4_request":
        raise S3Error("InvalidArgument", f'incorrect terminal "{parts[4]}". This endpoint uses "aws4_request".',
                      ArgumentName="x-amz-credential", ArgumentValue=value)
    if parts[3] != "s3":
        raise S3Error("InvalidArgument", f'incorrect service "{parts[3]}". This endpoint belongs to "s3".',
                      ArgumentName="x-amz-credential", ArgumentValue=value)
    return sigv4.Credential(*parts[:4])


def _secret(access_key: str, secret_for: Callable[[str], str | None]) -> str:
    secret = secret_for(access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return secret


def _compare(expected: str, given: str, access_key: str, policy: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=access_key, StringToSign=policy,
                      SignatureProvided=given)


def _verify_v4(fields: Mapping[str, str], secret_for: Callable[[str], str | None], region: str | None) -> str:
    _require(fields, V4_FIELDS)
    if fields["x-amz-algorithm"] != sigv4.ALGORITHM:
        raise S3Error("InvalidArgument", "Only AWS4-HMAC-SHA256 is supported", ArgumentName="x-amz-algorithm",
                      ArgumentValue=fields["x-amz-algorithm"])
    if not _AMZ_DATE.fullmatch(fields["x-amz-date"]):
        raise S3Error("InvalidArgument", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
                      ArgumentName="x-amz-date", ArgumentValue=fields["x-amz-date"])
    cred = _credential(fields["x-amz-credential"])
    if region is not None and cred.region != region:
        raise S3Error("InvalidArgument", f"the region '{cred.region}' is wrong; expecting '{region}'",
                      ArgumentName="x-amz-credential", ArgumentValue=fields["x-amz-credential"])
    secret = _secret(cred.access_key, secret_for)
    _compare(sign_v4(secret, cred, fields["policy"]), fields["x-amz-signature"], cred.access_key, fields["policy"])
    return cred.access_key


def authenticate(fields: Mapping[str, str], secret_for: Callable[[str], str | None],
                 region: str | None = None) -> str | None:
    """The access key that signed the form (SigV4 or SigV2 fields), None for an anonymous form.
    `secret_for` gives an access key's secret, None when the key is unknown."""
    if any(name in fields for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-signature")):
        return _verify_v4(fields, secret_for, region)
    if not any(name in fields for name in V2_FIELDS):
        return None
    _require(fields, V2_FIELDS)
    access_key = fields["awsaccesskeyid"]
    _compare(sign_v2(_secret(access_key, secret_for), fields["policy"]), fields["signature"], access_key,
             fields["policy"])
    return access_key
