"""AWS Signature Version 2: `Authorization: AWS key:signature` and query strings with Signature and Expires.

The string to sign is pure: method, Content-MD5, Content-Type, Date (or Expires), the x-amz-*
headers, then the canonicalized resource with the sub-resources S3 signs.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from s3front.auth import Authenticator, Identity, check_skew, iso_time, parse_any_date, security_token
from shared.errors import S3Error
from shared.params import parse_int

# The query parameters that are part of the canonicalized resource (the others are not signed).
SUB_RESOURCES = frozenset([
    "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption", "intelligent-tiering",
    "inventory", "legal-hold", "lifecycle", "location", "logging", "metrics", "notification", "object-lock",
    "ownershipControls", "partNumber", "policy", "policyStatus", "publicAccessBlock", "replication",
    "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "restore", "retention",
    "select", "select-type", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions",
    "website",
])
_SPACES = re.compile(r"\s+")


def canonical_amz_headers(headers: dict[str, str]) -> str:
    """`name:value\\n` for every x-amz-* header, sorted, whitespace folded."""
    # Every one of them, so no x-amz-* header can be added to a signed request (SigV4 checks it apart).
    amz = sorted((k.lower(), _SPACES.sub(" ", v.strip())) for k, v in headers.items()
                 if k.lower().startswith("x-amz-"))
    return "".join(f"{k}:{v}\n" for k, v in amz)


def canonical_resource(raw_path: str, query: dict[str, str], vhost_bucket: str | None = None) -> str:
    """The path as sent (prefixed by the bucket for virtual-hosted style) and the signed sub-resources."""
    path = raw_path or "/"
    if vhost_bucket:
        path = f"/{vhost_bucket}{path}"
    subs = sorted(f"{name}={value}" if value else name for name, value in query.items() if name in SUB_RESOURCES)
    return path + "?" + "&".join(subs) if subs else path


def string_to_sign(method: str, headers: dict[str, str], date: str, resource: str) -> str:
    """The SigV2 string to sign; `date` is the Date header, "" when x-amz-date is sent, or Expires."""
    return "\n".join([method, headers.get("content-md5", ""), headers.get("content-type", ""), date,
                      canonical_amz_headers(headers) + resource])


def sign(secret: str, to_sign: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), to_sign.encode("utf-8"), hashlib.sha1).digest()).decode()


def _request_time(headers: dict[str, str]) -> float:
    """The time a request says it was signed: x-amz-date when present (even empty), else Date."""
    value = headers["x-amz-date"] if "x-amz-date" in headers else headers.get("date")
    when = parse_any_date(value) if value else None
    if when is None or when < 0:
        # A missing, empty or pre-1970 date is no date at all to S3: AccessDenied, not a skew.
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    return when


def _vhost_bucket(auth: Authenticator, headers: dict[str, str]) -> str | None:
    """The bucket named by a virtual-hosted style Host header, which v2 signs as part of the path."""
    hostname = headers.get("host", "").rsplit(":", 1)[0].lower()
    for endpoint in auth.config.endpoints:
        if hostname.endswith("." + endpoint):
            return hostname[: -len(endpoint) - 1]
    return None


def _resource_paths(raw_path: str) -> list[str]:
    """The paths a signer may have used: a bucket's path with and without its trailing slash."""
    path = raw_path or "/"
    if path.count("/") == 1 and path != "/":
        return [path, path + "/"]    # botocore signs "/bucket/" for a path-style bucket request
    return [path]


def _check(auth: Authenticator, identity: Identity, method: str, raw_path: str, query: dict[str, str],
           headers: dict[str, str], date: str, given: str) -> Identity:
    account = identity.account
    vhost = _vhost_bucket(auth, headers)
    to_sign = ""
    for path in _resource_paths(raw_path):
        to_sign = string_to_sign(method, headers, date, canonical_resource(path, query, vhost))
        if hmac.compare_digest(sign(account.secret_key, to_sign).encode(), given.encode()):
            return identity
    raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=account.access_key, StringToSign=to_sign,
                  SignatureProvided=given)


def verify_header(auth: Authenticator, method: str, raw_path: str, query: dict[str, str],
                  headers: dict[str, str], authorization: str) -> Identity:
    """Check `Authorization: AWS key:signature`; the account, or an S3Error."""
    access_key, sep, given = authorization[len("AWS "):].strip().rpartition(":")
    if not sep or not access_key or not given:
        raise S3Error("InvalidArgument", "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                      ArgumentName="Authorization", ArgumentValue=authorization)
    when = _request_time(headers)
    check_skew(when)
    identity = auth.lookup(access_key, security_token(query, headers))
    date = "" if "x-amz-date" in headers else headers.get("date", "")
    return _check(auth, identity, method, raw_path, query, headers, date, given)


def verify_query(auth: Authenticator, method: str, raw_path: str, query: dict[str, str],
                 headers: dict[str, str]) -> Identity:
    """Check a query string signed with AWSAccessKeyId, Expires and Signature."""
    expires = query.get("Expires", "")
    if not expires or not query.get("Signature") or not query.get("AWSAccessKeyId"):
        raise S3Error("AccessDenied", "Query-string authentication requires the Signature, Expires and "
                                      "AWSAccessKeyId parameters")
    deadline = parse_int(expires, signed=True)
    if deadline is None:
        raise S3Error("AccessDenied", "Query-string authentication requires the Signature, Expires and "
                                      "AWSAccessKeyId parameters")
    now = time.time()
    if now > deadline:
        # Shown from the epoch on: gmtime() cannot render times long before it.
        raise S3Error("AccessDenied", "Request has expired", Expires=iso_time(max(deadline, 0)),
                      ServerTime=iso_time(now))
    identity = auth.lookup(query["AWSAccessKeyId"], security_token(query, headers))
    # A signer moves the x-amz-* headers it signed (a session token, say) into the query string.
    signed = {**headers, **{k.lower(): v for k, v in query.items() if k.lower().startswith("x-amz-")}}
    return _check(auth, identity, method, raw_path, query, signed, expires, query["Signature"])

