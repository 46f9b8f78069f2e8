"""SSE request headers as AWS reads them, the checks against a stored object, and what responses carry.

Request headers (lower-case names, as S3Request holds them):
- PutObject, POST, CopyObject (destination) and CreateMultipartUpload: `parse_write()`, all of them:
  x-amz-server-side-encryption (AES256 | aws:kms | aws:kms:dsse), -aws-kms-key-id, -context,
  -bucket-key-enabled, and the SSE-C trio -customer-algorithm, -customer-key, -customer-key-MD5.
- GetObject and HeadObject: `parse_read()`, the SSE-C trio only; any other SSE header is a 400 (AWS:
  "the encryption method can't be changed when you retrieve the object").
- UploadPart, UploadPartCopy (destination) and CompleteMultipartUpload: `parse_part()`, the SSE-C trio;
  other SSE headers are ignored, since the upload's encryption was fixed by CreateMultipartUpload
  (clients, s3-tests among them, repeat the CreateMultipartUpload headers on every part).
- CopyObject and UploadPartCopy sources: `parse_copy_source()`, the
  x-amz-copy-source-server-side-encryption-customer-* trio.

The messages are AWS's own, as recorded from its answers (InvalidArgument carries ArgumentName
x-amz-server-side-encryption and ArgumentValue null for every SSE-C mistake, as AWS does).

ETags (`etag()`): SSE-S3 and unencrypted objects have the MD5 of their plaintext, as on AWS. SSE-C and
SSE-KMS objects have an ETag that is not the MD5 of the plaintext (AWS's is random-looking); Coffer's
is a keyed digest of the plaintext's MD5 (service.py `opaque_etag`: under a key derived from the
customer's key for SSE-C, from the master key for SSE-KMS): it reveals nothing of the plaintext to
whoever lacks the key, and the same bytes sent again (a retried part) get the same ETag, as clients
expect. Multipart ETags stay MD5(part ETags)-N.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from s3front.sse import keys
from shared import constants as C
from shared.errors import S3Error

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = SSE + "-aws-kms-key-id"
CONTEXT = SSE + "-context"
BUCKET_KEY = SSE + "-bucket-key-enabled"
CUSTOMER = SSE + "-customer-"                         # + algorithm | key | key-md5
COPY_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
CUSTOMER_ALGORITHM = CUSTOMER + "algorithm"          # response header names, cased as AWS sends them
CUSTOMER_KEY_MD5 = CUSTOMER + "key-MD5"

AES256, KMS, DSSE, SSE_C = "AES256", "aws:kms", "aws:kms:dsse", "SSE-C"
MODES = (AES256, KMS, DSSE)                         # values of x-amz-server-side-encryption
WRITE, PART, COMPLETE, READ = "write", "part", "complete", "read"     # operations, for response headers

MSG_NOT_SUPPORTED = "The encryption method specified is not supported"
MSG_KMS_NEEDS_SSE = "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"
MSG_C_WITH_SSE = "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"
MSG_C_ALGORITHM = "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."
MSG_C_KEY = "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."
MSG_C_MD5 = "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key."
MSG_C_MD5_MISMATCH = "The calculated MD5 hash of the key did not match the hash that was provided."
MSG_C_INVALID_KEY = "The secret key was invalid for the specified algorithm."
MSG_C_INSECURE = "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."
MSG_C_WRONG_KEY = "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key."
MSG_ENCRYPTED = "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
MSG_NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
MSG_PART_NEEDS_C = "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
MSG_PART_MISMATCH = "The provided encryption parameters did not match the ones used originally."
MSG_CONTEXT = ("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string "
               "holding JSON which represents a string-string map")
MSG_KMS_SIGV4 = "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4."


@dataclass(frozen=True)
class CustomerKey:
    """An SSE-C key from a request, checked against its MD5; repr() never shows the key."""
    key: bytes = field(repr=False)
    md5: str                      # base64 MD5 of the key, echoed in responses


@dataclass(frozen=True)
class SseRequest:
    """What the SSE headers of a write ask for; all None when they ask nothing."""
    mode: str | None = None
    kms_key_id: str | None = None
    context: dict[str, str] | None = None
    bucket_key: bool | None = None
    customer: CustomerKey | None = None


@dataclass(frozen=True)
class WriteSse:
    """The encryption one write will use (see bucket_config.choose): request headers or bucket default."""
    mode: str                                  # AES256 | aws:kms | aws:kms:dsse | SSE-C
    kms_key_id: str | None = None              # as named; None means the default key aws/s3
    context: dict[str, str] | None = None      # the request's own encryption context
    bucket_key: bool = False
    customer: CustomerKey | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ObjectSse:
    """The encryption of a stored object (or of a multipart upload), as kept in its metadata."""
    mode: str                                  # AES256 | aws:kms | SSE-C
    kms_key_arn: str | None = None
    context: dict[str, str] | None = None      # the whole KMS context: the request's and aws:s3:arn
    bucket_key: bool = False
    fingerprint: dict[str, str] | None = None  # SSE-C: the salted HMAC of the customer's key
    key_name: str | None = None                # the KMS key id as the write named it (echoed, see response_headers)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": C.SSE_FORMAT_VERSION, "mode": self.mode}
        if self.kms_key_arn is not None:
            out.update(kms=self.kms_key_arn, ctx=self.context or {}, bk=self.bucket_key)
        if self.key_name is not None:
            out["kid"] = self.key_name
        if self.fingerprint is not None:
            out["c"] = dict(self.fingerprint)
        return out

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ObjectSse:
        return cls(record["mode"], record.get("kms"), record.get("ctx"), bool(record.get("bk", False)),
                   record.get("c"), record.get("kid"))


def _invalid(message: str, value: str = "null", name: str = SSE) -> S3Error:
    return S3Error("InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


# -- parsing --------------------------------------------------------------------------------------

def parse_write(headers: Mapping[str, str], secure: bool, allow_http: bool = False) -> SseRequest:
    """The SSE headers of PutObject, POST, CopyObject (destination) or CreateMultipartUpload."""
    mode = headers.get(SSE)
    if mode is not None and any(k.startswith(CUSTOMER) for k in headers):
        raise _invalid(MSG_C_WITH_SSE, mode)
    customer = parse_customer(headers, secure, allow_http)
    if mode is not None and mode not in MODES:
        raise _invalid(MSG_NOT_SUPPORTED, mode)
    kms_key_id, context = headers.get(KMS_KEY_ID), headers.get(CONTEXT)
    if mode not in (KMS, DSSE) and (kms_key_id is not None or context is not None):
        raise _invalid(MSG_KMS_NEEDS_SSE, mode or "null")
    bucket_key = _parse_bool(headers[BUCKET_KEY], BUCKET_KEY) if BUCKET_KEY in headers else None
    return SseRequest(mode, kms_key_id, parse_context(context) if context is not None else None,
                      bucket_key, customer)


def parse_read(headers: Mapping[str, str], secure: bool, allow_http: bool = False) -> CustomerKey | None:
    """The SSE-C key of GetObject or HeadObject; other SSE headers are a 400."""
    for name in (SSE, KMS_KEY_ID, CONTEXT, BUCKET_KEY):
        if name in headers:
            raise _invalid(f"{name} header is not supported for this operation.", headers[name], name)
    return parse_customer(headers, secure, allow_http)


def parse_part(headers: Mapping[str, str], secure: bool, allow_http: bool = False) -> CustomerKey | None:
    """The SSE-C key of UploadPart, UploadPartCopy or CompleteMultipartUpload; other SSE headers are ignored."""
    return parse_customer(headers, secure, allow_http)


def parse_copy_source(headers: Mapping[str, str], secure: bool, allow_http: bool = False) -> CustomerKey | None:
    """The SSE-C key of a copy's source (x-amz-copy-source-server-side-encryption-customer-*)."""
    return parse_customer(headers, secure, allow_http, COPY_CUSTOMER)


