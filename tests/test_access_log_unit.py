"""Server access logs: records in AWS's format (access_log_format.py), log object keys, the buffer,
and the BucketLoggingStatus configuration (logging_config.py)."""
from __future__ import annotations

import asyncio
import re
import shlex
from datetime import datetime, timedelta, timezone

import pytest

from s3front import access_log_format as L
from s3front import logging_config as G
from shared.config import DEFAULT_ACCOUNTS
from shared.errors import S3Error

OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
WHEN = datetime(2019, 2, 6, 0, 0, 38, tzinfo=timezone.utc)

# The first record of AWS's documented example log ("Amazon S3 server access log format"), all 27 fields.
AWS_VERSIONING = (
    f"{OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {OWNER} 3E57427F3EXAMPLE "
    'REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - '
    "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 "
    "AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 "
    "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1")
# Its second record: no access point, no ACL needed.
AWS_LOGGING = (
    f"{OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {OWNER} 891CE47D2EXAMPLE "
    'REST.GET.LOGGING_STATUS - "GET /amzn-s3-demo-bucket1?logging HTTP/1.1" 200 - 242 - 11 - "-" "S3Console/0.4" - '
    "9vKBE6vMhrNiWHZmb2L0mXOcqPGzQOI5XLnCtZNPxev+Hf+7tpT6sxDwDty4LHBUOZJG96N1234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 "
    "AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 - - us-east-1")
# The PUT record of the earlier edition of the same page (its first 24 fields; later fields were added at the end).
AWS_PUT_24 = (
    f"{OWNER} awsexamplebucket1 [06/Feb/2019:00:01:57 +0000] 192.0.2.3 {OWNER} DD6CC733AEXAMPLE REST.PUT.OBJECT "
    's3-dg.pdf "PUT /awsexamplebucket1/s3-dg.pdf HTTP/1.1" 200 - - 4406583 41754 28 "-" "S3Console/0.4" - '
    "10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234= SigV4 ECDHE-RSA-AES128-SHA "
    "AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1")


def _versioning_record(**changes: object) -> L.LogRecord:
    record = L.LogRecord(
        bucket_owner=OWNER, bucket="amzn-s3-demo-bucket1", time=WHEN, remote_ip="192.0.2.3", requester=OWNER,
        request_id="3E57427F3EXAMPLE", operation=L.operation_name("GetBucketVersioning"), key=None,
        request_uri="GET /amzn-s3-demo-bucket1?versioning HTTP/1.1", status=200, error_code=None, bytes_sent=113,
        object_size=None, total_time=7, turn_around_time=None, referer=None, user_agent="S3Console/0.4",
        version_id=None, host_id="s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=",
        signature_version="SigV4", cipher_suite="ECDHE-RSA-AES128-GCM-SHA256", authentication_type="AuthHeader",
        host_header="amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com", tls_version="TLSV1.2",
        access_point_arn="arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP", acl_required=True,
        source_region="us-east-1")
    return L.LogRecord(**{**record.__dict__, **changes})


def _fields(line: str) -> list[str]:
    return _TOKENS.findall(line)


_TOKENS = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')


# -- records --------------------------------------------------------------------------------------

def test_a_record_matches_aws_documented_example_field_by_field() -> None:
    line = L.render(_versioning_record())
    got, expected = _fields(line), _fields(AWS_VERSIONING)
    assert len(got) == len(expected) == 27
    for name, mine, theirs in zip(L.FIELDS, got, expected):
        assert mine == theirs, name
    assert line == AWS_VERSIONING


def test_the_second_example_record() -> None:
    record = _versioning_record(request_id="891CE47D2EXAMPLE", operation=L.operation_name("GetBucketLogging"),
                                request_uri="GET /amzn-s3-demo-bucket1?logging HTTP/1.1", bytes_sent=242,
                                total_time=11, access_point_arn=None, acl_required=False,
                                host_id="9vKBE6vMhrNiWHZmb2L0mXOcqPGzQOI5XLnCtZNPxev+Hf+7tpT6sxDwDty4LHBUOZJG96N1234=")
    assert L.render(record) == AWS_LOGGING


