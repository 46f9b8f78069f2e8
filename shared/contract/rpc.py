"""Turning a contract Protocol into an RPC surface: one table of calls, a client side and a server side.

A contract is a `typing.Protocol` whose methods carry `@rpc(...)`. `calls_of` reads it once into
`Call`s (wire name, parameters with their wire names and codecs, whether the call writes, its
result codec). `bind_client` gives a transport class one typed method per call; `ServerTable`
checks, decodes and dispatches incoming calls to implementation functions, and encodes their
results. Both sides use the same `Call`s, so a method exists on both or on neither.

Codecs follow the annotations: a type with `to_wire`/`from_wire` crosses as its document, a list
or tuple of such types as a list of documents, `X | None` as X or null, anything else as JSON.
"""
from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Codec = Callable[[Any], Any] | None        # None: the value crosses as it is
_INT64 = 2 ** 63
_CAMEL = re.compile(r"_([a-z])")


def rpc(*, writes: bool = False, wire: str | None = None, stream: bool = False) -> Callable:
    """Mark a Protocol method as an RPC: `writes` when it can change state, `stream` for acknowledged streams."""
    def mark(fn: Callable) -> Callable:
        fn.__rpc__ = (writes, wire, stream)
        return fn
    return mark


def camel(name: str) -> str:
    """`version_id` -> `versionId`: the wire's spelling of a Python name."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


@dataclass(frozen=True)
class Param:
    name: str
    wire: str
    required: bool
    default: Any
    encode: Codec           # client: value -> wire
    check: Callable[[Any], bool]    # server: is this wire value of the declared shape?


@dataclass(frozen=True)
class Call:
    name: str               # the Python method name
    wire: str               # the method name on the wire
    writes: bool            # a lost reply leaves its outcome unknown
    stream: bool            # results arrive as an acknowledged stream of items
    params: tuple[Param, ...]
    decode: Codec           # client: wire result (or stream item) -> value
    encode_result: Codec    # server: value -> wire

    @property
    def by_wire(self) -> dict[str, Param]:
        return {p.wire: p for p in self.params}


def calls_of(protocol: type) -> dict[str, Call]:
    """Every `@rpc` method of a contract Protocol, by Python name."""
    calls: dict[str, Call] = {}
    for name, fn in vars(protocol).items():
        spec = getattr(fn, "__rpc__", None)
        if spec is None:
            continue
        writes, wire, stream = spec
        hints = typing.get_type_hints(fn)
        params = tuple(_param(p, hints[p.name]) for p in list(inspect.signature(fn).parameters.values())[1:])
        result = hints.get("return")
        item = typing.get_args(result)[0] if stream else result
        calls[name] = Call(name, wire or camel(name), writes, stream, params, _decoder(item), _encoder(item))
    return calls


def _param(p: inspect.Parameter, hint: Any) -> Param:
    required = p.default is inspect.Parameter.empty
    return Param(p.name, camel(p.name), required, None if required else p.default, _encoder(hint), _checker(hint))


# -- codecs from annotations ------------------------------------------------------------------------------
def _optional(hint: Any) -> tuple[Any, bool]:
    """(the type inside `X | None`, whether None is allowed)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else Any), True
    return hint, False


def _item_type(hint: Any) -> Any | None:
    """X for list[X] and tuple[X, ...]; None for anything else."""
    if typing.get_origin(hint) in (list, tuple, collections.abc.Sequence):
        args = typing.get_args(hint)
        return args[0] if args else Any
    return None


def _to_wire(value: Any) -> Any:
    """A record as its document; a document (the daemon works on documents) as it is."""
    to_wire = getattr(value, "to_wire", None)
    return value if to_wire is None else to_wire()


def _encoder(hint: Any) -> Codec:
    inner, nullable = _optional(hint)
    item = _item_type(inner)
    if item is not None and hasattr(item, "to_wire"):
        return lambda values: None if values is None else [_to_wire(v) for v in values]
    if hasattr(inner, "to_wire"):
        return _to_wire
    return None


def _decoder(hint: Any) -> Codec:
    inner, nullable = _optional(hint)
    item = _item_type(inner)
    if item is not None and hasattr(item, "from_wire"):
        decode_item = item.from_wire
        return lambda values: [decode_item(v) for v in values or ()]
    if hasattr(inner, "from_wire"):
        decode = inner.from_wire
        return lambda value: None if value is None else decode(value)
    return None