def parse_customer(headers: Mapping[str, str], secure: bool, allow_http: bool = False,
                   prefix: str = CUSTOMER) -> CustomerKey | None:
    """The SSE-C trio under `prefix`, validated in AWS's order; None when none of it is present."""
    algorithm, key_b64, md5_b64 = (headers.get(prefix + n) for n in ("algorithm", "key", "key-md5"))
    if algorithm is None and key_b64 is None and md5_b64 is None:
        return None
    if not secure and not allow_http:
        raise S3Error("InvalidRequest", MSG_C_INSECURE)
    if algorithm is None:
        raise _invalid(MSG_C_ALGORITHM)
    if algorithm != AES256:
        raise S3Error("InvalidEncryptionAlgorithmError", ArgumentName=SSE, ArgumentValue=algorithm)
    if key_b64 is None:
        raise _invalid(MSG_C_KEY)
    if md5_b64 is None:
        raise _invalid(MSG_C_MD5)
    key, md5 = _b64(key_b64, MSG_C_INVALID_KEY), _b64(md5_b64, MSG_C_MD5_MISMATCH)
    if hashlib.md5(key).digest() != md5:          # AWS checks the MD5 before the key's length
        raise _invalid(MSG_C_MD5_MISMATCH)
    if len(key) != C.SSE_KEY_BYTES:
        raise _invalid(MSG_C_INVALID_KEY)
    return CustomerKey(key, base64.b64encode(md5).decode())


