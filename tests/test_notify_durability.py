"""At least once: with the target down, acknowledged writes keep their events across kill -9 of the
metadata daemon and of the front-end, and every one arrives, in per-key order, once the target is back."""
from __future__ import annotations

import hashlib
import threading
import time

from tests.notify_servers import WebhookReceiver, put_rules, queue_rule, wait_for

ARN = "arn:minio:sqs::D:webhook"
WRITERS, WRITES = 8, 125         # 1,000 writes; each writer owns 3 keys and writes them in turn


def _writer(cluster, n: int, acked: list, stop: threading.Event) -> None:
    s3 = cluster.client()
    for i in range(WRITES):
        key = f"w{n}/k{i % 3}"
        body = _body(key, i)
        while not stop.is_set():
            try:
                s3.put_object(Bucket="dur", Key=key, Body=body)
                acked.append((key, i))
                break
            except Exception:       # noqa: BLE001 - a daemon is down: not acknowledged, try again
                time.sleep(0.2)


def test_events_survive_kill_9_while_the_target_is_down(fresh_cluster):
    hook = WebhookReceiver()
    hook.failing = True
    try:
        cluster = fresh_cluster(env={"COFFER_NOTIFY_WEBHOOK_D_ENDPOINT": hook.url})
        s3 = cluster.client()
        s3.create_bucket(Bucket="dur")
        put_rules(s3, "dur", queue_rule(ARN, ["s3:ObjectCreated:*"]))
        acked: list[tuple[str, int]] = []
        stop = threading.Event()
        threads = [threading.Thread(target=_writer, args=(cluster, n, acked, stop)) for n in range(WRITERS)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= 300, 120, "300 acknowledged writes")
        cluster.kill("metadata")                    # kill -9 in the middle of the writes
        cluster.start_metadata()
        wait_for(lambda: len(acked) >= 600, 120, "600 acknowledged writes")
        cluster.kill("s3-0")
        cluster.start_frontend()
        for t in threads:
            t.join(180)
        stop.set()
        assert len(acked) == WRITERS * WRITES
        cluster.kill("metadata")                    # once more, with every event still queued
        cluster.start_metadata()
        assert not hook.bodies                      # the target was down all along
        hook.failing = False
        want = set(acked)

        def arrived():
            got = {(r["s3"]["object"]["key"], _sequence_number(r)) for r in hook.records()}
            return want <= got
        wait_for(arrived, 120, "every acknowledged write's event")
        by_key: dict[str, list[int]] = {}
        for record in hook.records():
            key, i = record["s3"]["object"]["key"], _sequence_number(record)
            seen = by_key.setdefault(key, [])
            if i not in seen:
                seen.append(i)                      # duplicates allowed: the first arrival counts
        for key, order in by_key.items():
            assert order == sorted(order), f"{key} arrived out of order: {order}"
        duplicates = len(hook.records()) - sum(len(v) for v in by_key.values())
        print(f"{len(acked)} acknowledged writes, {len(hook.records())} records, {duplicates} duplicates")
    finally:
        hook.close()


def _body(key: str, i: int) -> bytes:
    return f"{key}#{i:04d}".encode()


# Every write's body is distinct: its ETag names the write.
_WRITE_OF_ETAG = {hashlib.md5(_body(f"w{n}/k{i % 3}", i)).hexdigest(): i for n in range(WRITERS) for i in range(WRITES)}


def _sequence_number(record: dict) -> int:
    """Which write of its key a record is about (by its ETag)."""
    return _WRITE_OF_ETAG[record["s3"]["object"]["eTag"]]
