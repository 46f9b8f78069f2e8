"""AWS Signature Version 4, as pure functions: canonical request, string to sign, signature.

No sockets here: the caller passes the request's parts and compares signatures.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote, unquote

from shared.errors import S3Error

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# The one x-amz-* header S3 takes outside SignedHeaders: its value is the payload line of the
# canonical request, so the signature covers it anyway (a changed value is SignatureDoesNotMatch).
UNSIGNED_AMZ_HEADERS = frozenset(["x-amz-content-sha256"])
NOT_SIGNED_MESSAGE = "There were headers present in the request which were not signed"
_SPACES = re.compile(r"\s+")
_AUTH_FIELDS = ("Credential", "SignedHeaders", "Signature")
_AUTH_FIELD = re.compile(rf"({'|'.join(_AUTH_FIELDS)})=(\S*)")


@dataclass(frozen=True)
class Credential:
    access_key: str
    date: str          # YYYYMMDD
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class SignedRequest:
    """What a header or a presigned URL claims: who signed, which headers, the signature."""
    credential: Credential
    signed_headers: list[str]
    signature: str
    amz_date: str


def parse_credential(value: str) -> Credential:
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise S3Error("AuthorizationHeaderMalformed",
                      f"the Credential {value!r} is not of the form KEY/DATE/REGION/SERVICE/aws4_request")
    return Credential(parts[0], parts[1], parts[2], parts[3])


def parse_authorization(header: str, amz_date: str) -> SignedRequest:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`: three fields, comma-separated."""
    fields: dict[str, str] = {}
    for part in header[len(ALGORITHM):].split(","):
        # Whitespace may follow a comma (botocore writes ", ", s3cmd ","), but never separates fields.
        match = _AUTH_FIELD.fullmatch(part.strip())
        if match is None or match[1] in fields:
            raise _malformed_authorization()
        fields[match[1]] = match[2]
    if len(fields) != len(_AUTH_FIELDS):
        raise _malformed_authorization()
    return SignedRequest(parse_credential(fields["Credential"]), fields["SignedHeaders"].split(";"),
                         fields["Signature"], amz_date)


def _malformed_authorization() -> S3Error:
    return S3Error("AuthorizationHeaderMalformed", "The authorization header is malformed; the authorization "
                   "header requires three components: Credential, SignedHeaders, and Signature.")


def unsigned_headers(headers: dict[str, str], signed: list[str]) -> list[str]:
    """The headers S3 wants signed that the signature leaves out: host, and every x-amz-* but the payload hash."""
    covered = set(signed)
    names = [] if "host" in covered or "host" in headers else ["host"]
    names += [name for name in headers if name not in covered and (
        name == "host" or (name.startswith("x-amz-") and name not in UNSIGNED_AMZ_HEADERS))]
    return names


def check_signed_headers(headers: dict[str, str], signed: list[str]) -> None:
    """AccessDenied naming the headers a signature should cover and does not (`unsigned_headers`)."""
    names = unsigned_headers(headers, signed)
    if names:
        raise S3Error("AccessDenied", NOT_SIGNED_MESSAGE, HeadersNotSigned=", ".join(names))


def canonical_uri(raw_path: str) -> str:
    """S3 signs the path URI-encoded once, '/' kept, with no normalisation."""
    return quote(unquote(raw_path), safe="/~")


def canonical_query(raw_query: str, exclude: str | None = None) -> str:
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        name, _, value = item.partition("=")
        name = unquote(name)
        if name == exclude:
            continue
        pairs.append((quote(name, safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_headers(headers: dict[str, str], signed: list[str]) -> str:
    lines = []
    for name in signed:
        if name not in headers:
            raise S3Error("AccessDenied", f"a signed header is missing from the request: {name}")
        lines.append(f"{name}:{_SPACES.sub(' ', headers[name].strip())}\n")
    return "".join(lines)


def canonical_request(method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                      signed: list[str], payload_hash: str, exclude_query: str | None = None) -> str:
    return "\n".join([method, canonical_uri(raw_path), canonical_query(raw_query, exclude_query),
                      canonical_headers(headers, signed), ";".join(signed), payload_hash])


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])


class SigningKeys:
    """A bounded cache of derived signing keys per (secret, date, region, service)."""

    def __init__(self, size: int = 1024) -> None:
        self._keys: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = size

    def get(self, secret: str, cred: Credential) -> bytes:
        ident = (secret, cred.date, cred.region, cred.service)
        key = self._keys.get(ident)
        if key is None:
            key = _hmac(("AWS4" + secret).encode(), cred.date)
            for part in (cred.region, cred.service, "aws4_request"):
                key = _hmac(key, part)
            self._keys[ident] = key
            if len(self._keys) > self._size:
                self._keys.popitem(last=False)
        return key


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign(signing_key: bytes, to_sign: str) -> str:
    return hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
