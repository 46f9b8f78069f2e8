"""PutBucketLogging's own checks, pure: no logging loop, and the target's permission for log delivery
(its bucket policy naming the logging service principal, or its ACL granting the LogDelivery group)."""
from __future__ import annotations

import json

import pytest

from s3front import acl_model as A
from s3front import logging_config as G
from s3front.iam import parse_bucket_policy
from shared.errors import S3Error

CONFIG = G.LoggingConfig("logs", "log/")
OWNER = "owner-canonical-id"


def policy(*statements: dict):
    return parse_bucket_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), "logs")


def statement(effect: str = "Allow", principal: object = None, resource: str = "arn:aws:s3:::logs/log/*",
              source: str = "arn:aws:s3:::src", account: str = "123456789012", action: str = "s3:PutObject") -> dict:
    return {"Effect": effect, "Principal": principal or {"Service": "logging.s3.amazonaws.com"}, "Action": action,
            "Resource": resource, "Condition": {"ArnLike": {"aws:SourceArn": source},
                                                "StringEquals": {"aws:SourceAccount": account}}}


def allowed(p, acl=None, accounts=("123456789012", "canonical-src")) -> bool:
    return G.delivery_allowed(CONFIG, p, acl, OWNER, "src", accounts)


def test_the_logging_service_principal_under_the_prefix_for_this_source():
    assert allowed(policy(statement()))
    assert allowed(policy(statement(resource="arn:aws:s3:::logs/log/")))       # the prefix itself
    assert allowed(policy(statement(account="canonical-src")))                 # the owner by canonical id
    assert not allowed(None)
    assert not allowed(policy(statement(principal={"AWS": "*"})))              # not the service
    assert not allowed(policy(statement(principal={"Service": "logging.s3.amazonaws.com.evil"})))
    assert not allowed(policy(statement(action="s3:GetObject")))
    assert not allowed(policy(statement(resource="arn:aws:s3:::logs/other/*")))
    assert not allowed(policy(statement(source="arn:aws:s3:::elsewhere")))
    assert not allowed(policy(statement(account="999999999999")))
    assert not allowed(policy(statement(), statement(effect="Deny")))          # a Deny wins


def test_the_log_delivery_group_acl():
    assert allowed(None, A.canned_acl("log-delivery-write", OWNER))
    assert not allowed(None, A.canned_acl("public-read", OWNER))


def test_no_loop():
    G.check_loop("src", CONFIG, target_logged=False)
    for source, logged in (("logs", False), ("src", True)):
        with pytest.raises(S3Error) as err:
            G.check_loop(source, CONFIG, target_logged=logged)
        assert err.value.code == "InvalidArgument"
