"""The keys of each object's pieces, for each mode: what the write and read paths call.

An encrypted object keeps two things in its metadata:
- the object's `ObjectSse` (`ObjectSse.to_dict()`): its mode, KMS key ARN and context, or its
  SSE-C fingerprint; a multipart upload keeps it from CreateMultipartUpload on;
- for each data piece (the whole body of a PutObject, or one part): a piece record
  {"dk": sealed data key (base64), "env": envelope parameters}, from `new_piece()`.

Data keys are sealed per mode: SSE-S3 under a key derived from the master key, SSE-KMS by the key
service (GenerateDataKey), SSE-C under a key derived from the customer's key. The associated data
names the bucket, the object key, the mode and the part, so a piece record moved to another object
or part does not open.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from s3front.sse import envelope, keys
from s3front.sse.headers import AES256, KMS, SSE_C, CustomerKey, ObjectSse, WriteSse
from s3front.sse.kms import DEFAULT_KEY_ID, KeyService
from shared.errors import InternalError, S3Error

MSG_NO_SSE_S3 = "Server-side encryption with Amazon S3 managed keys (SSE-S3) is not configured on this server."
MSG_NO_KMS = "Server-side encryption with KMS keys (SSE-KMS) is not configured on this server."
_SSE_S3_PURPOSE = "sse-s3"
_ETAG_PURPOSE = "etag"

Piece = dict[str, Any]


def s3_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")


class Encryption:
    """Makes and opens the data keys of encrypted objects; `master` and `kms` may be absent."""

    def __init__(self, master: keys.MasterKey | None, kms: KeyService | None) -> None:
        self._sse_s3_kek = master.derive(_SSE_S3_PURPOSE) if master is not None else None
        self._etag_key = master.derive(_ETAG_PURPOSE) if master is not None else None
        self._kms = kms

    def opaque_etag(self, obj: ObjectSse, plaintext_md5: str, customer: CustomerKey | None = None) -> str:
        """The ETag of an SSE-C or SSE-KMS piece: HMAC-SHA256 of its plaintext MD5 under a key the
        client (SSE-C) or the cluster (SSE-KMS) holds, cut to 32 hex digits like an MD5."""
        if obj.mode == SSE_C and customer is not None:
            key = keys.derive_key(customer.key, _ETAG_PURPOSE)
        else:
            key = self._etag_key or b"\0" * 32
        return hmac.new(key, bytes.fromhex(plaintext_md5), hashlib.sha256).hexdigest()[:32]

    async def begin(self, sse: WriteSse, bucket: str, key: str) -> ObjectSse:
        """The ObjectSse of a new object or multipart upload (resolves the KMS key, checks it is usable)."""
        if sse.mode == AES256:
            if self._sse_s3_kek is None:
                raise S3Error("NotImplemented", MSG_NO_SSE_S3)
            return ObjectSse(AES256)
        if sse.mode == SSE_C:
            if sse.customer is None:
                raise ValueError("an SSE-C write needs the customer's key")
            return ObjectSse(SSE_C, fingerprint=keys.customer_fingerprint(sse.customer.key))
        if sse.mode != KMS:
            raise ValueError(f"no encryption mode {sse.mode!r}")
        kms = self._need_kms()
        info = await kms.describe_key(sse.kms_key_id if sse.kms_key_id is not None else DEFAULT_KEY_ID)
        if not info.enabled:
            raise S3Error("KMS.DisabledException", f"{info.arn} is disabled.")
        # AWS adds aws:s3:arn to the request's context: the object's ARN, or the bucket's with a bucket key.
        arn = s3_arn(bucket) if sse.bucket_key else s3_arn(bucket, key)
        context = {**(sse.context or {}), "aws:s3:arn": arn}
        return ObjectSse(KMS, info.arn, context, sse.bucket_key, key_name=sse.kms_key_id)

    async def new_piece(self, obj: ObjectSse, bucket: str, key: str, part: int = 0,
                        customer: CustomerKey | None = None) -> tuple[bytes, Piece]:
        """A fresh data key for one piece (part 0 for a PutObject body) and the record to store with it."""
        context = _piece_context(obj, bucket, key, part)
        if obj.mode == KMS:
            kms = self._need_kms()
            data_key, sealed = await kms.generate_data_key(obj.kms_key_arn or "", _kms_context(obj, context))
        else:
            data_key = keys.new_data_key()
            sealed = keys.seal_key(self._kek(obj, customer), data_key, context)
        return data_key, {"dk": keys.encode(sealed), "env": envelope.new_params(part)}

    async def open_piece(self, obj: ObjectSse, piece: Mapping[str, Any], bucket: str, key: str,
                         customer: CustomerKey | None = None) -> tuple[bytes, dict[str, Any]]:
        """The data key and envelope parameters of a stored piece (check_read() has checked an SSE-C key)."""
        params = dict(piece["env"])
        context = _piece_context(obj, bucket, key, params.get("part", 0))
        sealed = keys.decode(piece["dk"])
        if obj.mode == KMS:
            return await self._need_kms().decrypt(sealed, obj.kms_key_arn or "", _kms_context(obj, context)), params
        return keys.unseal_key(self._kek(obj, customer), sealed, context), params

    def _kek(self, obj: ObjectSse, customer: CustomerKey | None) -> bytes:
        if obj.mode == SSE_C:
            if customer is None:
                raise ValueError("an SSE-C object needs the customer's key")
            return keys.customer_kek(customer.key)
        if obj.mode != AES256:
            raise InternalError(f"unknown encryption mode {obj.mode!r} in an object's metadata")
        if self._sse_s3_kek is None:
            raise InternalError("an SSE-S3 object cannot be read: this server has no master key")
        return self._sse_s3_kek

    def _need_kms(self) -> KeyService:
        if self._kms is None:
            raise S3Error("NotImplemented", MSG_NO_KMS)
        return self._kms


def _piece_context(obj: ObjectSse, bucket: str, key: str, part: int) -> dict[str, str]:
    """What a piece's sealed data key is bound to."""
    return {"alg": obj.mode, "bucket": bucket, "key": key, "part": str(part)}


def _kms_context(obj: ObjectSse, piece_context: Mapping[str, str]) -> dict[str, str]:
    """The context the key service authenticates: the object's KMS context and the piece's binding."""
    return {**(obj.context or {}), **{f"coffer:{k}": v for k, v in piece_context.items()}}