def test_a_put_record_matches_the_example_with_sizes_and_a_key() -> None:
    record = _versioning_record(
        bucket="awsexamplebucket1", time=datetime(2019, 2, 6, 0, 1, 57, tzinfo=timezone.utc),
        request_id="DD6CC733AEXAMPLE", operation=L.operation_name("PutObject"), key="s3-dg.pdf",
        request_uri="PUT /awsexamplebucket1/s3-dg.pdf HTTP/1.1", bytes_sent=0, object_size=4406583,
        total_time=41754, turn_around_time=28, cipher_suite="ECDHE-RSA-AES128-SHA", tls_version="TLSV1.1",
        host_id="10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234=",
        host_header="awsexamplebucket1.s3.us-west-1.amazonaws.com", access_point_arn=None, acl_required=False,
        source_region=None)
    fields = _fields(L.render(record))
    assert len(fields) == 26                        # what 26-field parsers (ceph's s3-tests) expect
    assert fields[:24] == _fields(AWS_PUT_24)
    assert fields[24:] == ["-", "-"]


def test_s3_tests_parser_reads_our_records() -> None:
    # ceph's _parse_standard_log_record: brackets become quotes, then shlex, then 26 fields.
    line = L.render(_versioning_record(source_region=None, user_agent='Boto3/1.35 "quoted"', key="a b/c.txt"))
    chunks = shlex.split(line.replace("[", '"').replace("]", '"'))
    assert len(chunks) == 26
    assert chunks[7] == "a%20b/c.txt" and chunks[16] == 'Boto3/1.35 "quoted"' and chunks[25] == "Yes"


def test_absent_fields_are_dashes_and_zero_bytes_sent_is_a_dash() -> None:
    record = L.LogRecord(None, "b", WHEN, None, None, "RID", "REST.GET.OBJECT", None, None, None, None, 0,
                         None, None, None, None, None, None, None, None, None, None, None, None)
    line = L.render(record)
    assert line == '- b [06/Feb/2019:00:00:38 +0000] - - RID REST.GET.OBJECT - "-" - - - - - - "-" "-" - - - - - - - - -'
    assert L.parse(line) == record


def test_records_round_trip_and_stay_on_one_line() -> None:
    nasty = _versioning_record(key="dir/ü key\n\"x\".txt", user_agent='a "b" \\c\n\x00d',
                               referer="http://example.com/?a=1 b", requester="arn:aws:iam::1:user/a b",
                               time=datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=2))))
    line = L.render(nasty)
    assert "\n" not in line and "\x00" not in line
    assert len(_fields(line)) == 27
    back = L.parse(line)
    assert back.user_agent == nasty.user_agent and back.referer == nasty.referer and back.key == nasty.key
    assert back.requester == "arn:aws:iam::1:user/a%20b"          # unquoted fields percent-encode spaces
    assert back.time == nasty.time and "[31/Dec/2024:21:59:59 +0000]" in line
    assert L.parse(AWS_VERSIONING) == _versioning_record()
    with pytest.raises(ValueError):
        L.parse("too few fields")


def test_operation_names() -> None:
    expected = {"GetObject": "REST.GET.OBJECT", "PutObject": "REST.PUT.OBJECT", "HeadObject": "REST.HEAD.OBJECT",
                "CopyObject": "REST.COPY.OBJECT", "ListObjectsV2": "REST.GET.BUCKET",
                "GetBucketVersioning": "REST.GET.VERSIONING", "PutBucketVersioning": "REST.PUT.VERSIONING",
                "GetBucketLogging": "REST.GET.LOGGING_STATUS", "GetBucketPolicy": "REST.GET.BUCKETPOLICY",
                "CreateMultipartUpload": "REST.POST.UPLOADS", "UploadPart": "REST.PUT.PART",
                "CompleteMultipartUpload": "REST.POST.UPLOAD", "DeleteObjects": "REST.POST.MULTI_OBJECT_DELETE",
                "GetBucketEncryption": "REST.GET.ENCRYPTION", "DeleteBucketCors": "REST.DELETE.CORS",
                "GetBucketLifecycleConfiguration": "REST.GET.LIFECYCLE", "GetPublicAccessBlock": "REST.GET.PUBLIC_ACCESS_BLOCK",
                "ListBucketAnalyticsConfigurations": "REST.GET.ANALYTICS", "GetObjectAcl": "REST.GET.ACL"}
    assert {op: L.operation_name(op) for op in expected} == expected
    assert (L.COPY_SOURCE, L.BATCH_DELETE) == ("REST.COPY.OBJECT_GET", "BATCH.DELETE.OBJECT")


