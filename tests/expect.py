"""Assertions on S3 error answers, for boto3 calls and raw HTTP responses alike."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from botocore.exceptions import ClientError


def s3_error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, str]:
    """(HTTP status, error Code) of a boto3 call that must fail."""
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    resp = err.value.response
    return resp["ResponseMetadata"]["HTTPStatusCode"], resp["Error"]["Code"]


def s3_error_message(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Message"]


def xml_error(resp: httpx.Response) -> tuple[int, str]:
    """(HTTP status, <Code>) of a raw S3 error answer."""
    root = ElementTree.fromstring(resp.content)
    assert root.tag == "Error", resp.text
    return resp.status_code, root.findtext("Code")
