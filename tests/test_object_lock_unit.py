"""Object Lock: documents and headers as AWS parses them, and the retention decisions."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import botocore.session
import pytest
from botocore import parsers, serialize

from s3front.xml import document, parse
from shared.errors import S3Error
from shared.object_lock import (COMPLIANCE, GOVERNANCE, DefaultRetention, LockConfig, Retention, add_years,
                                check_delete, check_lock_allowed, check_lock_config_allowed, check_retention_change,
                                check_versioning_change, require_lock_enabled, config_from_json,
                                config_to_json, legal_hold_nodes, lock_config_nodes, lock_headers, new_version_retention,
                                parse_bypass, parse_legal_hold, parse_lock_config, parse_lock_headers, parse_retention,
                                parse_time, render_time, retention_from_json, retention_nodes, retention_to_json)

UTC = timezone.utc
_MODEL = botocore.session.get_session().get_service_model("s3")
NOW = datetime(2026, 5, 1, tzinfo=UTC).timestamp()
Y2030 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()


def body_of(operation: str, params: dict) -> bytes:
    """The request body botocore sends for an operation."""
    op = _MODEL.operation_model(operation)
    return serialize.create_serializer("rest-xml").serialize_to_request({"Bucket": "b", **params}, op)["body"]


def as_boto3(operation: str, body: bytes) -> dict:
    op = _MODEL.operation_model(operation)
    parsed = parsers.create_parser("rest-xml").parse({"body": body, "headers": {}, "status_code": 200}, op.output_shape)
    parsed.pop("ResponseMetadata")
    return parsed


def error(fn, *args) -> S3Error:
    with pytest.raises(S3Error) as info:
        fn(*args)
    return info.value


def put_config(conf: dict):
    return parse_lock_config(parse(body_of("PutObjectLockConfiguration", {"ObjectLockConfiguration": conf})))


def put_retention(retention: dict, now: float = NOW):
    return parse_retention(parse(body_of("PutObjectRetention", {"Key": "k", "Retention": retention})), now)


def put_hold(status: str):
    return parse_legal_hold(parse(body_of("PutObjectLegalHold", {"Key": "k", "LegalHold": {"Status": status}})))


# -- the bucket configuration -----------------------------------------------------------------------
@pytest.mark.parametrize("conf", [
    {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}},
    {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}},
    {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 36500}}},
    {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 100}}},
    {"ObjectLockEnabled": "Enabled"},
])
def test_configuration_round_trip(conf):
    """s3-tests test_object_lock_get_obj_lock: the configuration comes back as it was put."""
    config = put_config(conf)
    got = as_boto3("GetObjectLockConfiguration", document("ObjectLockConfiguration", lock_config_nodes(config)))
    assert got["ObjectLockConfiguration"] == conf
    assert config_from_json(config_to_json(config)) == config


@pytest.mark.parametrize("retention, code, message, argument", [
    ({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, "MalformedXML", None, None),
    ({"Mode": "abc", "Years": 1}, "MalformedXML", None, None),
    ({"Mode": "governance", "Years": 1}, "MalformedXML", None, None),
    ({"Mode": "GOVERNANCE"}, "MalformedXML", None, None),
    ({"Days": 1}, "MalformedXML", None, None),
    # AWS answers InvalidArgument here (s3-tests expects RGW's InvalidRetentionPeriod)
    ({"Mode": "GOVERNANCE", "Days": 0}, "InvalidArgument", "Default retention period must be a positive integer value.", "Days"),
    ({"Mode": "GOVERNANCE", "Years": -1}, "InvalidArgument", "Default retention period must be a positive integer value.", "Years"),
    ({"Mode": "GOVERNANCE", "Days": 36501}, "InvalidArgument", "Default retention period too large.", "Days"),
    ({"Mode": "GOVERNANCE", "Years": 101}, "InvalidArgument", "Default retention period too large.", "Years"),
])
def test_refused_default_retention(retention, code, message, argument):
    err = error(put_config, {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}})
    assert (err.code, err.status) == (code, 400)
    if message:
        assert err.message == message and err.fields["ArgumentName"] == argument


@pytest.mark.parametrize("body", [
    b"<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>",
    b"<ObjectLockConfiguration/>",
    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule/></ObjectLockConfiguration>",
    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Other/></ObjectLockConfiguration>",
    b"<ObjectLock><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLock>",
    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
    b"<Mode>GOVERNANCE</Mode><Days>x</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
])
def test_malformed_configuration(body):
    assert error(parse_lock_config, parse(body)).code == "MalformedXML"


# -- retention and legal hold documents -------------------------------------------------------------
def test_retention_round_trip():
    """s3-tests test_object_lock_put_obj_retention: GetObjectRetention gives back the same retention."""
    retention = {"Mode": "GOVERNANCE", "RetainUntilDate": datetime(2140, 1, 1, tzinfo=UTC)}
    parsed = put_retention(retention)
    assert parsed == Retention(GOVERNANCE, datetime(2140, 1, 1, tzinfo=UTC).timestamp())
    got = as_boto3("GetObjectRetention", document("Retention", retention_nodes(parsed)))
    assert got["Retention"] == retention
    assert retention_from_json(retention_to_json(parsed)) == parsed and retention_from_json(None) is None


def test_retention_refusals():
    past = datetime(2020, 1, 1, tzinfo=UTC)
    for mode in ("governance", "abc"):             # s3-tests test_object_lock_put_obj_retention_invalid_mode
        assert error(put_retention, {"Mode": mode, "RetainUntilDate": datetime(2030, 1, 1, tzinfo=UTC)}).code == "MalformedXML"
    err = error(put_retention, {"Mode": "GOVERNANCE", "RetainUntilDate": past})
    assert (err.code, err.message) == ("InvalidArgument", "The retain until date must be in the future!")
    for body in (b"<Retention><Mode>GOVERNANCE</Mode></Retention>",
                 b"<Retention><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>",
                 b"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>soon</RetainUntilDate></Retention>",
                 b"<Ret/>"):
        assert error(parse_retention, parse(body), NOW).code == "MalformedXML"


def test_empty_retention_removes_it():
    assert parse_retention(parse(b"<Retention/>"), NOW) is None


def test_legal_hold_documents():
    assert put_hold("ON") is True and put_hold("OFF") is False
    assert error(put_hold, "abc").code == "MalformedXML"          # s3-tests test_object_lock_put_legal_hold_invalid_status
    assert error(parse_legal_hold, parse(b"<LegalHold/>")).code == "MalformedXML"
    for on in (True, False):
        got = as_boto3("GetObjectLegalHold", document("LegalHold", legal_hold_nodes(on)))
        assert got["LegalHold"] == {"Status": "ON" if on else "OFF"}


# -- headers ----------------------------------------------------------------------------------------
def test_headers_accepted():
    headers = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z",
               "x-amz-object-lock-legal-hold": "ON"}
    retention, hold = parse_lock_headers(headers, NOW)
    assert retention == Retention(GOVERNANCE, Y2030) and hold is True
    assert parse_lock_headers({}, NOW) == (None, None)
    assert parse_lock_headers({"x-amz-object-lock-legal-hold": "OFF"}, NOW) == (None, False)
    assert lock_headers(retention, hold) == {"x-amz-object-lock-mode": "GOVERNANCE",
                                             "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00.000Z",
                                             "x-amz-object-lock-legal-hold": "ON"}
    assert lock_headers(None, None) == {}


@pytest.mark.parametrize("headers, message, argument", [
    ({"x-amz-object-lock-mode": "GOVERNANCE"},
     "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.",
     "x-amz-object-lock-retain-until-date"),
    ({"x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"},
     "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.", "x-amz-object-lock-mode"),
    ({"x-amz-object-lock-mode": "SOFT", "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"},
     "Unknown wormMode directive.", "x-amz-object-lock-mode"),
    ({"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "Tue, 01 Jan 2030 00:00:00 GMT"},
     "The retain until date must be provided in ISO 8601 format", "x-amz-object-lock-retain-until-date"),
    ({"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "2020-01-01T00:00:00Z"},
     "The retain until date must be in the future!", "x-amz-object-lock-retain-until-date"),
    ({"x-amz-object-lock-legal-hold": "on"}, "Legal Hold must be either of 'ON' or 'OFF'", "x-amz-object-lock-legal-hold"),
])
def test_headers_refused(headers, message, argument):
    err = error(parse_lock_headers, headers, NOW)
    assert (err.code, err.status, err.message, err.fields["ArgumentName"]) == ("InvalidArgument", 400, message, argument)


def test_lock_headers_need_a_lock_enabled_bucket():
    check_lock_allowed(False, None, None)
    check_lock_allowed(True, Retention(GOVERNANCE, Y2030), True)
    err = error(check_lock_allowed, False, None, False)
    assert (err.code, err.message) == ("InvalidRequest", "Bucket is missing Object Lock Configuration")


def test_retention_and_hold_need_a_lock_enabled_bucket():
    """s3-tests test_object_lock_put_obj_retention_invalid_bucket and the legal hold ones: 400 InvalidRequest."""
    require_lock_enabled(True)
    err = error(require_lock_enabled, False)
    assert (err.code, err.status) == ("InvalidRequest", 400)


@pytest.mark.parametrize("versioning", [None, "Suspended"])
def test_lock_configuration_needs_versioning_enabled(versioning):
    """s3-tests test_object_lock_put_obj_lock_enable_after_create: 409 InvalidBucketState unless Enabled."""
    check_lock_config_allowed("Enabled")
    err = error(check_lock_config_allowed, versioning)
    assert (err.code, err.status) == ("InvalidBucketState", 409)


def test_versioning_stays_enabled_under_object_lock():
    """s3-tests test_object_lock_suspend_versioning: 409 InvalidBucketState."""
    check_versioning_change(False, "Suspended")
    check_versioning_change(True, "Enabled")
    err = error(check_versioning_change, True, "Suspended")
    assert (err.code, err.status) == ("InvalidBucketState", 409)


@pytest.mark.parametrize("value, expected", [(None, False), ("true", True), ("True", True), ("false", False), ("1", False)])
def test_bypass_header(value, expected):
    assert parse_bypass(value) is expected


@pytest.mark.parametrize("text, expected", [
    ("2030-01-01T00:00:00Z", Y2030), ("2030-01-01T00:00:00.000Z", Y2030), ("2030-01-01T01:00:00+01:00", Y2030),
    ("2030-01-01", None), ("soon", None), ("", None),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_render_time_keeps_milliseconds():
    assert render_time(Y2030 + 1.25) == "2030-01-01T00:00:01.250Z"


# -- decisions --------------------------------------------------------------------------------------
def test_new_version_retention():
    explicit = Retention(COMPLIANCE, Y2030)
    days = LockConfig(DefaultRetention(GOVERNANCE, days=1))
    years = LockConfig(DefaultRetention(COMPLIANCE, years=1))
    assert new_version_retention(explicit, days, NOW) == explicit       # explicit headers override the default
    assert new_version_retention(None, days, NOW) == Retention(GOVERNANCE, NOW + 86_400)
    assert new_version_retention(None, years, NOW) == Retention(COMPLIANCE, datetime(2027, 5, 1, tzinfo=UTC).timestamp())
    assert new_version_retention(None, LockConfig(), NOW) is None
    assert new_version_retention(None, None, NOW) is None


def test_add_years_on_leap_day():
    assert add_years(datetime(2024, 2, 29, 12, tzinfo=UTC).timestamp(), 1) == datetime(2025, 2, 28, 12, tzinfo=UTC).timestamp()


LOCKED = ("AccessDenied", 403, "Access Denied because object protected by object lock.")


@pytest.mark.parametrize("retention, hold, bypass, can_bypass, allowed", [
    (None, False, False, False, True),
    (Retention(GOVERNANCE, Y2030), False, False, False, False),        # test_object_lock_delete_object_with_retention
    (Retention(GOVERNANCE, Y2030), False, True, True, True),           # ... with BypassGovernanceRetention
    (Retention(GOVERNANCE, Y2030), False, True, False, False),         # the header without the permission
    (Retention(GOVERNANCE, Y2030), False, False, True, False),         # the permission without the header
    (Retention(COMPLIANCE, Y2030), False, True, True, False),          # COMPLIANCE: nobody
    (Retention(COMPLIANCE, NOW - 1), False, False, False, True),       # an expired retention protects nothing
    (None, True, True, True, False),                                   # legal hold ON: bypass does not help
    (Retention(GOVERNANCE, NOW - 1), True, False, False, False),
])
def test_check_delete(retention, hold, bypass, can_bypass, allowed):
    if allowed:
        check_delete(retention, hold, NOW, bypass, can_bypass)
    else:
        err = error(check_delete, retention, hold, NOW, bypass, can_bypass)
        assert (err.code, err.status, err.message) == LOCKED


G1, G3 = Retention(GOVERNANCE, Y2030), Retention(GOVERNANCE, Y2030 + 2 * 86_400)
C1, C3 = Retention(COMPLIANCE, Y2030), Retention(COMPLIANCE, Y2030 + 2 * 86_400)


@pytest.mark.parametrize("current, new, bypass, allowed", [
    (None, G1, False, True),
    (G1, G3, False, True),              # s3-tests test_object_lock_put_obj_retention_increase_period
    (G1, G1, False, True),
    (G3, G1, False, False),             # ..._shorten_period: AccessDenied
    (G3, G1, True, True),               # ..._shorten_period_bypass
    (G1, None, False, False),           # removing GOVERNANCE needs the bypass
    (G1, None, True, True),
    (G1, C1, True, True),               # test_object_lock_changing_mode_from_governance_with_bypass
    (G1, C1, False, False),             # ..._without_bypass
    (C1, G1, True, False),              # test_object_lock_changing_mode_from_compliance
    (C1, C3, False, True),              # COMPLIANCE may be extended
    (C3, C1, True, False),              # never shortened
    (C1, None, True, False),            # never removed
    (Retention(COMPLIANCE, NOW - 1), None, False, True),   # unless it has expired
])
def test_check_retention_change(current, new, bypass, allowed):
    if allowed:
        check_retention_change(current, new, NOW, bypass, True)
    else:
        err = error(check_retention_change, current, new, NOW, bypass, True)
        assert (err.code, err.status, err.message) == LOCKED


def test_bypass_needs_the_permission_to_change_retention():
    with pytest.raises(S3Error):
        check_retention_change(G3, G1, NOW, True, False)


def test_real_clock_sanity():
    """The headers refuse a date that is only seconds in the past."""
    stale = datetime.fromtimestamp(time.time() - 5, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(S3Error):
        parse_lock_headers({"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": stale},
                           time.time())