def _checker(hint: Any) -> Callable[[Any], bool]:
    """A shallow check of a wire value against its declared type; documents are checked by their readers."""
    inner, nullable = _optional(hint)
    origin = typing.get_origin(inner) or inner
    if inner is Any:
        base: Callable[[Any], bool] = lambda v: True    # noqa: E731
    elif origin is bool:
        base = lambda v: type(v) is bool    # noqa: E731
    elif origin is int:
        base = lambda v: type(v) is int and -_INT64 <= v < _INT64    # noqa: E731
    elif origin is float:
        base = lambda v: type(v) in (int, float)    # noqa: E731
    elif origin is str:
        base = lambda v: type(v) is str    # noqa: E731
    elif origin in (list, tuple) or _item_type(inner) is not None:
        base = lambda v: type(v) is list    # noqa: E731
    else:                                   # dict, and dataclasses that cross as documents
        base = lambda v: type(v) is dict    # noqa: E731
    if nullable:
        return lambda v: v is None or base(v)
    return base


# -- the client side ---------------------------------------------------------------------------------------
def bind_client(cls: type, calls: dict[str, Call]) -> type:
    """Give `cls` one method per call, on top of its `rpc_call(wire, writes, args)` and
    `rpc_stream(wire, args, decode)` transport."""
    for call in calls.values():
        setattr(cls, call.name, _client_method(call))
    return cls


def _client_method(call: Call) -> Callable:
    names = [p.name for p in call.params]
    wires = {p.name: (p.wire, p.encode) for p in call.params}
    required = {p.name for p in call.params if p.required}
    # An optional argument given as None (its default) is left off the wire: the daemon fills it in.
    omit_none = {p.name for p in call.params if not p.required and p.default is None}
    decode = call.decode

    def arguments(args: tuple, kwargs: dict) -> dict[str, Any]:
        given = dict(zip(names, args))
        given.update(kwargs)
        if len(args) > len(names) or not required <= given.keys() or not given.keys() <= wires.keys():
            raise TypeError(f"{call.name}() takes {names}; got {len(args)} positional and {sorted(kwargs)}")
        wire: dict[str, Any] = {}
        for name, value in given.items():
            if value is None and name in omit_none:
                continue
            wire_name, encode = wires[name]
            wire[wire_name] = value if encode is None else encode(value)
        return wire

    if call.stream:
        def stream_method(self, *args: Any, **kwargs: Any):
            return self.rpc_stream(call.wire, arguments(args, kwargs), decode)
        stream_method.__name__ = call.name
        return stream_method

    async def method(self, *args: Any, **kwargs: Any) -> Any:
        result = await self.rpc_call(call.wire, call.writes, arguments(args, kwargs))
        return result if decode is None else decode(result)
    method.__name__ = call.name
    return method


# -- the server side ---------------------------------------------------------------------------------------
class BadCall(Exception):
    """A call whose method or arguments do not fit the contract."""


class ServerTable:
    """Incoming calls, by wire name, checked against the contract and run by their implementations.

    An implementation is `async def impl(ctx, *, <the call's Python parameter names>)`; every
    argument is passed, defaults filled from the contract (an implementation's own never apply).
    """

    def __init__(self, calls: dict[str, Call], implementations: dict[str, Callable]) -> None:
        missing = sorted(set(calls) - set(implementations))
        extra = sorted(set(implementations) - set(calls))
        if missing or extra:
            raise TypeError(f"implementations do not match the contract: missing {missing}, unknown {extra}")
        self.calls = {c.wire: c for c in calls.values()}
        self.impls = {calls[name].wire: fn for name, fn in implementations.items()}
        self._params = {c.wire: c.by_wire for c in calls.values()}
        self._defaults = {c.wire: {p.name: p.default for p in c.params if not p.required} for c in calls.values()}
        self._required = {c.wire: {p.wire for p in c.params if p.required} for c in calls.values()}

    def arguments(self, wire: str, args: dict[str, Any]) -> dict[str, Any]:
        """The Python keyword arguments of a call; BadCall naming what does not fit."""
        params = self._params.get(wire)
        if params is None:
            raise BadCall(f"unknown method {wire!r}")
        missing = self._required[wire] - args.keys()
        if missing:
            raise BadCall(f"{wire}: missing {sorted(missing)}")
        kwargs = dict(self._defaults[wire])
        for name, value in args.items():
            param = params.get(name)
            if param is None:
                raise BadCall(f"{wire}: unexpected argument {name!r}")
            if not param.check(value):
                raise BadCall(f"{wire}: argument {name!r} is not of the declared type")
            kwargs[param.name] = value
        return kwargs

    def encode(self, wire: str, result: Any) -> Any:
        encode = self.calls[wire].encode_result
        return result if encode is None or result is None else encode(result)
