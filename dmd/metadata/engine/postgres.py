"""The PostgreSQL engine (`METADATA_ENGINE=postgres`): every key in one table, read in keyset pages.

The driver is psycopg 3, its synchronous API with psycopg_pool: the Engine protocol is synchronous,
and a blocking engine is only ever called from worker threads, so a thread-safe pool of blocking
connections fits it as it is (an asyncio driver would need a loop hop back from those threads).

One table, `coffer_kv (key bytea PRIMARY KEY, value bytea)`, holds the one ordered key space of
keys.py, sub-level prefixes included: sub-levels are an open set (one per bucket), listings seek
across prefixes, and bytea compares bytewise as LevelDB does, so the btree on `key` gives the
same order and `coffer migrate` is a plain copy. The schema is created and upgraded by the daemon
(MIGRATIONS, recorded in `coffer_schema`) under an advisory lock, so daemons may start together.

Reads run on autocommit connections of one pool; a scan is keyset pages of at most PG_PAGE_MAX rows
(keyset.py): no transaction nor server-side cursor stays open, and memory stays bounded. A batch is
one transaction, pipelined (SET LOCAL synchronous_commit, one DELETE, one INSERT ... ON CONFLICT,
COMMIT: one round trip), its rows touched in key order. Operations under key locks run in a
LockSession (a second pool): transaction-scoped advisory locks, then their writes and one COMMIT,
which releases the locks only once the writes are durable (docs/design.md §13).
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from dmd.metadata import keys
from dmd.metadata.engine.base import SCHEMA_VERSION, EngineUnavailable, Op, ensure_system
from dmd.metadata.engine.keyset import Bound, KeysetView, Pair
from shared import constants as C
from shared.errors import InternalError, ServiceUnavailable

T = TypeVar("T")
TABLE = "coffer_kv"
MIGRATION_LOCK = 0x436F66666572         # "Coffer": the advisory lock that serializes schema upgrades
# Versioned migrations: (version, statements). Never edit one that shipped; append the next.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [f"CREATE TABLE {TABLE} (key bytea PRIMARY KEY, value bytea NOT NULL)",
         "CREATE SEQUENCE coffer_vid_slot"]),
]
_UPSERT = (f"INSERT INTO {TABLE} (key, value) SELECT k, v FROM unnest(%s::bytea[], %s::bytea[]) AS t(k, v) "
           "ORDER BY k ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
_DELETE = f"DELETE FROM {TABLE} WHERE key = ANY(%s::bytea[])"


class StartupError(EngineUnavailable):
    """PostgreSQL cannot be used (unreachable, refused, or a schema newer than this code)."""


def _page_sql(lo: Bound, hi: Bound, reverse: bool) -> tuple[str, list[Any]]:
    where, args = [], []
    if lo[0] is not None:
        where.append("key >= %s" if lo[1] else "key > %s")
        args.append(lo[0])
    if hi[0] is not None:
        where.append("key <= %s" if hi[1] else "key < %s")
        args.append(hi[0])
    sql = f"SELECT key, value FROM {TABLE}" + (" WHERE " + " AND ".join(where) if where else "")
    return sql + (" ORDER BY key DESC" if reverse else " ORDER BY key") + " LIMIT %s", args


def write_batch(conn: psycopg.Connection, ops: list[Op], sync: bool) -> None:
    """The ops of one transaction (the last op on a key wins), pipelined; the caller commits."""
    final: dict[bytes, bytes | None] = {}
    for key, value in ops:
        final[key] = value
    # Sorted: two transactions touching the same rows lock them in the same order (no deadlock).
    dels = sorted(k for k, v in final.items() if v is None)
    puts = sorted((k, v) for k, v in final.items() if v is not None)
    with conn.pipeline():
        conn.execute("SELECT set_config('synchronous_commit', %s, true)", ("on" if sync else "off",))
        if dels:
            conn.execute(_DELETE, (dels,))
        if puts:
            conn.execute(_UPSERT, ([k for k, _ in puts], [v for _, v in puts]))


@contextmanager
def _unavailable() -> Iterator[None]:
    """A lost or refused connection is a 503 (SDKs retry); other database errors are internal."""
    try:
        yield
    except psycopg.errors.LockNotAvailable as exc:     # lock_timeout (an OperationalError: caught first)
        raise InternalError("the call's deadline passed while it waited for a lock", "RequestTimeout") from exc
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise ServiceUnavailable(f"PostgreSQL: {exc}", outcome_unknown=True) from exc
    except psycopg.Error as exc:
        raise InternalError(f"PostgreSQL: {exc}") from exc


class LockSession:
    """One locked operation's transaction: advisory locks in the order taken, then writes and COMMIT."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with _unavailable():
            self._conn = pool.getconn()
        self.committed = False

    def lock(self, lock: int, exclusive: bool, timeout_ms: int | None) -> None:
        """Wait for an advisory lock (held until the transaction ends), at most `timeout_ms`."""
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with _unavailable():
            # 0 would mean "wait forever": a call with a deadline waits at most until it.
            self._conn.execute("SELECT set_config('lock_timeout', %s, true)",
                               (f"{max(timeout_ms, 1)}ms" if timeout_ms is not None else "0",))
            self._conn.execute(f"SELECT {fn}(%s)", (lock,))

    def commit(self, ops: list[Op], sync: bool) -> None:
        """Write the operation's batch and commit: the locks go with the commit, after the writes."""
        if self.committed:
            raise InternalError("a locked operation committed twice")
        self.committed = True
        with _unavailable():
            write_batch(self._conn, ops, sync)
            self._conn.commit()

    def close(self) -> None:
        """Roll back what was not committed (releasing the locks) and give the connection back."""
        try:
            if not self.committed and not self._conn.closed:
                self._conn.rollback()
        except psycopg.Error:
            pass                                  # a broken connection: the pool discards it
        finally:
            self._pool.putconn(self._conn)


