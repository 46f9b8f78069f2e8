"""Where the built-in key service keeps its keys: the metadata daemon's identity store.

Each KMS key is one record of kind `kmskey` (shared/contract/iam.py), filed under no account, whose
document is the key service's record (its material sealed by the master key, never in clear). The
store's revisions make `add` atomic: two front-ends declaring the same key at once keep one.
"""
from __future__ import annotations

from typing import Any

from s3front.iam_api.store import IdentityClient
from s3front.sse.kms import Record
from shared.contract.iam import KMS_KEY, IAMChange
from shared.errors import S3Error


class MetadataKeyStore:
    """A KeyStore (s3front/sse/kms.py) over the front-end's metadata connection."""

    def __init__(self, metadata: Any) -> None:
        self._client = IdentityClient(metadata)

    async def load(self) -> dict[str, Record]:
        return {r.name: dict(r.doc) for r in await self._client.iam_list("", KMS_KEY)}

    async def add(self, key_id: str, record: Record) -> Record:
        try:
            await self._client.iam_commit("", [IAMChange(KMS_KEY, key_id, dict(record), 0)])
        except S3Error as exc:
            if exc.code != "ConcurrentModification":
                raise
        stored = await self._client.iam_get("", KMS_KEY, key_id)
        return dict(stored.doc) if stored is not None else dict(record)

    async def update(self, key_id: str, record: Record) -> None:
        await self._client.iam_commit("", [IAMChange(KMS_KEY, key_id, dict(record), None)])
