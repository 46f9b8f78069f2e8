"""The pure parts of bucket notifications: target declarations, rules, records, the XML."""
from __future__ import annotations

import pytest

from s3front.api.notification import parse_notification, render_notification
from shared.errors import S3Error
from shared.notify.record import EventRequest, ObjectFacts, event_record, namespace_key
from shared.notify.rules import Rule, is_event_name, matching, rules_from_wire
from shared.notify.targets import (TargetError, arn_target, make_target, merge, targets_from_env,
                                   targets_from_file)


# -- targets -----------------------------------------------------------------------------------------
def test_env_declares_a_target_with_the_id_as_written():
    [t] = targets_from_env({"COFFER_NOTIFY_WEBHOOK_PRIMARY_ENDPOINT": "http://127.0.0.1:9/x",
                            "COFFER_NOTIFY_WEBHOOK_PRIMARY_AUTH_TOKEN": "tok", "OTHER": "x"})
    assert (t.type, t.id, t.arn) == ("webhook", "PRIMARY", "arn:minio:sqs::PRIMARY:webhook")
    assert t.settings == {"endpoint": "http://127.0.0.1:9/x", "auth_token": "tok"}
    assert t.public_settings()["auth_token"] == "*****"


def test_env_ids_may_hold_underscores_and_keys_are_matched_longest_first():
    [t] = targets_from_env({"COFFER_NOTIFY_REDIS_MY_CACHE_ADDRESS": "127.0.0.1:6379",
                            "COFFER_NOTIFY_REDIS_MY_CACHE_KEY": "events",
                            "COFFER_NOTIFY_REDIS_MY_CACHE_QUEUE_LIMIT": "10"})
    assert (t.id, t.queue_limit, t.format) == ("MY_CACHE", 10, "namespace")


@pytest.mark.parametrize("env, words", [
    ({"COFFER_NOTIFY_FAX_A_ENDPOINT": "x"}, ["unknown target type 'fax'"]),
    ({"COFFER_NOTIFY_WEBHOOK_A_ENDPINT": "http://h/"}, ["COFFER_NOTIFY_WEBHOOK_A_ENDPINT", "ENDPOINT"]),
    ({"COFFER_NOTIFY_WEBHOOK_A_AUTH_TOKEN": "t"}, ["notify_webhook:A", "missing 'endpoint'"]),
    ({"COFFER_NOTIFY_WEBHOOK_A_ENDPOINT": "ftp://h/"}, ["notify_webhook:A", "endpoint", "http|https"]),
    ({"COFFER_NOTIFY_REDIS_A_ADDRESS": "localhost", "COFFER_NOTIFY_REDIS_A_KEY": "k"}, ["HOST:PORT"]),
    ({"COFFER_NOTIFY_REDIS_A_ADDRESS": "h:1", "COFFER_NOTIFY_REDIS_A_KEY": "k",
      "COFFER_NOTIFY_REDIS_A_FORMAT": "json"}, ["format must be 'namespace' or 'access'"]),
    ({"COFFER_NOTIFY_POSTGRES_A_CONNECTION_STRING": "postgresql://h/db", "COFFER_NOTIFY_POSTGRES_A_TABLE": "x;drop"},
     ["table must be a plain SQL identifier"]),
    ({"COFFER_NOTIFY_MQTT_A_BROKER": "tcp://h:1883", "COFFER_NOTIFY_MQTT_A_TOPIC": "t",
      "COFFER_NOTIFY_MQTT_A_QOS": "3"}, ["qos must be 0, 1 or 2"]),
    ({"COFFER_NOTIFY_WEBHOOK_A_ENDPOINT": "http://h/", "COFFER_NOTIFY_WEBHOOK_A_QUEUE_LIMIT": "-1"},
     ["queue_limit must be a positive integer"]),
    ({"COFFER_NOTIFY_WEBHOOK_A_ENDPOINT": "http://h/", "COFFER_NOTIFY_WEBHOOK_A_QUEUE_FULL": "block"},
     ["queue_full must be 'drop' or 'refuse'"]),
    ({"COFFER_NOTIFY_WEBHOOK_A_ENDPOINT": "http://h/", "COFFER_NOTIFY_WEBHOOK_A_ENABLE": "maybe"},
     ["enable must be on or off"]),
    ({"COFFER_NOTIFY_REDIS_A_ADDRESS": "h:1", "COFFER_NOTIFY_REDIS_A_KEY": "k",
      "COFFER_NOTIFY_REDIS_A_BUCKET_EVENTS": "on"}, ["bucket_events needs format 'access'"]),
    ({"COFFER_NOTIFY_MYSQL_A_DSN_STRING": "root@localhost/db", "COFFER_NOTIFY_MYSQL_A_TABLE": "t"},
     ["dsn_string", "USER:PASSWORD@tcp(HOST:PORT)/DATABASE"]),
])
def test_bad_declarations_say_what_is_wrong(env, words):
    with pytest.raises(TargetError) as err:
        targets_from_env(env)
    for word in words:
        assert word in str(err.value)


