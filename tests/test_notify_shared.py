"""Notifications with two metadata daemons over one PostgreSQL database: one worker sends each outbox
(the lease), records written through either daemon all arrive, and none twice in a steady run; a
run-time target reaches both daemons."""
from __future__ import annotations

from collections import Counter

from tests.notify_servers import WebhookReceiver, put_rules, queue_rule, wait_for
from tests.test_admin_cli import admin_json

ARN = "arn:minio:sqs::S:webhook"


def test_one_worker_per_outbox_across_daemons(fresh_cluster, postgres):
    hook = WebhookReceiver()
    try:
        cluster = fresh_cluster(frontends=2, dsn=postgres.database(), metadata_daemons=2,
                                env={"COFFER_NOTIFY_WEBHOOK_S_ENDPOINT": hook.url})
        clients = [cluster.client(i=0), cluster.client(i=1)]
        clients[0].create_bucket(Bucket="shared-events")
        put_rules(clients[0], "shared-events", queue_rule(ARN, ["s3:ObjectCreated:*"]))
        keys = [f"k{i:03d}" for i in range(40)]
        for i, key in enumerate(keys):
            clients[i % 2].put_object(Bucket="shared-events", Key=key, Body=b"x")    # through both daemons
        wait_for(lambda: {r["s3"]["object"]["key"] for r in hook.records()} >= set(keys), 60)
        counts = Counter(r["s3"]["object"]["key"] for r in hook.records())
        assert set(counts) == set(keys) and max(counts.values()) == 1
        # One daemon sends, the other stands by (each front-end asks its own daemon).
        states = sorted(admin_json(cluster, "--endpoint", f"http://127.0.0.1:{cluster.s3_ports[i]}",
                                   "notify", "status")[0]["state"] for i in range(2))
        assert states == ["online", "standby"]
        # A run-time declaration made through one daemon is applied by the other at once.
        admin_json(cluster, "config", "set", "notify_webhook:late", f"endpoint={hook.url}")
        wait_for(lambda: "notify_webhook:late" in [r["target"] for r in admin_json(
            cluster, "--endpoint", f"http://127.0.0.1:{cluster.s3_ports[1]}", "notify", "status")], 30)
    finally:
        hook.close()
