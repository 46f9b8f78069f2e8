"""Storage engines of the metadata daemon: the Protocols (base.py), LevelDB (default), memory, PostgreSQL."""
from __future__ import annotations

from dmd.metadata.engine.base import (Cursor, Engine, EngineUnavailable, Op, StoreLocked, View, ensure_system,
                                     has_keys, prefix_cursor, sys_int)
from shared import constants as C

__all__ = ["Cursor", "Engine", "EngineUnavailable", "Op", "StoreLocked", "View", "ensure_system", "has_keys",
           "open_engine", "prefix_cursor", "sys_int"]


def open_engine(backend: str, path: str, engine: str = "leveldb", dsn: str = "",
                pool_size: int = C.PG_POOL_SIZE) -> Engine:
    """The engine of a backend setting: `file` (LevelDB under `path`, or PostgreSQL at `dsn` when
    `engine` is postgres) or `mem` (nothing on disk)."""
    if backend == "mem":
        from dmd.metadata.engine.memory import MemoryEngine
        return MemoryEngine()
    if backend == "file" and engine == "postgres":
        from dmd.metadata.engine.postgres import PostgresEngine
        return PostgresEngine(dsn, pool_size)
    if backend == "file":
        # Imported here: memory mode neither needs plyvel nor touches a directory.
        from dmd.metadata.engine.leveldb import LevelDBEngine
        return LevelDBEngine(path)
    raise ValueError(f"unknown backend {backend!r}: expected one of {', '.join(C.BACKENDS)}")
