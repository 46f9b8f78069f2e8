"""Size limits of policy documents, as AWS counts them.

A bucket policy may have 20 KB; IAM allows 6,144 characters for a managed policy and, for the
inline policies of one identity together, 2,048 (user), 5,120 (group) or 10,240 (role). IAM does
not count whitespace; neither is counted here for bucket policies, as S3 stores them normalised.
"""
from __future__ import annotations

from shared import constants as C
from s3front.iam.errors import PolicySizeError

LIMITS: dict[str, int] = {
    "bucket": C.BUCKET_POLICY_MAX_BYTES,
    "managed": C.IAM_MANAGED_POLICY_MAX_CHARS,
    "user": C.IAM_USER_INLINE_MAX_CHARS,
    "group": C.IAM_GROUP_INLINE_MAX_CHARS,
    "role": C.IAM_ROLE_INLINE_MAX_CHARS,
}
_BLANK = " \t\r\n"


def compact(text: str | bytes) -> str:
    """`text` without the whitespace between JSON tokens (whitespace inside strings stays)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    out: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch not in _BLANK:
            out.append(ch)
            in_string = ch == '"'
    return "".join(out)


def policy_size(kind: str, text: str | bytes) -> int:
    """The size AWS holds against the limit: UTF-8 bytes for a bucket policy, characters for IAM."""
    if kind not in LIMITS:
        raise ValueError(f"no size limit for {kind!r}; one of {sorted(LIMITS)}")
    small = compact(text)
    return len(small.encode("utf-8")) if kind == "bucket" else len(small)


def check_size(kind: str, text: str | bytes, name: str = "") -> None:
    """PolicySizeError if `text` is over the limit of `kind` (bucket, managed, user, group, role).
    For inline policies pass all of the identity's inline documents joined, as AWS adds them up."""
    size, limit = policy_size(kind, text), LIMITS[kind]
    if size <= limit:
        return
    if kind == "bucket":
        message = "Policy exceeds the maximum allowed document size."
    elif kind == "managed":
        message = f"Cannot exceed quota for PolicySize: {limit}"
    else:
        message = f"Maximum policy size of {limit} bytes exceeded for {kind} {name}".rstrip()
    raise PolicySizeError(message, limit, size)
