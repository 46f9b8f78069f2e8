"""Where a request points: path-style (`/bucket/key`) or virtual-hosted style (`bucket.endpoint/key`)."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote_to_bytes

from shared import constants as C
from shared.errors import S3Error
from shared.models import decode_version_id

COPY_SOURCE = "x-amz-copy-source"

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")     # matched whole: "$" would let "abc\n" in
_IP = re.compile(r"\d+\.\d+\.\d+\.\d+")
_C1_CONTROL = re.compile("[\x80-\x9f]")


def _hostname(host: str) -> str:
    """A Host header without its port, lower-cased."""
    return (host.rsplit(":", 1)[0] if not host.endswith("]") else host).lower()


def endpoint_of(host: str, endpoints: list[str]) -> str:
    """The endpoint a Host header names: itself, or what follows the bucket (virtual-hosted style)."""
    hostname = _hostname(host)
    if hostname not in endpoints:
        for endpoint in endpoints:
            if hostname.endswith("." + endpoint):
                return endpoint
    return hostname


def split_target(host: str, raw_path: str, endpoints: list[str]) -> tuple[str | None, str | None]:
    """(bucket, key) of a request; key is None for bucket and service requests."""
    hostname = _hostname(host)
    path = _decode_path(raw_path)
    vhost_bucket = None
    if hostname not in endpoints:
        for endpoint in endpoints:
            if hostname.endswith("." + endpoint):
                vhost_bucket = hostname[: -len(endpoint) - 1]
                break
    if vhost_bucket is not None:
        key = path[1:] if path.startswith("/") else path
        return vhost_bucket, (key or None)
    stripped = path[1:] if path.startswith("/") else path
    if not stripped:
        return None, None
    bucket, sep, key = stripped.partition("/")
    return bucket, (key if sep and key else None)


def _decode_path(raw_path: str) -> str:
    """The request path as text: %XX escapes and raw bytes alike are UTF-8; anything else is InvalidURI."""
    try:
        # The ASGI server hands the path over as bytes we decoded as latin-1: get those bytes back first.
        return unquote_to_bytes(raw_path.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise S3Error("InvalidURI") from None


def check_key(key: str) -> None:
    encoded = key.encode("utf-8", "surrogatepass")
    if len(encoded) > C.MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", Size=len(encoded), MaxSizeAllowed=C.MAX_KEY_BYTES)
    if "\x00" in key:
        raise S3Error("InvalidArgument", "Object keys may not contain the NUL character.",
                      ArgumentName="key")
    if _C1_CONTROL.search(key):
        # S3 answers InvalidURI to keys with C1 control characters (s3-tests test_object_read_unreadable).
        raise S3Error("InvalidURI")


def valid_bucket_name(name: str) -> bool:
    """AWS's rules for new general purpose bucket names: 3 to 63 lowercase letters, digits, dots and
    hyphens, a letter or digit at each end, no two adjacent periods, not an IP address, none of the
    reserved prefixes and suffixes (and, as S3 has long refused them, no ".-" or "-.")."""
    return (_BUCKET.fullmatch(name) is not None and ".." not in name and _IP.fullmatch(name) is None
            and ".-" not in name and "-." not in name and not name.startswith(C.BUCKET_RESERVED_PREFIXES)
            and not name.endswith(C.BUCKET_RESERVED_SUFFIXES))



def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """(bucket, key, internal version id or None) of an x-amz-copy-source value: `[/]bucket/key[?versionId=v]`."""
    path, _, query = value.partition("?")      # a `?` inside the key arrives URL-encoded
    try:
        # Header values reach us as UTF-8 text; the key is UTF-8 once its %XX escapes are undone.
        path = unquote_to_bytes(path.encode("utf-8")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        path = ""
    bucket, _, key = path.removeprefix("/").partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                      ArgumentName=COPY_SOURCE, ArgumentValue=value)
    params = dict(parse_qsl(query, keep_blank_values=True))
    version = params.get("versionId")
    return bucket, key, None if version is None else decode_version_id(version)