# -- log object keys ------------------------------------------------------------------------------

DELIVERED = datetime(2024, 3, 5, 14, 7, 9, tzinfo=timezone.utc)
EVENT = datetime(2024, 3, 4, 23, 59, 1, tzinfo=timezone.utc)


def test_simple_prefix_keys() -> None:
    for key_format in (None, G.SIMPLE):
        key = L.log_object_key("log/", key_format, G.EVENT_TIME, DELIVERED, EVENT, "123456789012", "us-east-1", "src", "ABC")
        assert key == "log/2024-03-05-14-07-09-ABC"
    assert L.log_object_key("", None, G.EVENT_TIME, DELIVERED, EVENT, "a", "r", "b", "ABC") == "2024-03-05-14-07-09-ABC"
    assert re.fullmatch(r"log/2024-03-05-14-07-09-[0-9A-F]{16}",
                        L.log_object_key("log/", None, G.EVENT_TIME, DELIVERED, EVENT, "a", "r", "b"))


def test_partitioned_prefix_keys() -> None:
    event_time = L.log_object_key("log/", G.PARTITIONED, G.EVENT_TIME, DELIVERED, EVENT, "123456789012", "us-east-1", "src", "ABC")
    assert event_time == "log/123456789012/us-east-1/src/2024/03/04/2024-03-04-00-00-00-ABC"
    delivery = L.log_object_key("log/", G.PARTITIONED, G.DELIVERY_TIME, DELIVERED, EVENT, "123456789012", "us-east-1", "src", "ABC")
    assert delivery == "log/123456789012/us-east-1/src/2024/03/05/2024-03-05-14-07-09-ABC"


# -- the buffer -----------------------------------------------------------------------------------

class _Clock:
    def __init__(self) -> None:
        self.now = DELIVERED.timestamp()

    def __call__(self) -> float:
        return self.now


def _buffer(max_records: int = 100, fail: bool = False) -> tuple[L.LogBuffer, list, _Clock]:
    """A buffer whose batches become log objects at once (as the delivering front-end makes them)."""
    written: list[tuple[str, str, bytes]] = []
    clock = _Clock()
    buffer = L.LogBuffer(_collector(written, clock), interval_s=60, max_records=max_records, clock=clock)
    if fail:
        buffer._ship = _failing
    return buffer, written, clock


async def _failing(target: L.LogTarget, records: L.Lines) -> None:
    raise OSError("metadata daemon unavailable")


def _collector(written: list, clock: _Clock) -> L.Ship:
    async def ship(target: L.LogTarget, records: L.Lines) -> None:
        delivered = datetime.fromtimestamp(clock(), timezone.utc)
        written.extend((target.target_bucket, key, body) for key, body in L.log_objects(target, records, delivered))
    return ship


TARGET = L.LogTarget("src", "123456789012", "us-east-1", "logs", "log/")


def test_the_buffer_ships_after_its_interval_and_on_stop() -> None:
    buffer, written, clock = _buffer()
    assert not buffer.add(TARGET, _versioning_record())
    buffer.add(TARGET, _versioning_record(request_id="SECOND"))
    other = L.LogTarget("src2", "123456789012", "us-east-1", "logs", "other/", G.SIMPLE)
    assert asyncio.run(buffer.tick()) == 0 and written == []          # not due yet
    clock.now += 61
    buffer.add(other, _versioning_record(bucket="src2"))               # its own batch starts now
    assert asyncio.run(buffer.tick()) == 1
    assert [(b, k[:24]) for b, k, _ in written] == [("logs", "log/2024-03-05-14-08-10-")]
    lines = written[0][2].decode().splitlines()
    assert lines == [L.render(_versioning_record()), L.render(_versioning_record(request_id="SECOND"))]
    assert buffer.pending() == 1
    assert asyncio.run(buffer.stop()) == 1 and written[1][1].startswith("other/") and buffer.pending() == 0


