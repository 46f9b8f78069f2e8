"""Bucket CORS: PutBucketCors, GetBucketCors, DeleteBucketCors, preflight (OPTIONS object) and response headers.

The configuration is the bucket record's `cors`, a tuple of CorsRule (shared/contract/records.py):
every request with an Origin reads it, so it is a hot configuration (s3front/api/bucket_config.py).
"""
from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

from s3front.api.bucket_config import BucketConfig, config_handlers
from s3front.request import S3Request, S3Response
from s3front.xml import Node, document, parse
from shared.contract.records import CorsRule
from shared.constants import CORS_MAX_BODY, CORS_MAX_RULES, CORS_METHODS, MAX_INT32
from shared.errors import InternalError, S3Error
from shared.params import parse_int

_REFUSED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
            "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
            "whitelisted by the resource's CORS spec.")
_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
# XML element of a rule -> (key in the stored rule, may repeat)
_FIELDS = {"ID": ("id", False), "AllowedOrigin": ("origins", True), "AllowedMethod": ("methods", True),
           "AllowedHeader": ("headers", True), "ExposeHeader": ("expose", True),
           "MaxAgeSeconds": ("max_age", False)}


# -- the configuration -----------------------------------------------------------------------------
def parse_cors(body: bytes) -> tuple[CorsRule, ...]:
    """The rules of a CORSConfiguration body, validated as AWS validates them."""
    if not body:
        raise S3Error("MissingRequestBodyError", "Request Body is empty")
    root = parse(body)
    if root.tag != "CORSConfiguration":
        raise S3Error("MalformedXML")
    rules = [_parse_rule(el) for el in root]
    if not rules:
        raise S3Error("MalformedXML")
    if len(rules) > CORS_MAX_RULES:
        raise S3Error("MalformedXML", f"The number of CORS rules should not exceed allowed limit of "
                                      f"{CORS_MAX_RULES} rules.")
    return tuple(CorsRule(tuple(r["origins"]), tuple(r["methods"]), tuple(r["headers"]), tuple(r["expose"]),
                          r.get("id"), r.get("max_age")) for r in rules)


def _parse_rule(el: Element) -> dict[str, Any]:
    if el.tag != "CORSRule":
        raise S3Error("MalformedXML")
    rule: dict[str, Any] = {"origins": [], "methods": [], "headers": [], "expose": []}
    for child in el:
        field = _FIELDS.get(child.tag)
        if field is None or len(child):
            raise S3Error("MalformedXML")
        name, repeats = field
        text = (child.text or "").strip()
        if repeats:
            rule[name].append(text)
        elif name in rule:
            raise S3Error("MalformedXML")
        else:
            rule[name] = _max_age(text) if name == "max_age" else text
    if not rule["origins"] or not rule["methods"]:
        raise S3Error("MalformedXML")
    _check_rule(rule)
    return rule


def _max_age(text: str) -> int:
    """MaxAgeSeconds, an xs:int: anything else does not validate against AWS's schema."""
    value = parse_int(text, signed=True)
    if value is None or not -MAX_INT32 - 1 <= value <= MAX_INT32:
        raise S3Error("MalformedXML")
    return value


def _check_rule(rule: dict[str, Any]) -> None:
    for method in rule["methods"]:
        if method not in CORS_METHODS:
            raise S3Error("InvalidRequest", f"Found unsupported HTTP method in CORS config. Unsupported "
                                            f"method is {method}")
    for origin in rule["origins"]:
        if origin.count("*") > 1:
            raise S3Error("InvalidRequest", f'AllowedOrigin "{origin}" can not have more than one wildcard.')
    for header in rule["headers"]:
        if header.count("*") > 1:
            raise S3Error("InvalidRequest", f'AllowedHeader "{header}" can not have more than one wildcard.')


def _rule_node(rule: CorsRule) -> Node:
    children: list[Node] = [("ID", rule.id)]
    children += [("AllowedHeader", h) for h in rule.headers]
    children += [("AllowedMethod", m) for m in rule.methods]
    children += [("AllowedOrigin", o) for o in rule.origins]
    children += [("ExposeHeader", h) for h in rule.expose]
    children.append(("MaxAgeSeconds", rule.max_age))
    return ("CORSRule", children)


def render_cors(rules: tuple[CorsRule, ...]) -> bytes:
    return document("CORSConfiguration", [_rule_node(r) for r in rules])


CORS = BucketConfig("cors", parse_cors, render_cors, "NoSuchCORSConfiguration", CORS_MAX_BODY, hot=True)


# -- matching ---------------------------------------------------------------------------------------
def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Whether `value` matches `pattern`, where one '*' stands for any run of characters."""
    flags = re.IGNORECASE if ignore_case else 0
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags) is not None


def _match(rules: tuple[CorsRule, ...], origin: str, method: str,
           headers: list[str]) -> tuple[CorsRule, str] | None:
    """The first rule allowing origin, method and every requested header, with the origin it allows."""
    for rule in rules:
        allowed = next((o for o in rule.origins if _wildcard(o, origin)), None)
        if allowed is None or method not in rule.methods:
            continue
        if all(any(_wildcard(p, h, True) for p in rule.headers) for h in headers):
            return rule, "*" if allowed == "*" else origin
    return None


def _allow_headers(rule: CorsRule, allow_origin: str) -> dict[str, str]:
    headers = {"Access-Control-Allow-Origin": allow_origin,
               "Access-Control-Allow-Methods": ", ".join(rule.methods), "Vary": _VARY}
    if allow_origin != "*":
        headers["Access-Control-Allow-Credentials"] = "true"
    if rule.expose:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
    if rule.max_age is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age)
    return headers


def _requested_headers(req: S3Request) -> list[str]:
    raw = req.headers.get("access-control-request-headers", "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


async def preflight(req: S3Request) -> S3Response:
    """OPTIONS object: answer a browser's preflight by the bucket's CORS rules; no signature needed."""
    origin = req.headers.get("origin")
    if not origin:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.")
    method = req.headers.get("access-control-request-method")
    if method not in CORS_METHODS:
        raise S3Error("BadRequest", f"Invalid Access-Control-Request-Method: {method or 'null'}")
    bucket = await req.frontend.metadata.get_bucket(req.bucket)
    requested = _requested_headers(req)
    found = _match(bucket.cors, origin, method, requested)
    if found is None:
        raise S3Error("AccessForbidden", _REFUSED, Method=method, ResourceType="OBJECT")
    rule, allow_origin = found
    headers = _allow_headers(rule, allow_origin)
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(requested)
    return S3Response(200, headers)


async def add_cors_headers(req: S3Request, resp: S3Response) -> None:
    """Access-Control-* headers on an ordinary answer to a request with an Origin the bucket allows."""
    origin = req.headers.get("origin")
    if not origin or req.bucket is None or req.method == "OPTIONS":
        return
    bucket = req.access.bucket if req.access else None
    if bucket is None:
        # Authorization failed before reading the bucket: read it once, only because Origin was sent.
        try:
            bucket = await req.frontend.metadata.get_bucket(req.bucket)
        except (S3Error, InternalError):
            return
    if not bucket.cors:
        return
    # Like RGW, an Access-Control-Request-Method stands for the method the page will use.
    method = req.headers.get("access-control-request-method") or req.method
    found = _match(bucket.cors, origin, method, [])
    if found is not None:
        resp.headers.update(_allow_headers(*found))


HANDLERS = {**config_handlers(CORS, "PutBucketCors", "GetBucketCors", "DeleteBucketCors"), "OptionsObject": preflight}
