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


def test_a_hung_target_does_not_hold_up_requests(notify_cluster, hook):
    s3 = notify_cluster.client()
    s3.create_bucket(Bucket="slow")
    put_rules(s3, "slow", queue_rule(ARN, ["s3:ObjectCreated:*"]))
    hook.hanging.set()
    for i in range(20):     # each answered while the target holds the first delivery open
        s3.put_object(Bucket="slow", Key=f"k{i}", Body=b"x")
    assert not hook.release.is_set() and not hook.bodies
    hook.hanging.clear()
    hook.release.set()
    records = wait_for(lambda: len({r["s3"]["object"]["key"] for r in hook.records()}) == 20 and hook.records(), 60)
    assert {r["s3"]["object"]["key"] for r in records} == {f"k{i}" for i in range(20)}


def test_queue_limit_drops_the_oldest(fresh_cluster, hook):
    from tests.test_admin_cli import admin_json
    cluster = fresh_cluster(env={"COFFER_NOTIFY_WEBHOOK_T1_ENDPOINT": hook.url, "COFFER_NOTIFY_WEBHOOK_T1_QUEUE_LIMIT": "5"})
    s3 = cluster.client()
    s3.create_bucket(Bucket="lim")
    put_rules(s3, "lim", queue_rule(ARN, ["s3:ObjectCreated:*"]))
    hook.failing = True
    for i in range(12):
        s3.put_object(Bucket="lim", Key=f"k{i:02d}", Body=b"x")
    [row] = wait_for(lambda: [r for r in admin_json(cluster, "notify", "status") if r["dropped"] >= 7])
    assert row["dropped"] == 7 and row["queued"] == 5 and row["state"] == "offline"
    hook.failing = False
    wait_for(lambda: len(hook.records()) >= 5)
    assert sorted({r["s3"]["object"]["key"] for r in hook.records()}) == [f"k{i:02d}" for i in range(7, 12)]


def test_queue_limit_refuses_writes_when_asked(fresh_cluster, hook):
    cluster = fresh_cluster(env={"COFFER_NOTIFY_WEBHOOK_T1_ENDPOINT": hook.url, "COFFER_NOTIFY_WEBHOOK_T1_QUEUE_LIMIT": "3",
                                 "COFFER_NOTIFY_WEBHOOK_T1_QUEUE_FULL": "refuse"})
    s3 = cluster.client()
    s3.create_bucket(Bucket="full")
    put_rules(s3, "full", queue_rule(ARN, ["s3:ObjectCreated:*"]))
    hook.failing = True
    for i in range(3):
        s3.put_object(Bucket="full", Key=f"k{i}", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket="full", Key="k3", Body=b"x")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert err.value.response["Error"]["Code"] == "SlowDown"
    assert "k3" not in [o["Key"] for o in s3.list_objects_v2(Bucket="full").get("Contents", [])]
    hook.failing = False
    wait_for(lambda: len(hook.records()) >= 3)

    def accepted():
        try:
            s3.put_object(Bucket="full", Key="k3", Body=b"x")
            return True
        except ClientError:
            return False
    wait_for(accepted, 30, "the queue to drain")


def test_lifecycle_expirations_name_what_they_did(notify_cluster, hook):
    """The lifecycle worker's deletes (made here as it makes them: a metadata call with the event named)."""
    import asyncio

    from shared.notify.record import EventRequest
    from tests.rpc_helpers import connect
    s3 = notify_cluster.client()
    s3.create_bucket(Bucket="life")
    s3.put_bucket_versioning(Bucket="life", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="life", Key="old", Body=b"x")
    put_rules(s3, "life", queue_rule(ARN, ["s3:LifecycleExpiration:*"]))
    expire = EventRequest("s3:LifecycleExpiration:Delete", "lifecycle", "", "")

    async def run():
        client = await connect(notify_cluster)
        try:
            made = await client.delete_object("life", "old", event=expire)       # a marker in a versioned bucket
            await client.delete_object("life", "old", made.version_id, event=expire)   # and that version, for good
        finally:
            await client.close()
    asyncio.run(run())
    records = wait_for(lambda: len(hook.records()) >= 2 and hook.records())
    assert [r["eventName"] for r in records] == ["LifecycleExpiration:DeleteMarkerCreated", "LifecycleExpiration:Delete"]


