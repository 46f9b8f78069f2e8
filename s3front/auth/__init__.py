"""Who is asking: SigV4 (header or presigned URL), SigV2, or nobody (anonymous).

`authenticate` checks the signature over everything but the body; what the body must hash to
(or how its aws-chunked framing is signed) is returned in the AuthResult for the body reader.
A SigV4 signature must cover host and every x-amz-* header the request carries, as on AWS.
"""
from __future__ import annotations

import calendar
import re
import time
import hashlib
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from s3front.auth import sigv4
from shared import constants as C
from shared.config import Account, Config
from shared.errors import S3Error
from shared.params import parse_int


@dataclass(frozen=True)
class Identity:
    """Who holds a key that is not an account's own: the owning account (carrying this key and its
    secret, so ACLs and ownership see the account), the principal, and policies narrowing it."""
    account: Account
    principal: Any                                  # s3front.iam.Principal
    session_policies: tuple = ()                    # s3front.iam.Policy: a session's or a service account's


class IdentityResolver(Protocol):
    def find(self, access_key: str, token: str | None) -> Identity | None: ...


@dataclass
class AuthResult:
    account: Account | None
    payload_hash: str = sigv4.UNSIGNED_PAYLOAD     # a hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-*
    signing_key: bytes = b""
    scope: str = ""
    amz_date: str = ""
    seed_signature: str = ""
    principal: Any = None                           # None: the account's root (or anonymous)
    session_policies: tuple = field(default=())


