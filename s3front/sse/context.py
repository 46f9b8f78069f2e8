"""A front-end's encryption settings and services, made once per process from the environment.

- COFFER_KMS_MASTER_KEY / COFFER_KMS_MASTER_KEY_FILE: the master key (keys.py). Without one, SSE-S3
  and SSE-KMS answer 501 NotImplemented (`coffer serve` always provides one, see services/serve.py).
- COFFER_KMS_KEYS=name:base64key,...: KMS keys declared at start (kms.py).
- COFFER_SSEC_ALLOW_HTTP=1: SSE-C over plain HTTP (AWS refuses it; s3-tests need it).

Nothing here runs for a request that involves no encryption: the key service starts (loads its keys,
adds the declared ones) on its first use.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from s3front.sse import keys
from s3front.sse.kms import KMS_KEYS_ENV, BuiltinKms, KeyInfo, parse_declared_keys
from s3front.sse.service import Encryption
from s3front.sse.store import MetadataKeyStore
from shared import constants as C
from shared.errors import InternalError

SSEC_ALLOW_HTTP_ENV = "COFFER_SSEC_ALLOW_HTTP"
log = logging.getLogger("coffer.sse")


class LazyKms:
    """The built-in key service, started (stored keys loaded, declared keys added) on first use, and
    reloaded at most every KMS_REFRESH_S while in use, so a key disabled elsewhere is refused here too."""

    def __init__(self, kms: BuiltinKms, declared: Mapping[str, bytes]) -> None:
        self._kms, self._declared = kms, dict(declared)
        self._started = False
        self._refreshed = 0.0
        self._lock = asyncio.Lock()

    async def service(self) -> BuiltinKms:
        if not self._started or time.monotonic() - self._refreshed >= C.KMS_REFRESH_S:
            async with self._lock:
                if not self._started:
                    await self._start()
                elif time.monotonic() - self._refreshed >= C.KMS_REFRESH_S:
                    await self._kms.refresh()     # keys another front-end created or disabled
                self._refreshed = time.monotonic()
        return self._kms

    async def _start(self) -> None:
        try:
            await self._kms.start(self._declared)
        except ValueError as exc:       # a declared key that differs from the stored one: say which
            raise InternalError(f"the key service cannot start: {exc}") from None
        self._started = True

    async def describe_key(self, key_id: str) -> KeyInfo:
        return await (await self.service()).describe_key(key_id)

    async def list_keys(self) -> list[KeyInfo]:
        return await (await self.service()).list_keys()

    async def create_key(self, key_id: str | None = None, description: str = "") -> KeyInfo:
        return await (await self.service()).create_key(key_id, description)

    async def disable_key(self, key_id: str) -> KeyInfo:
        return await (await self.service()).disable_key(key_id)

    async def enable_key(self, key_id: str) -> KeyInfo:
        return await (await self.service()).enable_key(key_id)

    async def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        return await (await self.service()).generate_data_key(key_id, context)

    async def decrypt(self, sealed: bytes, key_id: str, context: Mapping[str, str]) -> bytes:
        return await (await self.service()).decrypt(sealed, key_id, context)


class SseContext:
    """What the data path needs for encryption: the data-key service, the key service, the SSE-C rule."""

    def __init__(self, metadata: Any, region: str = "us-east-1", account_id: str = "000000000000",
                 env: Mapping[str, str] = os.environ) -> None:
        master = keys.load_master_key(env)
        declared = parse_declared_keys(env.get(KMS_KEYS_ENV, ""))
        self.kms: LazyKms | None = None
        if master is not None:
            self.kms = LazyKms(BuiltinKms(master, MetadataKeyStore(metadata), region, account_id), declared)
        elif declared:
            log.warning(f"{KMS_KEYS_ENV} is ignored: no master key ({keys.MASTER_KEY_ENV} or "
                        f"{keys.MASTER_KEY_FILE_ENV}), so SSE-S3 and SSE-KMS are off")
        self.encryption = Encryption(master, self.kms)
        self.allow_http = env.get(SSEC_ALLOW_HTTP_ENV, "") in ("1", "true", "yes")


def sse_or_exit(metadata: Any, region: str = "us-east-1") -> SseContext:
    """The SseContext of this process; a bad master key or COFFER_KMS_KEYS stops it with a clear message."""
    try:
        return SseContext(metadata, region)
    except (ValueError, OSError) as exc:
        raise SystemExit(f"coffer: server-side encryption is misconfigured: {exc}") from None
