"""Bucket notifications end to end to a webhook: the S3 API, the records, and delivery at least once."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.notify_script import check_records, configure, run_script
from tests.notify_servers import WebhookReceiver, put_rules, queue_rule, wait_for

ARN = "arn:minio:sqs::T1:webhook"


@pytest.fixture
def hook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def notify_cluster(fresh_cluster, hook):
    return fresh_cluster(env={"COFFER_NOTIFY_WEBHOOK_T1_ENDPOINT": hook.url,
                              "COFFER_NOTIFY_WEBHOOK_T1_AUTH_TOKEN": "s3cret"})


def test_scripted_sequence_arrives_in_order(notify_cluster, hook):
    s3 = notify_cluster.client()
    s3.create_bucket(Bucket="whk")
    configure(s3, "whk", ARN)
    expected, marker = run_script(s3, "whk")
    records = wait_for(lambda: len(hook.records()) >= len(expected) and hook.records())
    check_records(records, expected, "whk", marker)
    body, headers = hook.bodies[0], hook.headers[0]
    assert body["EventName"] == "s3:ObjectCreated:Put" and body["Key"] == "whk/docs/a b.txt"
    assert headers["Authorization"] == "Bearer s3cret"


def test_configuration_round_trip_and_errors(notify_cluster):
    s3 = notify_cluster.client()
    s3.create_bucket(Bucket="cfg")
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket="cfg")
    put_rules(s3, "cfg", queue_rule(ARN, ["s3:ObjectCreated:*"], "r1", prefix="a/", suffix=".x"))
    got = s3.get_bucket_notification_configuration(Bucket="cfg")["QueueConfigurations"]
    assert got == [{"Id": "r1", "QueueArn": ARN, "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "a/"},
                                                       {"Name": "Suffix", "Value": ".x"}]}}}]
    with pytest.raises(ClientError) as err:
        put_rules(s3, "cfg", queue_rule("arn:minio:sqs::NOPE:webhook", ["s3:ObjectCreated:*"]))
    assert err.value.response["Error"]["Code"] == "InvalidArgument"
    assert "arn:minio:sqs::NOPE:webhook" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        put_rules(s3, "cfg", queue_rule(ARN, ["s3:ObjectCreated:Nope"]))
    assert err.value.response["Error"]["Code"] == "InvalidArgument"
    # The refused configurations left the stored one as it was; an empty one removes it.
    assert s3.get_bucket_notification_configuration(Bucket="cfg")["QueueConfigurations"][0]["Id"] == "r1"
    s3.put_bucket_notification_configuration(Bucket="cfg", NotificationConfiguration={})
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket="cfg")
    alt = notify_cluster.client("accessKey2", "verySecretKey2")
    with pytest.raises(ClientError) as err:
        alt.get_bucket_notification_configuration(Bucket="cfg")
    assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_object_accessed_events(notify_cluster, hook):
    s3 = notify_cluster.client()
    s3.create_bucket(Bucket="acc")
    s3.put_object(Bucket="acc", Key="k", Body=b"abc")        # before the rules: no event
    put_rules(s3, "acc", queue_rule(ARN, ["s3:ObjectAccessed:*"], "reads"))
    s3.get_object(Bucket="acc", Key="k")["Body"].read()
    s3.head_object(Bucket="acc", Key="k")
    records = wait_for(lambda: len(hook.records()) >= 2 and hook.records())
    assert sorted(r["eventName"] for r in records) == ["ObjectAccessed:Get", "ObjectAccessed:Head"]
    assert all(r["s3"]["object"]["size"] == 3 for r in records)
