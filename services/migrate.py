"""`coffer migrate --from leveldb:PATH --to postgres:DSN`: copy a metadata store, then verify it.

Every key is copied as it is (the key layout is the same on every engine, the system sub-level included, so the
store keeps its db_uuid), in batches, into a destination that must be empty; then both stores are
read again in key order and compared by count and by a SHA-256 over every (key, value). The source
is opened as its daemon would open it: a LevelDB still in use by a metadata daemon is refused.
"""
from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

from dmd.metadata import keys
from dmd.metadata.engine import Engine, EngineUnavailable, open_engine

BATCH = 1000            # keys per destination transaction
PROGRESS_EVERY = 10_000


def open_store(spec: str) -> Engine:
    """`leveldb:PATH` (the metadata directory) or `postgres:postgresql://...`."""
    kind, _, where = spec.partition(":")
    if not where or kind not in ("leveldb", "postgres"):
        raise SystemExit(f"coffer migrate: {spec!r} is not leveldb:PATH nor postgres:postgresql://...")
    if kind == "leveldb" and not (Path(where) / "rootDB").is_dir():
        raise SystemExit(f"coffer migrate: {where} holds no LevelDB metadata store (no rootDB directory)")
    try:
        if kind == "leveldb":
            return open_engine("file", where)
        return open_engine("file", "", engine="postgres", dsn=where, pool_size=2)
    except EngineUnavailable as exc:
        raise SystemExit(f"coffer migrate: {exc}") from None


def _pairs(engine: Engine) -> Iterator[tuple[bytes, bytes]]:
    with engine.cursor() as cursor:
        yield from cursor


def _user_keys(engine: Engine) -> int:
    """Keys outside the system sub-level (which every new store has)."""
    return sum(1 for key, _ in _pairs(engine) if not key.startswith(keys.SYS))


def summary(engine: Engine) -> tuple[int, str]:
    """(number of keys, SHA-256 of every length-prefixed key and value in key order)."""
    digest, count = hashlib.sha256(), 0
    for key, value in _pairs(engine):
        for part in (key, value):
            digest.update(len(part).to_bytes(8, "big") + part)
        count += 1
    return count, digest.hexdigest()


def copy(src: Engine, dst: Engine, out=sys.stderr) -> int:
    """Copy every key of `src` into `dst` in batches; the number of keys copied."""
    batch: list[tuple[bytes, bytes | None]] = []
    copied = 0
    for pair in _pairs(src):
        batch.append(pair)
        if len(batch) == BATCH:
            dst.apply(batch, sync=False)
            copied += len(batch)
            batch = []
            if copied % PROGRESS_EVERY == 0:
                print(f"\rcopied {copied:,} keys", end="", file=out, flush=True)
    dst.apply(batch, sync=True)          # the last batch syncs: everything before it is durable too
    copied += len(batch)
    print(f"\rcopied {copied:,} keys", file=out, flush=True)
    return copied


def run_migrate(source: str, destination: str) -> int:
    """Copy, then verify; 0 when both stores hold the same keys and values."""
    src, dst = open_store(source), None
    try:
        dst = open_store(destination)
        held = _user_keys(dst)
        if held:
            print(f"coffer migrate: the destination already holds {held} keys; migrate into an empty store",
                  file=sys.stderr)
            return 1
        copy(src, dst)
        expected, got = summary(src), summary(dst)
        if expected != got:
            print(f"coffer migrate: verification FAILED: source {expected[0]} keys sha256 {expected[1]}, "
                  f"destination {got[0]} keys sha256 {got[1]}", file=sys.stderr)
            return 1
        print(f"verified: {got[0]} keys, sha256 {got[1]}", file=sys.stderr)
        return 0
    finally:
        src.close()
        if dst is not None:
            dst.close()
