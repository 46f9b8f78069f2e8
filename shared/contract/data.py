"""The front-end <-> data contract: what any data location does, and the router that picks one.

A data location stores immutable byte strings under keys it chooses. `DataBackend` is that, and
nothing more: put a stream and learn its key once it is durable, read it (or a range of it) back as
a stream, delete it, ask its size, list what it holds (for the orphan sweeper), say whether it is
healthy. The data daemon's /DataFile API is one backend (`shared/data_client.py`); others plug in
behind the same Protocol. Objects record, in each `Piece`, the location that holds it, so the
`DataRouter` can send every read and delete to the right backend (docs/design.md, "The data contract").
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Protocol

from shared.contract.records import DEFAULT_LOCATION, INLINE_LOCATION, Piece
from shared.errors import InternalError, ServiceUnavailable

Body = AsyncIterator[bytes] | bytes


class DataStream(Protocol):
    """Bytes being read from a location: iterate them; `aclose` releases the connection, read or not."""

    def ready(self) -> bytes | None:
        """All the bytes at once when they already arrived (small reads), else None."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One key a location holds, as the orphan sweeper sees it."""

    key: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class LocationHealth:
    ok: bool
    detail: str = ""


class DataBackend(Protocol):
    """One data location."""

    async def put(self, body: Body, length: int | None, hint: str | None = None) -> str:
        """Store `length` bytes (None: unknown, read to the end); the new key, once the bytes are durable.

        `hint` ("bucket/key") is what the bytes are for: a location that names what it stores by the
        object (aws_s3) uses it, one that chooses its own keys (the data daemon) ignores it.
        """

    async def get(self, key: str, start: int | None = None, end: int | None = None) -> DataStream:
        """Open bytes [start, end] of a key (all of it by default); the first bytes prove it exists."""

    async def delete(self, key: str) -> None:
        """Delete a key; a missing one counts as deleted."""

    async def size(self, key: str) -> int | None:
        """The size of a key, or None when there is no such key."""

    def list_files(self) -> AsyncIterator[StoredFile]:
        """Every key the location holds, in a stable order."""

    async def health(self) -> LocationHealth: ...

    async def close(self) -> None: ...


class DataRouter:
    """Data locations by name; each piece is read and deleted where it was written.

    With an `inline` backend (shared/data_inline.py), bodies of at most `inline_max` bytes bound for
    one of the `inline_from` locations are kept in their record instead. `backends` names the
    configured locations only: the inline one is built in, never listed, swept or health-checked.
    """

    def __init__(self, backends: dict[str, DataBackend], default: str = DEFAULT_LOCATION,
                 inline: DataBackend | None = None, inline_max: int = 0, inline_from: Collection[str] = ()) -> None:
        if default not in backends:
            raise ValueError(f"the default data location {default!r} is not configured")
        self.backends = backends
        self.default = default
        self.inline, self.inline_max = inline, inline_max if inline is not None else 0
        self.inline_from = frozenset(inline_from)

    def backend(self, location: str) -> DataBackend:
        found = self.backends.get(location)
        if found is None:
            if location == INLINE_LOCATION and self.inline is not None:
                return self.inline
            raise InternalError(f"data location {location!r} is not configured")
        return found

    def kept_inline(self, location: str, length: int | None) -> bool:
        """Whether a body of `length` bytes (None: unknown) bound for `location` is kept in its record."""
        return length is not None and 0 < length <= self.inline_max and location in self.inline_from

    async def put(self, location: str, body: Body, length: int | None, start: int = 0,
                  hint: str | None = None) -> Piece:
        """Store bytes in a location: the piece that names them, `length` bytes long once known."""
        if self.kept_inline(location, length):
            location = INLINE_LOCATION
        backend = self.backend(location)
        try:
            key = await (backend.put(body, length, hint) if hint is not None else backend.put(body, length))
        except (ServiceUnavailable, InternalError) as exc:
            _name_location(exc, location)
            raise
        return Piece(location, key, length or 0, start)

    async def open(self, piece: Piece, first: int, last: int) -> DataStream:
        """Bytes [first, last] of a piece as stored (offsets within its stored bytes: sealed ones if encrypted)."""
        backend = self.backend(piece.location)
        try:
            if first == 0 and last == piece.data_size - 1:
                return await backend.get(piece.key)
            return await backend.get(piece.key, first, last)
        except (ServiceUnavailable, InternalError) as exc:
            _name_location(exc, piece.location)
            raise

    async def delete(self, piece: Piece) -> None:
        try:
            await self.backend(piece.location).delete(piece.key)
        except (ServiceUnavailable, InternalError) as exc:
            _name_location(exc, piece.location)
            raise

    async def size(self, piece: Piece) -> int | None:
        try:
            return await self.backend(piece.location).size(piece.key)
        except (ServiceUnavailable, InternalError) as exc:
            _name_location(exc, piece.location)
            raise

    async def health(self, timeout: float | None = None) -> dict[str, LocationHealth]:
        """Every location's health, asked of all of them at once; one that does not answer within
        `timeout` seconds is not healthy (so a hung remote never holds up the others' answer)."""
        names = list(self.backends)
        found = await asyncio.gather(*(asyncio.wait_for(self.backends[n].health(), timeout) for n in names),
                                     return_exceptions=True)
        return {n: h if isinstance(h, LocationHealth) else LocationHealth(False, _failed(h, timeout))
                for n, h in zip(names, found)}

    async def close(self) -> None:
        for backend in self.backends.values():
            await backend.close()


def _name_location(exc: ServiceUnavailable | InternalError, location: str) -> None:
    """Make a failure's log text name its location (what the client is answered does not change)."""
    name = f"location {location!r}"
    if isinstance(exc, ServiceUnavailable):
        if name not in exc.detail:
            exc.detail = f"{name}: {exc.detail}"
            exc.args = (f"SlowDown: {exc.detail}",)
    elif name not in exc.message:
        exc.message = f"{name}: {exc.message}"
        exc.args = (exc.message,)


def _failed(exc: BaseException, timeout: float | None) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    return f"health check failed: {exc}"
