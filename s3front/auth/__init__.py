"""Who is asking: SigV4 (header or presigned URL), SigV2, or nobody (anonymous).

`authenticate` checks the signature over everything but the body; what the body must hash to
(or how its aws-chunked framing is signed) is returned in the AuthResult for the body reader.
"""
from __future__ import annotations

import calendar
import time
from dataclasses import dataclass

from s3front.auth import sigv4
from shared import constants as C
from shared.config import Account, Config
from shared.errors import S3Error


@dataclass
class AuthResult:
    account: Account | None
    payload_hash: str = sigv4.UNSIGNED_PAYLOAD     # a hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-*
    signing_key: bytes = b""
    scope: str = ""
    amz_date: str = ""
    seed_signature: str = ""


ANONYMOUS = AuthResult(None)


def parse_amz_date(value: str) -> float:
    try:
        return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None


def _http_date(value: str) -> float:
    from email.utils import parsedate_to_datetime
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None


def check_skew(when: float) -> None:
    if abs(time.time() - when) > C.MAX_CLOCK_SKEW_S:
        raise S3Error("RequestTimeTooSkewed")


class Authenticator:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.keys = sigv4.SigningKeys()

    def _account(self, access_key: str) -> Account:
        account = self.config.account_by_access_key(access_key)
        if account is None:
            raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
        return account

    def authenticate(self, method: str, raw_path: str, raw_query: str, query: dict[str, str],
                     headers: dict[str, str]) -> AuthResult:
        auth = headers.get("authorization")
        if auth is not None:
            if auth.startswith(sigv4.ALGORITHM):
                return self._header_v4(method, raw_path, raw_query, headers, auth)
            if auth.startswith("AWS "):
                from s3front.auth import sigv2
                return AuthResult(sigv2.verify_header(self, method, raw_path, query, headers, auth))
            raise S3Error("AccessDenied", "Unsupported Authorization Type")
        if "X-Amz-Algorithm" in query:
            return self._presigned_v4(method, raw_path, raw_query, query, headers)
        if "Signature" in query and "AWSAccessKeyId" in query:
            from s3front.auth import sigv2
            return AuthResult(sigv2.verify_query(self, method, raw_path, query, headers))
        return ANONYMOUS

    def _header_v4(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                   auth: str) -> AuthResult:
        amz_date = headers.get("x-amz-date")
        when = parse_amz_date(amz_date) if amz_date else _http_date(headers.get("date", ""))
        signed = sigv4.parse_authorization(auth, amz_date or "")
        check_skew(when)
        payload = headers.get("x-amz-content-sha256")
        if payload is None:
            raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if not amz_date:
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
        return self._verify(method, raw_path, raw_query, headers, signed, payload, amz_date, None)

    def _presigned_v4(self, method: str, raw_path: str, raw_query: str, query: dict[str, str],
                      headers: dict[str, str]) -> AuthResult:
        if query["X-Amz-Algorithm"] != sigv4.ALGORITHM:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        try:
            cred = sigv4.parse_credential(query["X-Amz-Credential"])
            amz_date, expires = query["X-Amz-Date"], int(query["X-Amz-Expires"])
            signed = sigv4.SignedRequest(cred, query["X-Amz-SignedHeaders"].split(";"),
                                         query["X-Amz-Signature"], amz_date)
        except (KeyError, ValueError) as exc:
            raise S3Error("AuthorizationQueryParametersError",
                          "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                          "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.") from exc
        if not 0 <= expires <= C.MAX_PRESIGNED_EXPIRES_S:
            raise S3Error("AuthorizationQueryParametersError",
                          "X-Amz-Expires must be less than a week (in seconds) that is 604800")
        when = parse_amz_date(amz_date)
        if time.time() > when + expires:
            raise S3Error("AccessDenied", "Request has expired")
        if when - time.time() > C.MAX_CLOCK_SKEW_S:
            raise S3Error("AccessDenied", "Request is not valid yet")
        payload = query.get("X-Amz-Content-Sha256", sigv4.UNSIGNED_PAYLOAD)
        return self._verify(method, raw_path, raw_query, headers, signed, payload, amz_date, "X-Amz-Signature")

    def _verify(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                signed: sigv4.SignedRequest, payload: str, amz_date: str, exclude: str | None) -> AuthResult:
        account = self._account(signed.credential.access_key)
        canonical = sigv4.canonical_request(method, raw_path, raw_query, headers, signed.signed_headers,
                                            payload, exclude)
        scope = signed.credential.scope
        key = self.keys.get(account.secret_key, signed.credential)
        expected = sigv4.sign(key, sigv4.string_to_sign(amz_date, scope, canonical))
        if not sigv4.signatures_match(expected, signed.signature):
            raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=account.access_key)
        return AuthResult(account, payload, key, scope, amz_date, signed.signature)
