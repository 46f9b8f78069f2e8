"""Object and bucket tagging: the Tagging document, the x-amz-tagging header, and AWS's limits.

A tag set is a dict key -> value. Both forms of input go through one check (`check_tags`), in the
order AWS applies it: the count first, then each tag's key and value in turn, then duplicates.
What AWS answers (recorded against S3, which s3-tests does not always agree with):
  - more tags than allowed: BadRequest "Object tags cannot be greater than 10" (bucket: 50);
  - a bad key or value: InvalidTag naming it (TagKey, and TagValue for a value);
  - a repeated key: InvalidTag "Cannot provide multiple Tags with the same key" in a document,
    InvalidArgument on x-amz-tagging (AWS's header grammar has no duplicates);
  - a malformed header (an empty key before '=', a bad %-escape): InvalidArgument.
Lengths count Unicode characters, the allowed characters are AWS's pattern
`[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`, and a key may not begin with the reserved prefix "aws:".
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote_to_bytes
from xml.etree.ElementTree import Element

from s3front.xml import Node, document, parse
from shared import constants as C
from shared.errors import S3Error

Tags = dict[str, str]
TAGS = "tags"          # the metadata field (object) and attribute (bucket) holding a tag set
COPY, REPLACE = "COPY", "REPLACE"
_EXTRA_CHARS = frozenset("_.:/=+-@")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HEADER_MESSAGE = ("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "
                   "without tag name duplicates.")


# -- validation -------------------------------------------------------------------------------------
def _allowed(text: str) -> bool:
    """AWS's tag pattern: letters, separators (spaces), numbers and `_ . : / = + - @`."""
    return all(ch in _EXTRA_CHARS or unicodedata.category(ch)[0] in "LZN" for ch in text)


def _check_key(key: str) -> None:
    if not key or len(key) > C.TAG_KEY_MAX_CHARS or not _allowed(key):
        raise S3Error("InvalidTag", "The TagKey you have provided is invalid", TagKey=key)
    if key[:4].lower() == "aws:":
        raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:", TagKey=key)


def _check_value(key: str, value: str) -> None:
    if len(value) > C.TAG_VALUE_MAX_CHARS or not _allowed(value):
        raise S3Error("InvalidTag", "The TagValue you have provided is invalid", TagKey=key, TagValue=value)


def _too_many(limit: int) -> S3Error:
    if limit == C.TAGS_MAX_BUCKET:
        return S3Error("BadRequest", f"Bucket tag count cannot be greater than {limit}")
    return S3Error("BadRequest", f"Object tags cannot be greater than {limit}")


def check_tags(pairs: list[tuple[str, str]], limit: int = C.TAGS_MAX_OBJECT) -> Tags:
    """The tag set of (key, value) pairs, checked as AWS checks a Tagging document."""
    if len(pairs) > limit:
        raise _too_many(limit)
    tags: Tags = {}
    for key, value in pairs:
        _check_key(key)
        _check_value(key, value)
        if key in tags:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key", TagKey=key)
        tags[key] = value
    return tags


# -- the Tagging document ---------------------------------------------------------------------------
def _only(el: Element, tag: str) -> Element:
    """The one child `tag` of `el`, which may hold nothing else."""
    if len(el) != 1 or el[0].tag != tag:
        raise S3Error("MalformedXML")
    return el[0]


def _tag_pair(el: Element) -> tuple[str, str]:
    if el.tag != "Tag" or (el.text or "").strip():
        raise S3Error("MalformedXML")
    found: dict[str, str] = {}
    for child in el:
        if child.tag not in ("Key", "Value") or child.tag in found or len(child):
            raise S3Error("MalformedXML")
        found[child.tag] = child.text or ""
    if len(found) != 2:
        raise S3Error("MalformedXML")
    return found["Key"], found["Value"]


def tag_pairs(tag_set: Element) -> list[tuple[str, str]]:
    """The (Key, Value) pairs of a TagSet element (or of any element holding only Tag elements)."""
    return [_tag_pair(el) for el in tag_set]


def parse_tagging(body: bytes, limit: int = C.TAGS_MAX_OBJECT) -> Tags:
    """PutObjectTagging / PutBucketTagging / the POST `tagging` field: `<Tagging><TagSet><Tag>...`."""
    root = parse(body, C.TAGGING_MAX_BODY)
    if root.tag != "Tagging":
        raise S3Error("MalformedXML")
    return check_tags(tag_pairs(_only(root, "TagSet")), limit)


def tag_nodes(tags: Tags) -> list[Node]:
    """`<Tag><Key/><Value/></Tag>` nodes, in key order (s3-tests expect a header's tags back sorted)."""
    return [("Tag", [("Key", key), ("Value", tags[key])]) for key in sorted(tags)]


def render_tagging(tags: Tags) -> bytes:
    """The GetObjectTagging / GetBucketTagging document."""
    return document("Tagging", [("TagSet", tag_nodes(tags))])


# -- the x-amz-tagging header -----------------------------------------------------------------------
def _header_error(value: str) -> S3Error:
    return S3Error("InvalidArgument", _HEADER_MESSAGE, ArgumentName="x-amz-tagging", ArgumentValue=value)


def _unescape(text: str, header: str) -> str:
    """Form-URL decoding ('+' is a space), refusing bad %-escapes and bytes that are not UTF-8."""
    if _BAD_ESCAPE.search(text):
        raise _header_error(header)
    try:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise _header_error(header) from None


def parse_tagging_header(value: str, limit: int = C.TAGS_MAX_OBJECT) -> Tags:
    """`x-amz-tagging: k1=v1&k2` (URL query form) on PutObject, CopyObject, CreateMultipartUpload."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in value.split("&"):
        if not item:
            continue                   # AWS accepts "&", "&&", "a&&b"
        raw_key, eq, raw_value = item.partition("=")
        if eq and not raw_key:
            raise _header_error(value)
        key, tag_value = _unescape(raw_key, value), _unescape(raw_value, value)
        if key in seen:
            raise _header_error(value)
        seen.add(key)
        pairs.append((key, tag_value))
    return check_tags(pairs, limit)


def tagging_header(tags: Tags) -> str:
    """A tag set in the x-amz-tagging form (URL-encoded, key order)."""
    return "&".join(f"{quote(k, safe='')}={quote(tags[k], safe='')}" for k in sorted(tags))


def tagging_directive(value: str | None) -> str:
    """x-amz-tagging-directive on CopyObject: COPY (the default) or REPLACE."""
    if value is None or value == COPY:
        return COPY
    if value == REPLACE:
        return REPLACE
    raise S3Error("InvalidArgument", "Unknown tagging directive.",
                  ArgumentName="x-amz-tagging-directive", ArgumentValue=value)


def tagging_count(tags: Tags | None) -> str | None:
    """x-amz-tagging-count on GET/HEAD Object: the number of tags, left out when there are none."""
    return str(len(tags)) if tags else None