def test_a_full_batch_is_due_at_once() -> None:
    buffer, written, _ = _buffer(max_records=3)
    assert [buffer.add(TARGET, _versioning_record()) for _ in range(3)] == [False, False, True]
    assert asyncio.run(buffer.tick()) == 1 and len(written[0][2].splitlines()) == 3


def test_event_time_partitions_split_batches_by_day() -> None:
    buffer, written, _ = _buffer()
    target = L.LogTarget("src", "123456789012", "us-east-1", "logs", "log/", G.PARTITIONED, G.EVENT_TIME)
    for when in (EVENT, EVENT + timedelta(seconds=120), EVENT + timedelta(seconds=30)):
        buffer.add(target, _versioning_record(time=when))
    assert asyncio.run(buffer.stop()) == 1
    keys = [k for _, k, _ in written]
    assert keys[0].startswith("log/123456789012/us-east-1/src/2024/03/04/2024-03-04-00-00-00-")
    assert keys[1].startswith("log/123456789012/us-east-1/src/2024/03/05/2024-03-05-00-00-00-")
    assert [len(b.splitlines()) for _, _, b in written] == [2, 1]


def test_a_failed_hand_over_keeps_its_records_and_memory_stays_bounded() -> None:
    buffer, written, clock = _buffer(max_records=5, fail=True)
    for n in range(4):
        buffer.add(TARGET, _versioning_record(request_id=f"R{n}"))
    with pytest.raises(OSError):
        asyncio.run(buffer.stop())
    assert buffer.pending() == 4 and buffer.dropped == 0
    for n in range(4, 20):
        buffer.add(TARGET, _versioning_record(request_id=f"R{n}"))
    assert buffer.pending() == 10 and buffer.dropped == 10            # at most twice max_records
    buffer._ship = _collector(written, clock)                         # the daemon is back
    clock.now += 61
    assert asyncio.run(buffer.tick()) == 1
    ids = [L.parse(line).request_id for line in written[0][2].decode().splitlines()]
    assert ids == [f"R{n}" for n in range(10, 20)]                    # in order, the newest kept


# -- BucketLoggingStatus --------------------------------------------------------------------------

ACCOUNT = DEFAULT_ACCOUNTS[0]


def _status(inner: str = "") -> bytes:
    return f'<BucketLoggingStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</BucketLoggingStatus>'.encode()


def _enabled(extra: str = "", bucket: str = "logs", prefix: str = "log/") -> bytes:
    return _status(f"<LoggingEnabled><TargetBucket>{bucket}</TargetBucket><TargetPrefix>{prefix}</TargetPrefix>"
                   f"{extra}</LoggingEnabled>")


GRANT = ('<TargetGrants><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
         f"<ID>{ACCOUNT.canonical_id}</ID></Grantee><Permission>READ</Permission></Grant></TargetGrants>")


