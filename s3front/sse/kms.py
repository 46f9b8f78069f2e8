"""Key services for SSE-KMS: the KeyService protocol, and the built-in key service.

`KeyService` is what SSE-KMS needs of a key service, after AWS KMS (GenerateDataKey, Decrypt,
DescribeKey, ListKeys, CreateKey, DisableKey, EnableKey), so that HashiCorp Vault's transit engine
or a KMIP server can stand in for the built-in one later.

The built-in service keeps named KMS keys (random 256-bit), each sealed under a key derived from the
master key, in a `KeyStore` the caller provides (the metadata daemon). Keys named in
COFFER_KMS_KEYS=name:base64key,... are declared at start. The default key `aws/s3` (what SSE-KMS
uses when a request names no key, as on AWS) is made the first time it is needed, from the master
key, so every front-end makes the same one.

A disabled key makes no new data keys (KMS.DisabledException) but still decrypts what it sealed:
disabling retires a key for new writes without making its objects unreadable.
"""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from s3front.sse import keys
from shared import constants as C
from shared.errors import S3Error

KMS_KEYS_ENV = "COFFER_KMS_KEYS"
DEFAULT_KEY_ID = "aws/s3"
_KEK_PURPOSE = "kms-keys"
_DEFAULT_PURPOSE = "kms-default-key"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,255}$")
_ARN = re.compile(r"^arn:aws:kms:([^:]*):([^:]*):(key|alias)/(.+)$")

Record = dict[str, Any]


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    arn: str
    enabled: bool
    description: str = ""
    created: float = 0.0


class KeyService(Protocol):
    """What SSE-KMS asks of a key service. Key ids may be names, key ARNs, alias/<name> or alias ARNs."""

    async def describe_key(self, key_id: str) -> KeyInfo:
        """The key `key_id` names; KMS.NotFoundException when there is none."""

    async def list_keys(self) -> list[KeyInfo]:
        """Every key, by id."""

    async def create_key(self, key_id: str | None = None, description: str = "") -> KeyInfo:
        """A new random key (named `key_id`, or a fresh UUID)."""

    async def disable_key(self, key_id: str) -> KeyInfo:
        """Stop the key making data keys; what it sealed still decrypts."""

    async def enable_key(self, key_id: str) -> KeyInfo:
        """Let a disabled key make data keys again."""

    async def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        """A new data key: (plaintext, sealed under the KMS key with `context` authenticated)."""

    async def decrypt(self, sealed: bytes, key_id: str, context: Mapping[str, str]) -> bytes:
        """The plaintext of a sealed data key; the context must be the one it was made with."""


class KeyStore(Protocol):
    """Where the built-in service keeps its sealed keys. `add` must be atomic: put only if absent."""

    async def load(self) -> dict[str, Record]:
        """Every stored key record, by key id."""

    async def add(self, key_id: str, record: Record) -> Record:
        """Store `record` unless `key_id` has one already; returns the record stored (either)."""

    async def update(self, key_id: str, record: Record) -> None:
        """Replace the record of an existing key (enabled or disabled)."""


