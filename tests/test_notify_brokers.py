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


def test_amqp(fresh_cluster):
    pytest.importorskip("aio_pika", reason="the aio-pika package (pyproject dependency) is not installed")
    import asyncio
    import json

    import aio_pika
    from tests.notify_servers import RabbitMqServer
    broker = RabbitMqServer()
    received: list[dict] = []

    async def declare():
        connection = await aio_pika.connect(broker.url)
        channel = await connection.channel()
        exchange = await channel.declare_exchange("coffer", "direct", durable=True)
        queue = await channel.declare_queue("events", durable=True)
        await queue.bind(exchange, "s3")
        await connection.close()

    async def drain():
        connection = await aio_pika.connect(broker.url)
        queue = await (await connection.channel()).declare_queue("events", durable=True)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            received.append(json.loads(message.body))
        await connection.close()

    class Subscriber:
        def records(self):
            asyncio.run(drain())
            return [r for m in received for r in m["Records"]]
    try:
        asyncio.run(declare())
        cluster = fresh_cluster(env={"COFFER_NOTIFY_AMQP_Q_URL": broker.url, "COFFER_NOTIFY_AMQP_Q_EXCHANGE": "coffer",
                                     "COFFER_NOTIFY_AMQP_Q_ROUTING_KEY": "s3", "COFFER_NOTIFY_AMQP_Q_DURABLE": "on",
                                     "COFFER_NOTIFY_AMQP_Q_MANDATORY": "on"})
        _script(cluster, "amqp-bucket", "arn:minio:sqs::Q:amqp", Subscriber())
    finally:
        broker.stop()