def test_file_declarations_and_env_override():
    file_targets = targets_from_file({"webhook": {"primary": {"endpoint": "http://a/", "queue_limit": 5}}})
    assert file_targets[0].settings["queue_limit"] == "5"
    env_targets = targets_from_env({"COFFER_NOTIFY_WEBHOOK_primary_ENDPOINT": "http://b/"})
    merged = merge(file_targets, env_targets)
    assert merged["arn:minio:sqs::primary:webhook"].settings == {"endpoint": "http://b/"}
    with pytest.raises(TargetError, match="unknown key 'color'"):
        targets_from_file({"webhook": {"x": {"endpoint": "http://a/", "color": "red"}}})
    with pytest.raises(TargetError, match="must be an object"):
        targets_from_file({"webhook": ["x"]})


def test_arn_parsing():
    assert arn_target("arn:minio:sqs::PRIMARY:webhook") == ("PRIMARY", "webhook")
    assert arn_target("arn:minio:sqs:us-east-1:1:redis") == ("1", "redis")
    assert arn_target("arn:aws:sqs:us-east-1:123:queue") is None
    assert make_target("nats", "n", {"address": "127.0.0.1:4222", "subject": "s"}).queue_key == "nats:n"


# -- rules --------------------------------------------------------------------------------------------
def test_rule_matching_with_wildcards_and_filters():
    rules = [Rule("a", "Queue", "arn:1", ("s3:ObjectCreated:*",), "images/", ".jpg"),
             Rule("b", "Queue", "arn:1", ("s3:ObjectRemoved:Delete",)),
             Rule("c", "Topic", "arn:2", ("s3:ObjectCreated:Put",))]
    assert [r.id for r in matching(rules, "s3:ObjectCreated:Copy", "images/x.jpg")] == ["a"]
    assert [r.id for r in matching(rules, "s3:ObjectCreated:Put", "images/x.jpg")] == ["a", "c"]
    assert [r.id for r in matching(rules, "s3:ObjectCreated:Put", "docs/x.jpg")] == ["c"]
    assert matching(rules, "s3:ObjectRemoved:DeleteMarkerCreated", "x") == []
    assert is_event_name("s3:ObjectRemoved:*") and is_event_name("s3:ObjectAccessed:Get")
    assert not is_event_name("s3:ObjectCreated:Pot") and not is_event_name("ObjectCreated:Put")


# -- records ------------------------------------------------------------------------------------------
def test_event_record_is_aws_shaped():
    req = EventRequest("s3:ObjectCreated:Put", "owner-id", "10.0.0.1", "RID")
    rec = event_record("s3:ObjectCreated:Put", req, "bkt", "owner", "", ObjectFacts("a b/ç+.txt", 5, "e", "v"),
                       "00000000000000FF", "rule1", when=0.25)
    assert rec["eventVersion"] == "2.1" and rec["eventSource"] == "aws:s3" and rec["awsRegion"] == "us-east-1"
    assert rec["eventTime"] == "1970-01-01T00:00:00.250Z" and rec["eventName"] == "ObjectCreated:Put"
    assert rec["userIdentity"] == {"principalId": "owner-id"}
    assert rec["requestParameters"] == {"sourceIPAddress": "10.0.0.1"}
    assert rec["responseElements"]["x-amz-request-id"] == "RID"
    s3 = rec["s3"]
    assert s3["configurationId"] == "rule1"
    assert s3["bucket"] == {"name": "bkt", "ownerIdentity": {"principalId": "owner"}, "arn": "arn:aws:s3:::bkt"}
    assert s3["object"] == {"key": "a+b/%C3%A7%2B.txt", "size": 5, "eTag": "e", "versionId": "v",
                            "sequencer": "00000000000000FF"}
    assert namespace_key(rec) == "bkt/a b/ç+.txt"