class MemoryKeyStore:
    """A KeyStore in memory: for tests, and for a single front-end with declared keys only."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}

    async def load(self) -> dict[str, Record]:
        return {k: dict(v) for k, v in self.records.items()}

    async def add(self, key_id: str, record: Record) -> Record:
        return dict(self.records.setdefault(key_id, dict(record)))

    async def update(self, key_id: str, record: Record) -> None:
        self.records[key_id] = dict(record)


def parse_declared_keys(text: str) -> dict[str, bytes]:
    """COFFER_KMS_KEYS (`name:base64key,...`) as {name: key}; ValueError naming the bad entry, never its key."""
    declared: dict[str, bytes] = {}
    for n, entry in enumerate((e.strip() for e in text.split(",")), 1):
        if not entry:
            continue
        name, sep, material = entry.partition(":")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ValueError(f"{KMS_KEYS_ENV} entry {n} is not name:base64key with a valid key name")
        if name in declared:
            raise ValueError(f"{KMS_KEYS_ENV} declares the key {name} twice")
        declared[name] = keys.decode_key(material, f"the key {name} in {KMS_KEYS_ENV}")
    return declared


def not_found(key_id: str) -> S3Error:
    return S3Error("KMS.NotFoundException", f"Invalid keyId '{key_id}'")


class BuiltinKms:
    """The built-in KeyService: named AES-256 keys sealed by the master key, kept in a KeyStore."""

    def __init__(self, master: keys.MasterKey, store: KeyStore, region: str = "us-east-1",
                 account_id: str = "000000000000") -> None:
        self._master, self._store = master, store
        self._kek = master.derive(_KEK_PURPOSE)
        self.region, self.account_id = region, account_id
        self._keys: dict[str, tuple[KeyInfo, bytes]] = {}
        self._loaded_at = float("-inf")

    # -- start and cache --------------------------------------------------------------------------

    async def start(self, declared: Mapping[str, bytes] | None = None) -> None:
        """Load the stored keys and add the declared ones; ValueError if a declared key differs from its stored one."""
        await self.refresh()
        for name, material in (declared or {}).items():
            stored = await self._add(name, material, "declared in " + KMS_KEYS_ENV)
            if self._keys[stored.key_id][1] != material:
                raise ValueError(f"the key {name} declared in {KMS_KEYS_ENV} differs from the stored key {name}")

    async def refresh(self) -> None:
        """Reload every key from the store (another front-end may have added or disabled one)."""
        records = await self._store.load()
        self._keys = {key_id: self._open(key_id, record) for key_id, record in records.items()}
        self._loaded_at = time.monotonic()

    def _open(self, key_id: str, record: Record) -> tuple[KeyInfo, bytes]:
        material = keys.unseal_key(self._kek, keys.decode(record["sealed"]), {"kms-key": key_id})
        info = KeyInfo(key_id, self.arn(key_id), bool(record.get("enabled", True)),
                       record.get("description", ""), float(record.get("created", 0.0)))
        return info, material

    def _record(self, info: KeyInfo, material: bytes) -> Record:
        sealed = keys.seal_key(self._kek, material, {"kms-key": info.key_id})
        return {"sealed": keys.encode(sealed), "enabled": info.enabled,
                "description": info.description, "created": info.created}

    async def _add(self, key_id: str, material: bytes, description: str) -> KeyInfo:
        info = KeyInfo(key_id, self.arn(key_id), True, description, time.time())
        stored = await self._store.add(key_id, self._record(info, material))
        self._keys[key_id] = self._open(key_id, stored)
        return self._keys[key_id][0]

    # -- names ------------------------------------------------------------------------------------

    def arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:key/{key_id}"

    def _name(self, key_id: str) -> str:
        """The key name an id, key ARN, alias/<name> or alias ARN refers to."""
        m = _ARN.match(key_id)
        if m:
            region, account, _, name = m.groups()
            if region != self.region or account != self.account_id:
                raise S3Error("KMS.NotFoundException", f"Invalid arn {region}")
            return name
        return key_id[len("alias/"):] if key_id.startswith("alias/") else key_id

    async def _find(self, key_id: str) -> tuple[KeyInfo, bytes]:
        name = self._name(key_id)
        # A key made by another front-end is found by reloading; bogus ids cannot make every request reload.
        if name not in self._keys and time.monotonic() - self._loaded_at >= C.KMS_RELOAD_MIN_S:
            await self.refresh()
        if name not in self._keys and name == DEFAULT_KEY_ID:
            await self._add(name, self._master.derive(_DEFAULT_PURPOSE),
                            "Default key that protects my S3 objects when no other key is defined")
        if name not in self._keys:
            raise not_found(key_id)
        return self._keys[name]

    # -- KeyService -------------------------------------------------------------------------------

    async def describe_key(self, key_id: str) -> KeyInfo:
        return (await self._find(key_id))[0]

    async def list_keys(self) -> list[KeyInfo]:
        await self.refresh()
        return [self._keys[k][0] for k in sorted(self._keys)]

    async def create_key(self, key_id: str | None = None, description: str = "") -> KeyInfo:
        name = key_id or str(uuid.uuid4())
        if not _NAME.match(name) or name.startswith("alias/") or name == DEFAULT_KEY_ID:
            raise ValueError(f"invalid KMS key name {name!r}")
        material = keys.new_data_key()
        info = await self._add(name, material, description)
        if self._keys[name][1] != material:
            raise ValueError(f"the KMS key {name} exists already")
        return info

    async def disable_key(self, key_id: str) -> KeyInfo:
        return await self._set_enabled(key_id, False)

    async def enable_key(self, key_id: str) -> KeyInfo:
        return await self._set_enabled(key_id, True)

    async def _set_enabled(self, key_id: str, enabled: bool) -> KeyInfo:
        info, material = await self._find(key_id)
        info = replace(info, enabled=enabled)
        await self._store.update(info.key_id, self._record(info, material))
        self._keys[info.key_id] = (info, material)
        return info

    async def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        info, material = await self._find(key_id)
        if not info.enabled:
            raise S3Error("KMS.DisabledException", f"{info.arn} is disabled.")
        data_key = keys.new_data_key()
        return data_key, keys.seal_key(material, data_key, _aad(info.key_id, context))

    async def decrypt(self, sealed: bytes, key_id: str, context: Mapping[str, str]) -> bytes:
        info, material = await self._find(key_id)
        return keys.unseal_key(material, sealed, _aad(info.key_id, context))


def _aad(key_id: str, context: Mapping[str, str]) -> dict[str, Any]:
    """What a data key sealed by a KMS key authenticates: that key and the encryption context."""
    return {"kms-key": key_id, "context": dict(context)}