def test_logging_configurations_parse_and_render() -> None:
    assert G.parse_logging(_status(), DEFAULT_ACCOUNTS) is None
    assert G.parse_logging(_enabled(), DEFAULT_ACCOUNTS) == G.LoggingConfig("logs", "log/")
    simple = G.parse_logging(_enabled("<TargetObjectKeyFormat><SimplePrefix/></TargetObjectKeyFormat>"), DEFAULT_ACCOUNTS)
    assert simple == G.LoggingConfig("logs", "log/", key_format=G.SIMPLE)
    partitioned = G.parse_logging(_enabled("<TargetObjectKeyFormat><PartitionedPrefix><PartitionDateSource>DeliveryTime"
                                           "</PartitionDateSource></PartitionedPrefix></TargetObjectKeyFormat>"), DEFAULT_ACCOUNTS)
    assert (partitioned.key_format, partitioned.date_source) == (G.PARTITIONED, G.DELIVERY_TIME)
    default_source = G.parse_logging(_enabled("<TargetObjectKeyFormat><PartitionedPrefix/></TargetObjectKeyFormat>"), DEFAULT_ACCOUNTS)
    assert default_source.date_source == G.EVENT_TIME
    granted = G.parse_logging(_enabled(GRANT), DEFAULT_ACCOUNTS)
    assert granted.grants == ({"type": "CanonicalUser", "id": ACCOUNT.canonical_id, "permission": "READ"},)
    assert G.parse_logging(_enabled(prefix=""), DEFAULT_ACCOUNTS).target_prefix == ""
    for config in (None, simple, partitioned, granted, G.LoggingConfig("logs", "log/")):
        assert G.parse_logging(G.render_logging(config, DEFAULT_ACCOUNTS), DEFAULT_ACCOUNTS) == config
        if config is not None:
            assert G.LoggingConfig.from_dict(config.to_dict()) == config
    rendered = G.render_logging(granted, DEFAULT_ACCOUNTS).decode()
    assert f"<DisplayName>{ACCOUNT.name}</DisplayName>" in rendered
    assert rendered.index("<TargetBucket>") < rendered.index("<TargetGrants>") < rendered.index("<TargetPrefix>")
    assert G.render_logging(None, DEFAULT_ACCOUNTS).decode().endswith(
        '<BucketLoggingStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></BucketLoggingStatus>')


LOGGING_ERRORS = [
    (b"<LoggingStatus/>", "MalformedXML"),
    (b"<BucketLoggingStatus><LoggingEnabled>", "MalformedXML"),
    (_status("<LoggingEnabled><TargetBucket>logs</TargetBucket></LoggingEnabled>"), "MalformedXML"),
    (_status("<LoggingEnabled><TargetPrefix>log/</TargetPrefix></LoggingEnabled>"), "MalformedXML"),
    (_enabled("<TargetObjectKeyFormat><PartitionedPrefix><PartitionDateSource>kaboom</PartitionDateSource>"
              "</PartitionedPrefix></TargetObjectKeyFormat>"), "MalformedXML"),
    (_enabled("<TargetObjectKeyFormat></TargetObjectKeyFormat>"), "MalformedXML"),
    (_enabled("<TargetObjectKeyFormat><SimplePrefix/><PartitionedPrefix/></TargetObjectKeyFormat>"), "MalformedXML"),
    (_enabled(GRANT.replace("READ", "READ_ACP")), "MalformedXML"),
    (_enabled(GRANT.replace(ACCOUNT.canonical_id, "nobody")), "InvalidArgument"),
    (_enabled(GRANT.replace(f"<ID>{ACCOUNT.canonical_id}</ID>", "<EmailAddress>no@example.com</EmailAddress>")),
     "UnresolvableGrantByEmailAddress"),
    (_enabled("<TargetGrants>" + "<Grant><Grantee><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>"
              "<Permission>READ</Permission></Grant>" * 101 + "</TargetGrants>"), "MalformedACLError"),
]


@pytest.mark.parametrize("body,code", LOGGING_ERRORS)
def test_bad_logging_configurations(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as caught:
        G.parse_logging(body, DEFAULT_ACCOUNTS)
    assert caught.value.code == code and caught.value.status == 400


def test_target_bucket_checks() -> None:
    config = G.LoggingConfig("logs", "log/")
    G.check_target(config, ACCOUNT.canonical_id, ACCOUNT.canonical_id)
    G.check_target(G.LoggingConfig("src", "log/"), ACCOUNT.canonical_id, ACCOUNT.canonical_id)   # itself: allowed
    for owner, message in [(None, G.MSG_NO_TARGET), ("someone-else", G.MSG_OTHER_OWNER)]:
        with pytest.raises(S3Error) as caught:
            G.check_target(config, owner, ACCOUNT.canonical_id)
        assert (caught.value.code, caught.value.status, caught.value.message) == \
            ("InvalidTargetBucketForLogging", 400, message)
        assert caught.value.fields["TargetBucket"] == "logs"
