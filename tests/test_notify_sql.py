"""Bucket notifications to PostgreSQL and to MariaDB (Debian packages postgresql, mariadb-server), in
both formats: `namespace` keeps a row per object, `access` a row per event."""
from __future__ import annotations

import json

import psycopg
import pytest

from tests.notify_script import check_records, configure, run_script
from tests.notify_servers import MariaDbServer, wait_for


def _run_both_formats(cluster, prefix: str, rows) -> None:
    """The scripted sequence to the access-format and the namespace-format targets `A` and `N`."""
    s3 = cluster.client()
    s3.create_bucket(Bucket=f"{prefix}-log")
    configure(s3, f"{prefix}-log", f"arn:minio:sqs::A:{prefix}")
    expected, marker = run_script(s3, f"{prefix}-log")
    events = wait_for(lambda: len(rows("access")) >= len(expected) and rows("access"))
    records = sorted((r for event in events for r in event["Event"]), key=lambda r: r["s3"]["object"]["sequencer"])
    check_records(records, expected, f"{prefix}-log", marker)
    s3.create_bucket(Bucket=f"{prefix}-ns")
    configure(s3, f"{prefix}-ns", f"arn:minio:sqs::N:{prefix}")
    run_script(s3, f"{prefix}-ns")
    s3.put_object(Bucket=f"{prefix}-ns", Key="docs/last", Body=b"x")
    mirror = wait_for(lambda: (found := dict(rows("namespace"))) and f"{prefix}-ns/docs/last" in found and found)
    assert sorted(mirror) == [f"{prefix}-ns/app.log", f"{prefix}-ns/docs/a b.txt", f"{prefix}-ns/docs/last"]
    latest = mirror[f"{prefix}-ns/docs/a b.txt"]["Records"][0]
    assert latest["eventName"] == "ObjectTagging:Delete" and latest["s3"]["object"]["size"] == 11


def test_postgres_both_formats(fresh_cluster, postgres):
    dsn = postgres.database()
    env = {}
    for name, fmt in (("A", "access"), ("N", "namespace")):
        env.update({f"COFFER_NOTIFY_POSTGRES_{name}_CONNECTION_STRING": dsn,
                    f"COFFER_NOTIFY_POSTGRES_{name}_TABLE": f"events_{fmt}", f"COFFER_NOTIFY_POSTGRES_{name}_FORMAT": fmt})
    cluster = fresh_cluster(env=env)

    def rows(fmt: str):
        try:
            with psycopg.connect(dsn) as conn:
                if fmt == "access":
                    return [r[0] for r in conn.execute("SELECT event_data FROM events_access")]
                return [(k, v) for k, v in conn.execute("SELECT key, value FROM events_namespace")]
        except psycopg.errors.UndefinedTable:
            return []
    _run_both_formats(cluster, "postgres", rows)


@pytest.fixture
def mariadb(tmp_path):
    server = MariaDbServer(tmp_path / "mariadb")
    server.query("CREATE DATABASE events")
    yield server
    server.stop()


def test_mysql_both_formats(fresh_cluster, mariadb):
    env = {}
    for name, fmt in (("A", "access"), ("N", "namespace")):
        env.update({f"COFFER_NOTIFY_MYSQL_{name}_DSN_STRING": f"root:@tcp(127.0.0.1:{mariadb.port})/events",
                    f"COFFER_NOTIFY_MYSQL_{name}_TABLE": f"events_{fmt}", f"COFFER_NOTIFY_MYSQL_{name}_FORMAT": fmt})
    cluster = fresh_cluster(env=env)

    def rows(fmt: str):
        import pymysql      # noqa: PLC0415
        try:
            if fmt == "access":
                return [json.loads(r[0]) for r in mariadb.query("SELECT event_data FROM events_access", "events")]
            return [(k, json.loads(v)) for k, v in mariadb.query("SELECT key_name, value FROM events_namespace",
                                                                 "events")]
        except pymysql.err.ProgrammingError:        # the table is made with the first event
            return []
    _run_both_formats(cluster, "mysql", rows)
