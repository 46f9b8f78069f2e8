"""S3 XML: rendering responses, and parsing request bodies with defusedxml and a size limit."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from shared.errors import S3Error

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BODY = 1 << 20
_SPECIAL = re.compile("[&<>\"'\r]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#13;"})

Node = tuple[str, Any]          # (tag, text | list of nodes | None)
RAW = "#raw"                    # the tag of a node whose value is XML text, passed through as it is


def escape(text: str) -> str:
    # translate() costs ~0.5 us even when there is nothing to escape; the search is 3x cheaper (measured)
    return text.translate(_ESCAPES) if _SPECIAL.search(text) else text


def escape_all(texts: list[str]) -> list[str]:
    """escape() of each text, in one pass over all of them (listings escape thousands of short texts)."""
    joined = "\x00".join(texts)
    if not _SPECIAL.search(joined):
        return texts
    if joined.count("\x00") != len(texts) - 1:        # a text holds the separator itself
        return [escape(t) for t in texts]
    return joined.translate(_ESCAPES).split("\x00")


def raw(xml: str) -> Node:
    """A node of XML rendered already (long listings render their entries in bulk)."""
    return (RAW, xml)


def render(node: Node) -> str:
    """One node as XML text."""
    out: list[str] = []
    _render(node, out)
    return "".join(out)


def _render(node: Node, out: list[str]) -> None:
    tag, value = node
    if value is None:
        return
    if tag == RAW:
        out.append(value)
    elif isinstance(value, list):
        out.append(f"<{tag}>")
        for child in value:
            _render(child, out)
        out.append(f"</{tag}>")
    else:
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append(f"<{tag}>{escape(str(value))}</{tag}>")


def document(root: str, children: Iterable[Node], namespace: bool = True) -> bytes:
    """An S3 XML document: `children` are (tag, value) nodes; None values are left out."""
    attrs = f' xmlns="{S3_NS}"' if namespace else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<{root}{attrs}>"]
    for child in children:
        _render(child, out)
    out.append(f"</{root}>")
    return "".join(out).encode()


def text_document(root: str, text: str) -> bytes:
    """A document whose root holds only text, such as LocationConstraint."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{S3_NS}">{escape(text)}</{root}>').encode()


def parse(body: bytes, limit: int = MAX_XML_BODY) -> Element:
    """Parse a request body; anything malformed, hostile or larger than `limit` is MalformedXML."""
    if len(body) > limit:
        raise S3Error("MalformedXML", "The XML you provided was larger than the maximum allowed.")
    try:
        root = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise S3Error("MalformedXML") from exc
    _strip_namespaces(root)
    return root


def _strip_namespaces(root: Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]


def child_text(el: Element, tag: str) -> str | None:
    found = el.find(tag)
    return None if found is None else (found.text or "")