class PostgresEngine(KeysetView):
    """The metadata in one PostgreSQL table; safe from any number of threads and daemons."""

    blocking = True     # every call is a network round trip: call it from worker threads only
    first_page, max_page = C.PG_PAGE_FIRST, C.PG_PAGE_MAX

    def __init__(self, dsn: str, pool_size: int = C.PG_POOL_SIZE) -> None:
        self.pool_size = pool_size
        self._dsn, self._closed = dsn, threading.Event()
        self._pool = self._open_pool(dsn, pool_size, autocommit=True, name="reads")
        self._lock_pool = self._open_pool(dsn, pool_size, autocommit=False, name="locks")
        super().__init__(self, b"")
        self._migrate()
        self.db_uuid = ensure_system(self)

    @staticmethod
    def _open_pool(dsn: str, size: int, autocommit: bool, name: str) -> ConnectionPool:
        pool = ConnectionPool(dsn, min_size=1, max_size=size, kwargs={"autocommit": autocommit},
                              open=False, name=name, timeout=C.PG_CONNECT_TIMEOUT_S)
        try:
            pool.open(wait=True, timeout=C.PG_CONNECT_TIMEOUT_S)
        except PoolTimeout as exc:
            pool.close()
            raise StartupError(f"cannot connect to PostgreSQL at {_redacted(dsn)} within "
                               f"{C.PG_CONNECT_TIMEOUT_S:.0f} s (is it running, and does METADATA_DSN "
                               "name a database this user may use?)") from exc
        return pool

    def _migrate(self) -> None:
        """Create or upgrade the schema, one versioned step at a time, one daemon at a time."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS coffer_schema (version int PRIMARY KEY, "
                         "applied timestamptz NOT NULL DEFAULT now())")
            row = conn.execute("SELECT coalesce(max(version), 0) FROM coffer_schema").fetchone()
            current = row[0] if row else 0
            if current > MIGRATIONS[-1][0]:
                raise StartupError(f"the database's schema is version {current}, newer than this Coffer "
                                   f"knows ({MIGRATIONS[-1][0]}): upgrade Coffer")
            for version, statements in MIGRATIONS:
                if version > current:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO coffer_schema (version) VALUES (%s)", (version,))
            # The store's identity, written once even when daemons start together (ensure_system reads it).
            conn.execute(f"INSERT INTO {TABLE} VALUES (%s, %s), (%s, %s) ON CONFLICT DO NOTHING",
                         (keys.sys_key("schema"), str(SCHEMA_VERSION).encode(),
                          keys.sys_key("db_uuid"), _new_uuid()))

    def _read(self, fn: Callable[[psycopg.Connection], T]) -> T:
        """A read on a pooled connection, tried again once on a fresh one (a restart drops them all)."""
        for attempt in (1, 2):
            try:
                with _unavailable(), self._pool.connection() as conn:
                    return fn(conn)
            except ServiceUnavailable:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def read(self, key: bytes) -> bytes | None:
        row = self._read(lambda conn: conn.execute(f"SELECT value FROM {TABLE} WHERE key = %s",
                                                   (key,)).fetchone())
        return row[0] if row else None

    def page(self, lo: Bound, hi: Bound, reverse: bool, n: int) -> list[Pair]:
        sql, args = _page_sql(lo, hi, reverse)
        return self._read(lambda conn: conn.execute(sql, (*args, n)).fetchall())

    def view(self, prefix: bytes) -> KeysetView:
        return KeysetView(self, prefix)

    def apply(self, ops: list[Op], sync: bool) -> None:
        """One transaction: every op or none (a lost connection before COMMIT's reply: unknown)."""
        with _unavailable(), self._pool.connection() as conn, conn.transaction():
            write_batch(conn, ops, sync)

    def lock_session(self) -> LockSession:
        """A transaction to hold one operation's advisory locks and commit its writes."""
        return LockSession(self._lock_pool)

    def vid_slot(self) -> int:
        """This daemon's slot of the version-id sequence (daemons started together get distinct ones)."""
        row = self._read(lambda conn: conn.execute("SELECT nextval('coffer_vid_slot')").fetchone())
        return int(row[0]) % C.PG_VID_SLOTS

    def notify(self, channel: str, payload: str) -> None:
        """Tell every daemon listening on `channel` (LISTEN/NOTIFY), this one included."""
        self._read(lambda conn: conn.execute("SELECT pg_notify(%s, %s)", (channel, payload)))

    def listen(self, channel: str, deliver: Callable[[str], None]) -> None:
        """Call `deliver(payload)` from a thread of its own for every notification on `channel`."""
        threading.Thread(target=self._listen, args=(channel, deliver), name="md-listen", daemon=True).start()

    def _listen(self, channel: str, deliver: Callable[[str], None]) -> None:
        """One connection LISTENing; a lost one is opened again (what was sent meanwhile is lost)."""
        while not self._closed.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f'LISTEN "{channel}"')
                    while not self._closed.is_set():
                        for note in conn.notifies(timeout=1.0):
                            deliver(note.payload)
            except psycopg.Error:
                self._closed.wait(1.0)

    def close(self) -> None:
        self._closed.set()
        self._lock_pool.close()
        self._pool.close()


def _new_uuid() -> bytes:
    return str(uuid.uuid4()).encode()


def _redacted(dsn: str) -> str:
    """A DSN as logs may show it: without its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an unparsable METADATA_DSN)"
    return " ".join(f"{k}={v}" for k, v in info.items() if k != "password")
