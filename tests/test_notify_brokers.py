"""Bucket notifications to message brokers: MQTT (mosquitto) and NATS (nats-server, core and JetStream),
from their Debian packages; each gets the scripted sequence, in order."""
from __future__ import annotations

import pytest

from tests.notify_script import check_records, configure, run_script
from tests.notify_servers import MqttSubscriber, NatsSubscriber, mosquitto, nats_server, wait_for


def _script(cluster, bucket: str, arn: str, subscriber) -> None:
    s3 = cluster.client()
    s3.create_bucket(Bucket=bucket)
    configure(s3, bucket, arn)
    expected, marker = run_script(s3, bucket)
    records = wait_for(lambda: len(subscriber.records()) >= len(expected) and subscriber.records())
    check_records(records, expected, bucket, marker)


def test_mqtt(fresh_cluster, tmp_path):
    pytest.importorskip("aiomqtt", reason="the aiomqtt package (pyproject dependency) is not installed")
    broker = mosquitto(tmp_path / "mqtt")
    subscriber = MqttSubscriber(broker.port, "coffer/events")
    try:
        cluster = fresh_cluster(env={"COFFER_NOTIFY_MQTT_M_BROKER": f"tcp://127.0.0.1:{broker.port}",
                                     "COFFER_NOTIFY_MQTT_M_TOPIC": "coffer/events", "COFFER_NOTIFY_MQTT_M_QOS": "1"})
        _script(cluster, "mqtt-bucket", "arn:minio:sqs::M:mqtt", subscriber)
        assert subscriber.messages[0]["EventName"] == "s3:ObjectCreated:Put"
    finally:
        subscriber.close()
        broker.stop()


def test_nats_core_and_jetstream(fresh_cluster, tmp_path):
    pytest.importorskip("nats", reason="the nats-py package (pyproject dependency) is not installed")
    import asyncio
    import nats
    broker = nats_server(tmp_path / "nats")

    async def make_stream():
        nc = await nats.connect(f"nats://127.0.0.1:{broker.port}")
        await nc.jetstream().add_stream(name="EVENTS", subjects=["js.events"])
        await nc.close()
    asyncio.run(make_stream())
    core, stream = NatsSubscriber(broker.port, "core.events"), NatsSubscriber(broker.port, "js.events")
    try:
        address = f"127.0.0.1:{broker.port}"
        cluster = fresh_cluster(env={"COFFER_NOTIFY_NATS_C_ADDRESS": address, "COFFER_NOTIFY_NATS_C_SUBJECT": "core.events",
                                     "COFFER_NOTIFY_NATS_J_ADDRESS": address, "COFFER_NOTIFY_NATS_J_SUBJECT": "js.events",
                                     "COFFER_NOTIFY_NATS_J_JETSTREAM": "on"})
        _script(cluster, "nats-core", "arn:minio:sqs::C:nats", core)
        _script(cluster, "nats-js", "arn:minio:sqs::J:nats", stream)
    finally:
        core.close()
        stream.close()
        broker.stop()