def _b64(text: str, message: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(message) from None


def _parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise _invalid(f"The value of {name} must be true or false.", value, name)
    return lowered == "true"


def parse_context(value: str) -> dict[str, str]:
    """x-amz-server-side-encryption-context: base64 of a UTF-8 JSON object of strings."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        context = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise _invalid(MSG_CONTEXT, value, CONTEXT) from None
    if not isinstance(context, dict) or not all(isinstance(v, str) for v in context.values()):
        raise _invalid(MSG_CONTEXT, value, CONTEXT)
    if len(raw) > C.SSE_CONTEXT_MAX_BYTES:
        raise _invalid(f"The encryption context may hold at most {C.SSE_CONTEXT_MAX_BYTES} bytes.", value, CONTEXT)
    if any(k.startswith("aws:") for k in context):
        # S3 adds aws:s3:arn itself; keys in the aws: namespace are AWS's own.
        raise _invalid("Encryption context keys beginning with aws: are reserved.", value, CONTEXT)
    return context


# -- checks against what is stored ----------------------------------------------------------------

def check_read(stored: ObjectSse | None, given: CustomerKey | None) -> None:
    """GetObject, HeadObject and copy sources: the SSE-C key given must be the object's own."""
    is_c = stored is not None and stored.mode == SSE_C
    if is_c and given is None:
        raise S3Error("InvalidRequest", MSG_ENCRYPTED)
    if not is_c and given is not None:
        raise S3Error("InvalidRequest", MSG_NOT_APPLICABLE)
    if is_c and given is not None and not keys.customer_matches(given.key, stored.fingerprint or {}):
        raise S3Error("AccessDenied", MSG_C_WRONG_KEY)


def check_part(upload: ObjectSse | None, given: CustomerKey | None) -> None:
    """UploadPart and UploadPartCopy: the SSE-C key must be the one CreateMultipartUpload gave."""
    is_c = upload is not None and upload.mode == SSE_C
    if is_c != (given is not None):
        raise S3Error("InvalidRequest", MSG_PART_NEEDS_C)
    if is_c and given is not None and not keys.customer_matches(given.key, upload.fingerprint or {}):
        raise S3Error("InvalidRequest", MSG_PART_MISMATCH)


def check_complete(upload: ObjectSse | None, given: CustomerKey | None) -> None:
    """CompleteMultipartUpload: AWS needs no SSE-C key here, but one that is given must be the upload's."""
    if given is None:
        return
    if upload is None or upload.mode != SSE_C:
        raise S3Error("InvalidRequest", MSG_NOT_APPLICABLE)
    if not keys.customer_matches(given.key, upload.fingerprint or {}):
        raise S3Error("InvalidRequest", MSG_PART_MISMATCH)


def check_kms_signature(mode: str | None, signature_version: str | None) -> None:
    """SSE-KMS writes and reads need SigV4, as on AWS (`signature_version`: "SigV4", "SigV2" or None)."""
    if mode in (KMS, DSSE) and signature_version != "SigV4":
        raise _invalid(MSG_KMS_SIGV4, name="Authorization")


# -- responses ------------------------------------------------------------------------------------

def response_headers(stored: ObjectSse | None, operation: str, customer: CustomerKey | None = None) -> dict[str, str]:
    """The SSE headers of a response: `operation` is WRITE (Put, POST, Copy, CreateMultipartUpload),
    PART (UploadPart, UploadPartCopy), COMPLETE (CompleteMultipartUpload) or READ (Get, Head)."""
    if stored is None:
        return {}
    if stored.mode == SSE_C:
        # The customer's key is echoed by MD5 whenever the request gave it (Complete included,
        # which AWS's response syntax leaves out but s3-tests expects, and which harms no client).
        if customer is None:
            return {}
        return {CUSTOMER_ALGORITHM: AES256, CUSTOMER_KEY_MD5: customer.md5}
    out = {SSE: stored.mode}
    if stored.mode == KMS:
        # The key as the write named it, as Ceph RGW answers and s3-tests expect; AWS answers the
        # key's ARN, which is what Coffer answers when the write named no key (the default aws/s3).
        out[KMS_KEY_ID] = stored.key_name or stored.kms_key_arn or ""
        if stored.bucket_key:
            out[BUCKET_KEY] = "true"
        if operation == WRITE and stored.context:
            out[CONTEXT] = base64.b64encode(orjson.dumps(stored.context)).decode()
    return out


def etag(mode: str | None, plaintext_md5: str, opaque: str) -> str:
    """The ETag (hex, unquoted) of a single-part object or a part: see the module docstring."""
    return opaque if mode in (SSE_C, KMS, DSSE) else plaintext_md5
