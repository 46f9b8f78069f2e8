"""A process's metadata daemons (METADATA_HOSTS): one connection to each, calls spread over those
connected, and fail-over when one is lost.

The connections share one bucket cache. Each daemon invalidates every client connected to it before
it acknowledges a change, so a change acknowledged by any daemon has left this cache first, as
long as the connection to that daemon is up (otherwise its LISTEN/NOTIFY notice comes through
another daemon just after; design.md §13).

A call goes to the next connected daemon in turn. When a connection drops, the calls in flight on
it fail at once, as on one connection (design.md §1.5): a read is sent again to another daemon (or
to the same one once it is back); a write whose outcome is unknown stays a 503, since sending it
again could apply it twice; a write that never left is sent elsewhere. With one host this is the
single connection's behaviour: calls wait a bounded time for it to come back.
"""
from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import ssl
from collections.abc import AsyncIterator
from typing import Any

from shared import constants as C
from shared.config import Config
from shared.contract.metadata import BucketInfo
from shared.contract.rpc import Codec
from shared.errors import ServiceUnavailable
from shared.metadata_client import WRITE_METHODS, BucketCache, MetadataClient, MetadataCalls
from shared.tls import metadata_context

log = logging.getLogger("coffer.rpc")


class MetadataHosts(MetadataCalls):
    """The contract's typed methods over one connection per metadata daemon of one database."""

    def __init__(self, hosts: list[tuple[str, int]], secret: str, call_timeout: float = C.RPC_CALL_TIMEOUT_S,
                 tls: ssl.SSLContext | None = None) -> None:
        if not hosts:
            raise ValueError("at least one metadata daemon is needed")
        self.cache = BucketCache()
        self.members = [MetadataClient(host, port, secret, call_timeout, tls, cache=self.cache)
                        for host, port in hosts]
        self.call_timeout = call_timeout
        self.db_uuid: str | None = None     # the first daemon's store; a daemon serving another is never used
        self._usable: list[MetadataClient] = []
        self._any_ready = asyncio.Event()
        self._turn = itertools.count()
        self._starting: list[asyncio.Task] = []
        # Identity caches forget on any daemon's notice (main's IAM invalidation, where members have
        # the hook): the front-end's store registers here, once for all the connections.
        self.on_identities_changed: list = []
        for member in self.members:
            member.on_state.append(self._state_changed)
            hooks = getattr(member, "on_identities_changed", None)
            if hooks is not None:
                hooks.append(self._identities_changed)

    async def start(self) -> None:
        """Connect to every daemon, returning once one is connected (as one connection's start does);
        the others go on connecting in the background, and each reconnects by itself for ever."""
        loop = asyncio.get_running_loop()
        self._starting = [loop.create_task(member.start()) for member in self.members]
        done, _ = await asyncio.wait(self._starting, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()                   # a start that failed says why, as with one connection

    async def close(self) -> None:
        for task in self._starting:
            task.cancel()                   # a daemon never reached: stop trying
        await asyncio.gather(*(member.close() for member in self.members))

    @property
    def ready(self) -> bool:
        """At least one daemon connected, its manifest checked."""
        return bool(self._usable)

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._any_ready.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def _identities_changed(self) -> None:
        for callback in self.on_identities_changed:
            callback()

    def _state_changed(self) -> None:
        """A connection came up or went down: recompute the daemons calls may go to."""
        for member in self.members:
            if member.ready and self.db_uuid is None:
                self.db_uuid = member.db_uuid
            elif member.ready and member.db_uuid != self.db_uuid:
                log.error("a metadata daemon serves another database: not used",
                          extra={"daemon": member.url, "db_uuid": member.db_uuid, "expected": self.db_uuid})
        self._usable = [m for m in self.members if m.ready and m.db_uuid == self.db_uuid]
        if self._usable:
            self._any_ready.set()
        else:
            self._any_ready.clear()

    async def _pick(self, timeout: float) -> MetadataClient:
        """The next connected daemon, waiting a bounded time for one when none is."""
        if not self._usable and not await self.wait_ready(min(timeout, C.RPC_RECONNECT_WAIT_S)):
            raise ServiceUnavailable("no metadata daemon is reachable")
        return self._usable[next(self._turn) % len(self._usable)]

    async def rpc_call(self, method: str, writes: bool, args: dict[str, Any], timeout: float | None = None) -> Any:
        """One RPC on some daemon; S3 errors come back as S3Error, lost connections as ServiceUnavailable."""
        timeout = timeout or self.call_timeout
        member = await self._pick(timeout)
        try:
            return await member.send(method, args, timeout)
        except ServiceUnavailable as exc:
            if writes and exc.outcome_unknown:
                raise                       # it may have been applied: only the client may decide to retry
            log.info("metadata call sent again", extra={"method": method, "daemon": member.url, "error": str(exc)})
            return await (await self._pick(timeout)).send(method, args, timeout)

    async def call(self, method: str, timeout: float | None = None, **args: Any) -> Any:
        """One RPC by wire name, arguments and result as documents (raw calls, tools, tests)."""
        return await self.rpc_call(method, method in WRITE_METHODS, args, timeout)

    async def rpc_stream(self, method: str, args: dict[str, Any], decode: Codec) -> AsyncIterator[Any]:
        """A stream call on one daemon (a lost connection ends it; readers restart from their last key)."""
        member = await self._pick(self.call_timeout)
        async for item in member.rpc_stream(method, args, decode):
            yield item

    async def create_read_stream(self, db: str, **range: Any) -> AsyncIterator[tuple[str | None, Any]]:
        member = await self._pick(self.call_timeout)
        async for item in member.create_read_stream(db, **range):
            yield item

    async def get_bucket(self, bucket: str) -> BucketInfo:
        """A bucket's record, from the cache every daemon invalidates before it acknowledges a change."""
        return await self.cache.read(bucket, functools.partial(MetadataCalls.get_bucket, self, bucket))

    def cached_bucket(self, bucket: str) -> BucketInfo | None:
        """A bucket's record if the cache holds it (no call): the access log's view of a refused request."""
        return self.cache.peek(bucket)


def metadata_client(config: Config) -> MetadataHosts:
    """The client of the configured metadata daemons (METADATA_HOSTS, or METADATA_HOST:METADATA_PORT)."""
    return MetadataHosts(list(config.metadata_daemons), config.cluster_secret, tls=metadata_context(config))