ANONYMOUS = AuthResult(None)
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_PAYLOAD_NAMES = frozenset([sigv4.UNSIGNED_PAYLOAD, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"])


def parse_amz_date(value: str) -> float:
    # Sliced by hand: time.strptime was ~2 % of a small PUT's front-end CPU (py-spy).
    try:
        if len(value) != 16 or not value.isascii() or value[8] != "T" or value[15] != "Z" \
                or not value[:8].isdigit() or not value[9:15].isdigit():
            raise ValueError(value)
        fields = (int(value[0:4]), int(value[4:6]), int(value[6:8]),
                  int(value[9:11]), int(value[11:13]), int(value[13:15]))
        if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and fields[3] < 24 and fields[4] < 60
                and fields[5] <= 60):
            raise ValueError(value)
        return float(calendar.timegm(fields + (0, 0, 0)))
    except ValueError:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None


def _http_date(value: str) -> float:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None


def parse_any_date(value: str) -> float:
    """A Date or x-amz-date header: an HTTP date, or ISO 8601 basic format as SigV4 writes it."""
    return parse_amz_date(value) if _AMZ_DATE.match(value) else _http_date(value)


def iso_time(when: float) -> str:
    """A time as S3 error bodies show it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def check_skew(when: float) -> None:
    """RequestTimeTooSkewed when a signed request's time is more than 15 minutes from ours."""
    now = time.time()
    if abs(now - when) > C.MAX_CLOCK_SKEW_S:
        raise S3Error("RequestTimeTooSkewed", RequestTime=iso_time(when), ServerTime=iso_time(now),
                      MaxAllowedSkewMilliseconds=C.MAX_CLOCK_SKEW_S * 1000)


def check_payload_hash(value: str) -> None:
    """x-amz-content-sha256 must be a SHA-256 in hex or one of the names S3 knows."""
    if value in _PAYLOAD_NAMES or _SHA256_HEX.match(value):
        return
    raise S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                  "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                  ArgumentName="x-amz-content-sha256", ArgumentValue=value)


def _presigned_payload(query: dict[str, str], headers: dict[str, str]) -> str:
    """The payload line of a presigned request's canonical request."""
    # An x-amz-content-sha256 header may go unsigned, but S3 then signs its value in place of
    # UNSIGNED-PAYLOAD (or of the X-Amz-Content-Sha256 parameter): whatever decides the body is signed.
    payload = headers.get("x-amz-content-sha256")
    if payload is None:
        return query.get("X-Amz-Content-Sha256", sigv4.UNSIGNED_PAYLOAD)
    check_payload_hash(payload)
    return payload


def _unsigned_mode(headers: dict[str, str]) -> AuthResult:
    """What a request without SigV4 says of its body: only streaming framing matters then."""
    payload = headers.get("x-amz-content-sha256", "")
    return AuthResult(None, payload if payload.startswith("STREAMING-") else sigv4.UNSIGNED_PAYLOAD)


def security_token(query: dict[str, str], headers: dict[str, str]) -> str | None:
    """The session token a request carries (header, or presigned query parameter)."""
    # SigV4 presigned URLs name it X-Amz-Security-Token, SigV2 ones x-amz-security-token
    return headers.get("x-amz-security-token", query.get("X-Amz-Security-Token", query.get("x-amz-security-token")))


class Authenticator:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.keys = sigv4.SigningKeys()
        self.identities: IdentityResolver | None = None     # IAM users' keys and sessions (s3front.iam_api)

    def lookup(self, access_key: str, token: str | None = None) -> Identity:
        """The identity of an access key; InvalidAccessKeyId when there is none."""
        account = self.config.account_by_access_key(access_key)
        if account is not None:
            return Identity(account, None)
        found = self.identities.find(access_key, token) if self.identities is not None else None
        if found is None:
            raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
        return found

    def lookup_account(self, access_key: str, token: str | None = None) -> Account:
        """The account of an access key (an IAM user's key: its owning account); InvalidAccessKeyId if none."""
        return self.lookup(access_key, token).account

    def _with(self, result: AuthResult, identity: Identity) -> AuthResult:
        return replace(result, account=identity.account, principal=identity.principal,
                       session_policies=identity.session_policies)

    def authenticate(self, method: str, raw_path: str, raw_query: str, query: dict[str, str],
                     headers: dict[str, str]) -> AuthResult:
        """The signer of a request (SigV4, presigned SigV4, SigV2 header or query, or anonymous)."""
        auth = headers.get("authorization")
        if auth is not None and ("X-Amz-Algorithm" in query or "Signature" in query):
            raise S3Error("InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                          "parameter, Signature query string parameter or the Authorization header should be "
                          "specified", ArgumentName="Authorization", ArgumentValue=auth)
        if auth is not None:
            if auth.startswith(sigv4.ALGORITHM + " "):
                return self._header_v4(method, raw_path, raw_query, headers, auth, security_token(query, headers))
            if auth.startswith("AWS "):
                from s3front.auth import sigv2
                identity = sigv2.verify_header(self, method, raw_path, query, headers, auth)
                return self._with(_unsigned_mode(headers), identity)
            raise S3Error("AccessDenied", "Unsupported Authorization Type")
        if "X-Amz-Algorithm" in query:
            return self._presigned_v4(method, raw_path, raw_query, query, headers)
        if "Signature" in query or "AWSAccessKeyId" in query:
            from s3front.auth import sigv2
            identity = sigv2.verify_query(self, method, raw_path, query, headers)
            return self._with(_unsigned_mode(headers), identity)
        return _unsigned_mode(headers)

    def authenticate_body(self, method: str, raw_path: str, raw_query: str, query: dict[str, str],
                          headers: dict[str, str], body: bytes) -> AuthResult:
        """A SigV4-signed request whose body was read first (the IAM and STS Query APIs): the
        payload signed is the body's SHA-256, which SDKs do not send as a header for these services."""
        auth = headers.get("authorization", "")
        if not auth.startswith(sigv4.ALGORITHM + " "):
            raise S3Error("AccessDenied", "Unsupported Authorization Type")
        digest = hashlib.sha256(body).hexdigest()
        claimed = headers.get("x-amz-content-sha256")
        if claimed is not None and claimed != digest:
            raise S3Error("XAmzContentSHA256Mismatch")
        return self._header_v4(method, raw_path, raw_query, headers, auth, security_token(query, headers), digest)

    def _header_v4(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                   auth: str, token: str | None = None, body_digest: str | None = None) -> AuthResult:
        amz_date = headers.get("x-amz-date")
        when = parse_amz_date(amz_date) if amz_date else _http_date(headers.get("date", ""))
        signed = sigv4.parse_authorization(auth, amz_date or "")
        check_skew(when)
        payload = headers.get("x-amz-content-sha256", body_digest)
        if payload is None:
            raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        check_payload_hash(payload)
        if not amz_date:
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
        if signed.credential.date != amz_date[:8]:
            raise S3Error("AuthorizationHeaderMalformed", f"Invalid credential date \"{signed.credential.date}\". "
                          f"This date is not the same as X-Amz-Date: \"{amz_date[:8]}\".")
        return self._verify(method, raw_path, raw_query, headers, signed, payload, amz_date, None, token)

    def _presigned_v4(self, method: str, raw_path: str, raw_query: str, query: dict[str, str],
                      headers: dict[str, str]) -> AuthResult:
        if query["X-Amz-Algorithm"] != sigv4.ALGORITHM:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        try:
            cred = sigv4.parse_credential(query["X-Amz-Credential"])
            amz_date, raw_expires = query["X-Amz-Date"], query["X-Amz-Expires"]
            expires = parse_int(raw_expires, signed=True)
            if expires is None:
                raise ValueError(raw_expires)
            signed = sigv4.SignedRequest(cred, query["X-Amz-SignedHeaders"].split(";"),
                                         query["X-Amz-Signature"], amz_date)
        except (KeyError, ValueError) as exc:
            raise S3Error("AuthorizationQueryParametersError",
                          "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                          "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.") from exc
        # Out-of-range lifetimes are refused with 403, as s3-tests (checked against AWS) expect.
        if expires < 0:
            raise S3Error("AccessDenied", "Request has expired", **{"X-Amz-Expires": raw_expires})
        if expires > C.MAX_PRESIGNED_EXPIRES_S:
            raise S3Error("AccessDenied", "X-Amz-Expires must be less than a week (in seconds) that is; "
                          f"the given X-Amz-Expires must be less than {C.MAX_PRESIGNED_EXPIRES_S} seconds",
                          **{"X-Amz-Expires": raw_expires})
        when, now = parse_amz_date(amz_date), time.time()
        if signed.credential.date != amz_date[:8]:
            raise S3Error("AuthorizationQueryParametersError", f"Invalid credential date \"{signed.credential.date}"
                          f"\". This date is not the same as X-Amz-Date: \"{amz_date[:8]}\".")
        if now > when + expires:
            raise S3Error("AccessDenied", "Request has expired", **{"X-Amz-Expires": expires},
                          Expires=iso_time(when + expires), ServerTime=iso_time(now))
        if when - now > C.MAX_CLOCK_SKEW_S:
            raise S3Error("AccessDenied", "Request is not valid yet")
        return self._verify(method, raw_path, raw_query, headers, signed, _presigned_payload(query, headers),
                            amz_date, "X-Amz-Signature", security_token(query, headers))

    def _verify(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                signed: sigv4.SignedRequest, payload: str, amz_date: str, exclude: str | None,
                token: str | None = None) -> AuthResult:
        # Before any key lookup or handler: a header the signer never saw must change nothing.
        sigv4.check_signed_headers(headers, signed.signed_headers)
        identity = self.lookup(signed.credential.access_key, token)
        account = identity.account
        canonical = sigv4.canonical_request(method, raw_path, raw_query, headers, signed.signed_headers,
                                            payload, exclude)
        scope = signed.credential.scope
        key = self.keys.get(account.secret_key, signed.credential)
        expected = sigv4.sign(key, sigv4.string_to_sign(amz_date, scope, canonical))
        if not sigv4.signatures_match(expected, signed.signature):
            raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=account.access_key)
        return AuthResult(account, payload, key, scope, amz_date, signed.signature, identity.principal,
                          identity.session_policies)


_V4_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def claimed_access_key(query: dict[str, str], headers: dict[str, str]) -> str | None:
    """The access key a request says it was signed with, before any check (to look it up ahead)."""
    auth = headers.get("authorization")
    if auth is not None:
        if auth.startswith(sigv4.ALGORITHM + " "):
            m = _V4_CREDENTIAL.search(auth)
            return m.group(1) if m else None
        if auth.startswith("AWS "):
            return auth[4:].strip().rpartition(":")[0] or None
        return None
    if "X-Amz-Credential" in query:
        return query["X-Amz-Credential"].split("/", 1)[0] or None
    return query.get("AWSAccessKeyId") or None
