"""Helpers for tests that talk to the metadata daemon directly: a daemon alone, typed and raw clients."""
from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
import socketio

from shared import constants as C
from shared.metadata_client import MetadataClient
from shared.rpc import OrjsonShim, call_message
from tests.cluster import SECRET, Cluster

_ids = itertools.count()


def metadata_only(root: Path) -> Cluster:
    """A cluster running only the metadata daemon."""
    c = Cluster(root)
    c.start_metadata()
    return c


async def connect(c: Cluster, secret: str = SECRET) -> MetadataClient:
    client = MetadataClient("127.0.0.1", c.md_port, secret)
    await client.start()
    assert await client.wait_ready(10), "the metadata client never became ready"
    return client


async def raw_client(c: Cluster, secret: str = SECRET, json: Any = OrjsonShim) -> socketio.AsyncClient:
    """A bare python-socketio client: it acks only what its handlers return.

    `json=json` (the standard module) encodes what orjson refuses to, such as nesting past 254 levels.
    """
    sio = socketio.AsyncClient(reconnection=False, json=json)
    await sio.connect(f"http://127.0.0.1:{c.md_port}", auth={"secret": secret, "client": "raw", "proto": C.RPC_PROTO},
                      transports=["websocket"], namespaces=[C.RPC_NAMESPACE], wait_timeout=10)
    return sio


async def raw_call(sio: socketio.AsyncClient, method: str, args: dict[str, Any], timeout_ms: int = 10_000) -> dict:
    """Send one call message as the wire format has it; return the reply message."""
    msg = call_message(f"raw:{next(_ids)}", method, args, timeout_ms, "test")
    return await sio.call("call", msg, namespace=C.RPC_NAMESPACE, timeout=30)


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> bool:
    """Poll an async predicate until it holds (True) or the patience runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def rss_mib(c: Cluster) -> float:
    return psutil.Process(c.pid("metadata")).memory_info().rss / 2**20


def object_md(key: str, i: int) -> dict:
    """A value shaped like real object metadata (about 600 bytes)."""
    return {"key": key, "content-length": 4096, "content-md5": f"{i:032x}", "content-type": "application/octet-stream",
            "last-modified": "2026-01-01T00:00:00.000Z", "owner-id": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
            "owner-display-name": "Bart", "x-amz-storage-class": "STANDARD", "acl": {"Canned": "private"},
            "location": [{"key": f"{i:040x}", "size": 4096, "start": 0, "dataStoreName": "us-east-1"}],
            "versionId": f"{99999999999999 - i:014d}999999RG001  ", "md-model-version": 1}
