"""Reading a remote S3 endpoint's XML answers (the aws_s3 data location, shared/data_s3.py): defused
parsing, namespaces dropped, an error document's Code, ISO 8601 times."""
from __future__ import annotations

from datetime import datetime

from defusedxml import ElementTree


def strip_namespaces(root: ElementTree.Element) -> ElementTree.Element:
    for el in root.iter():
        el.tag = el.tag.rpartition("}")[2]
    return root


def children(root: ElementTree.Element, tag: str) -> list[ElementTree.Element]:
    return root.findall(tag)


def field_text(el: ElementTree.Element, tag: str) -> str:
    return (el.findtext(tag) or "").strip()


def code(text: bytes) -> str:
    """The Code of an S3 error document, or "" when the body is not one."""
    try:
        return field_text(strip_namespaces(ElementTree.fromstring(text)), "Code") if text else ""
    except ElementTree.ParseError:
        return ""


def mtime(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
