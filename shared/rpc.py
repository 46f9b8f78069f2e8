"""The RPC wire format between front-ends and the metadata daemon (design.md §1.4)."""
from __future__ import annotations

from typing import Any

import orjson
from socketio.packet import Packet

from shared.errors import InternalError, S3Error


class OrjsonShim:
    """The `json` module python-socketio is given: orjson, with `dumps` returning str as it expects."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(s: str | bytes, **_: Any) -> Any:
        return orjson.loads(s)


class JsonPacket(Packet):
    """The socket.io packet class for our JSON-only protocol (orjson cannot even encode bytes).

    Turning binary events off skips python-socketio's recursive walk of every payload in search
    of bytes: it took 30 % of the daemon's CPU on listing pages (measured, bench/metadata.py).
    """

    uses_binary_events = False


def encoding_error(packet: Any) -> str | None:
    """Why orjson cannot encode `packet` (an integer past 64 bits, nesting past 254 levels...), or None.

    For the rare batch that failed to encode: its items are checked one by one, each wrapped as the
    packet carries it, so that one bad item fails alone and the others still go (no cost otherwise).
    """
    try:
        orjson.dumps(packet)
    except orjson.JSONEncodeError as exc:
        return str(exc)
    return None


def call_message(call_id: str, method: str, args: dict[str, Any], timeout_ms: int, req: str) -> dict[str, Any]:
    return {"v": 1, "id": call_id, "method": method, "args": args, "timeout_ms": timeout_ms, "req": req}


def ok_reply(call_id: str, result: Any) -> dict[str, Any]:
    return {"id": call_id, "ok": True, "result": result}


def error_reply(call_id: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, (S3Error, InternalError)):
        err = exc.to_wire()
    else:
        err = InternalError(f"{type(exc).__name__}: {exc}").to_wire()
    return {"id": call_id, "ok": False, "error": err}
