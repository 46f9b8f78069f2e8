"""Listing operations: ListObjects (v1) and ListObjectsV2, served by the daemon's listing algorithms."""
from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from s3front.api.common import bucket_attrs
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import Node, document
from shared import constants as C
from shared.errors import S3Error
from shared.models import NULL_VERSION, encode_version_id

_MAX_INT = 2**31 - 1
_TOKEN_TAG = b"c1:"          # marks tokens Coffer made, so a made-up token is refused, not misread


def max_keys(req: S3Request, name: str = "max-keys") -> tuple[int, int]:
    """(what to echo, what to ask for): absent is 1000, above 1000 is capped, bad values are refused."""
    raw = req.query.get(name)
    if raw is None:
        return C.LISTING_MAX_KEYS, C.LISTING_MAX_KEYS
    value = int(raw) if raw.isdigit() else -1
    if not 0 <= value <= _MAX_INT:
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer range",
                      ArgumentName=name, ArgumentValue=raw)
    return value, min(value, C.LISTING_MAX_KEYS)


def encoder(req: S3Request):
    """The function that renders keys: URL-encoding when asked for, plain text otherwise."""
    kind = req.query.get("encoding-type")
    if kind is None:
        return lambda s: s
    if kind != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=kind)
    return lambda s: None if s is None else quote(s, safe="/")


def owner_node(value: dict[str, Any]) -> Node:
    return ("Owner", [("ID", value.get("owner-id")), ("DisplayName", value.get("owner-display-name"))])


def content_node(entry: dict[str, Any], enc, with_owner: bool) -> Node:
    v = entry["value"]
    children: list[Node] = [("Key", enc(entry["key"])), ("LastModified", v.get("last-modified")),
                            ("ETag", f'"{v.get("content-md5", "")}"'), ("Size", v.get("content-length", 0)),
                            ("StorageClass", v.get("x-amz-storage-class") or "STANDARD")]
    if with_owner:
        children.append(owner_node(v))
    return ("Contents", children)


def prefixes_nodes(prefixes: list[str], enc) -> list[Node]:
    return [("CommonPrefixes", [("Prefix", enc(p))]) for p in prefixes]


async def _page(req: S3Request, params: dict[str, Any], wanted: int) -> dict[str, Any]:
    if wanted == 0:
        return {"Contents": [], "CommonPrefixes": [], "IsTruncated": False}
    return await req.frontend.metadata.list_object(req.bucket, {**params, "maxKeys": wanted})


async def list_objects_v2(req: S3Request) -> S3Response:
    await bucket_attrs(req)
    enc = encoder(req)
    echo, wanted = max_keys(req)
    q = req.query
    token = q.get("continuation-token")
    params: dict[str, Any] = {"listingType": "DelimiterMaster", "v2": True, "prefix": q.get("prefix", ""),
                              "delimiter": q.get("delimiter") or None, "startAfter": q.get("start-after")}
    if token is not None:
        params["continuationToken"] = decode_token(token)
    page = await _page(req, {k: v for k, v in params.items() if v is not None}, wanted)
    fetch_owner = q.get("fetch-owner", "").lower() == "true"
    children: list[Node] = [("Name", req.bucket), ("Prefix", enc(q.get("prefix", ""))),
                            ("Delimiter", enc(q.get("delimiter"))), ("MaxKeys", echo),
                            ("EncodingType", q.get("encoding-type")),
                            ("KeyCount", len(page["Contents"]) + len(page["CommonPrefixes"])),
                            ("IsTruncated", page["IsTruncated"]), ("ContinuationToken", token),
                            ("StartAfter", enc(q.get("start-after")))]
    if page["IsTruncated"] and page.get("NextContinuationToken") is not None:
        children.append(("NextContinuationToken", encode_token(page["NextContinuationToken"])))
    children += [content_node(e, enc, fetch_owner) for e in page["Contents"]]
    children += prefixes_nodes(page["CommonPrefixes"], enc)
    return xml_response(document("ListBucketResult", children))


async def list_objects(req: S3Request) -> S3Response:
    await bucket_attrs(req)
    enc = encoder(req)
    echo, wanted = max_keys(req)
    q = req.query
    params = {"listingType": "DelimiterMaster", "prefix": q.get("prefix", ""),
              "delimiter": q.get("delimiter") or None, "marker": q.get("marker") or None}
    page = await _page(req, {k: v for k, v in params.items() if v is not None}, wanted)
    children: list[Node] = [("Name", req.bucket), ("Prefix", enc(q.get("prefix", ""))),
                            ("Marker", enc(q.get("marker", ""))), ("MaxKeys", echo),
                            ("Delimiter", enc(q.get("delimiter"))), ("EncodingType", q.get("encoding-type")),
                            ("IsTruncated", page["IsTruncated"])]
    if page["IsTruncated"] and page.get("NextMarker") is not None:
        children.append(("NextMarker", enc(page["NextMarker"])))
    children += [content_node(e, enc, True) for e in page["Contents"]]
    children += prefixes_nodes(page["CommonPrefixes"], enc)
    return xml_response(document("ListBucketResult", children))


def encode_token(marker: str) -> str:
    """An opaque continuation token for a resume point."""
    return base64.urlsafe_b64encode(_TOKEN_TAG + marker.encode()).decode()


def decode_token(token: str) -> str:
    """The resume point of a token `encode_token` made; anything else is refused as AWS does."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        if not raw.startswith(_TOKEN_TAG):
            raise ValueError(token)
        return raw[len(_TOKEN_TAG):].decode()
    except (binascii.Error, ValueError, UnicodeError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token", ArgumentValue=token) from None


def version_id_text(entry_vid: str | None, value: dict[str, Any]) -> str:
    if value.get("isNull") or not entry_vid:
        return NULL_VERSION
    return encode_version_id(entry_vid)


HANDLERS = {
    "ListObjects": list_objects,
    "ListObjectsV2": list_objects_v2,
}