# -- the XML ------------------------------------------------------------------------------------------
CONFIG = b"""<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <QueueConfiguration><Id>q</Id><Queue>arn:minio:sqs::1:webhook</Queue><Event>s3:ObjectCreated:*</Event>
    <Filter><S3Key><FilterRule><Name>Prefix</Name><Value>img/</Value></FilterRule>
    <FilterRule><Name>suffix</Name><Value>.png</Value></FilterRule></S3Key></Filter></QueueConfiguration>
  <TopicConfiguration><Topic>arn:minio:sqs::2:redis</Topic><Event>s3:ObjectRemoved:Delete</Event>
    <Event>s3:ObjectRemoved:DeleteMarkerCreated</Event></TopicConfiguration>
</NotificationConfiguration>"""


def test_configuration_round_trip():
    stored = parse_notification(CONFIG)
    rules = rules_from_wire(stored)
    assert rules[0] == Rule("q", "Queue", "arn:minio:sqs::1:webhook", ("s3:ObjectCreated:*",), "img/", ".png")
    assert rules[1].kind == "Topic" and len(rules[1].id) == 32
    body = render_notification(stored).decode()
    assert "<QueueConfiguration><Id>q</Id><Filter><S3Key><FilterRule><Name>Prefix</Name><Value>img/</Value>" in body
    assert "<TopicConfiguration>" in body and "<Topic>arn:minio:sqs::2:redis</Topic>" in body
    assert parse_notification(b"<NotificationConfiguration/>") is None
    assert render_notification(None).endswith(b'<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>')


@pytest.mark.parametrize("body, code, words", [
    (b"<NotificationConfiguration><QueueConfiguration><Queue>a</Queue><Event>s3:Bogus:*</Event>"
     b"</QueueConfiguration></NotificationConfiguration>", "InvalidArgument", "s3:Bogus:*"),
    (b"<NotificationConfiguration><QueueConfiguration><Event>s3:ObjectCreated:*</Event>"
     b"</QueueConfiguration></NotificationConfiguration>", "InvalidArgument", "Queue ARN"),
    (b"<NotificationConfiguration><QueueConfiguration><Queue>a</Queue><Event>s3:ObjectCreated:*</Event><Filter>"
     b"<S3Key><FilterRule><Name>middle</Name><Value>x</Value></FilterRule></S3Key></Filter></QueueConfiguration>"
     b"</NotificationConfiguration>", "InvalidArgument", "prefix or suffix"),
    (b"<NotificationConfiguration><QueueConfiguration><Queue>a</Queue><Event>s3:ObjectCreated:*</Event><Filter>"
     b"<S3Key><FilterRule><Name>prefix</Name><Value>x</Value></FilterRule><FilterRule><Name>prefix</Name>"
     b"<Value>y</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>",
     "InvalidArgument", "more than one prefix"),
    (b"<Other/>", "MalformedXML", ""),
    (b"<NotificationConfiguration><QueueConfiguration>", "MalformedXML", ""),
])
def test_bad_configurations(body, code, words):
    with pytest.raises(S3Error) as err:
        parse_notification(body)
    assert err.value.code == code
    assert words in str(err.value.message)


def test_redis_batches_are_one_command_per_run_of_the_same_command():
    from dmd.metadata.notify.senders.redis_target import RedisSender
    sender = object.__new__(RedisSender)
    sender.key, sender.access = "ns", False

    def entry(name: str, key: str) -> dict:
        request = EventRequest("s3:" + name, "req", "1.2.3.4", "owner")
        return {"record": event_record("s3:" + name, request, "b", "owner", "", ObjectFacts(key, 1, "e"), "1", "r")}
    entries = [entry("ObjectCreated:Put", "a"), entry("ObjectCreated:Put", "b"), entry("ObjectRemoved:Delete", "a"),
               entry("ObjectCreated:Put", "a")]
    commands = sender._commands(entries)
    assert [(c[0], c[1], c[2::2] if c[0] == "HSET" else c[2:]) for c in commands] == [
        ("HSET", "ns", ["b/a", "b/b"]), ("HDEL", "ns", ["b/a"]), ("HSET", "ns", ["b/a"])]
    sender.access = True
    commands = sender._commands(entries)
    assert len(commands) == 1 and commands[0][:2] == ["RPUSH", "ns"] and len(commands[0]) == 6