def test_bucket_events_for_targets_subscribed_at_the_service_level(fresh_cluster, hook):
    cluster = fresh_cluster(env={"COFFER_NOTIFY_WEBHOOK_SVC_ENDPOINT": hook.url,
                                 "COFFER_NOTIFY_WEBHOOK_SVC_BUCKET_EVENTS": "on",
                                 "COFFER_NOTIFY_WEBHOOK_OTHER_ENDPOINT": hook.url + "?other"})
    s3 = cluster.client()
    s3.create_bucket(Bucket="born")
    s3.delete_bucket(Bucket="born")
    records = wait_for(lambda: len(hook.records()) >= 2 and hook.records())
    assert [r["eventName"] for r in records] == ["BucketCreated", "BucketRemoved"]   # once each: one target
    assert all(r["s3"]["bucket"]["name"] == "born" and "object" not in r["s3"] for r in records)
    assert records[0]["userIdentity"]["principalId"] == records[0]["s3"]["bucket"]["ownerIdentity"]["principalId"]
    assert hook.bodies[0]["EventName"] == "s3:BucketCreated" and hook.bodies[0]["Key"] == "born"


def _client_certificate(directory, ca_name: str = "webhook test client CA"):
    """A CA and a client certificate it signed (clientAuth), as PEM files: (ca, cert, key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    now = datetime.datetime.now(datetime.timezone.utc)

    def build(subject, issuer, public_key):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1)))
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_name)])
    ca = build(issuer, issuer, ca_key.public_key()).add_extension(
        x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256())
    cert = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coffer")]), issuer, key.public_key()) \
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False) \
        .sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    paths = [directory / n for n in ("client-ca.pem", "client.pem", "client-key.pem")]
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def test_https_webhook_with_a_client_certificate(fresh_cluster, tmp_path):
    import ssl

    from shared.tls import self_signed
    server_pki = self_signed(tmp_path / "server-pki", ["127.0.0.1"])
    client_ca, client_cert, client_key = _client_certificate(tmp_path)
    hook = WebhookReceiver()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
    tls.verify_mode = ssl.CERT_REQUIRED                 # no client certificate, no delivery
    tls.load_cert_chain(server_pki.cert, server_pki.key)
    hook.server.socket = tls.wrap_socket(hook.server.socket, server_side=True)
    url = hook.url.replace("http://", "https://")
    try:
        cluster = fresh_cluster(env={"SSL_CERT_FILE": str(server_pki.ca),
                                     "COFFER_NOTIFY_WEBHOOK_TLS_ENDPOINT": url,
                                     "COFFER_NOTIFY_WEBHOOK_TLS_CLIENT_CERT": str(client_cert),
                                     "COFFER_NOTIFY_WEBHOOK_TLS_CLIENT_KEY": str(client_key),
                                     "COFFER_NOTIFY_WEBHOOK_BARE_ENDPOINT": url})
        s3 = cluster.client()
        s3.create_bucket(Bucket="tls-hook")
        put_rules(s3, "tls-hook", queue_rule("arn:minio:sqs::TLS:webhook", ["s3:ObjectCreated:*"], "with"),
                  queue_rule("arn:minio:sqs::BARE:webhook", ["s3:ObjectCreated:*"], "without"))
        s3.put_object(Bucket="tls-hook", Key="k", Body=b"x")
        records = wait_for(lambda: hook.records())
        assert [r["s3"]["configurationId"] for r in records] == ["with"]    # the target without a certificate
    finally:
        hook.close()
