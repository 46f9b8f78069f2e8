"""GetObjectAttributes: an object's ETag, checksum, parts, storage class and size, without its body."""
from __future__ import annotations

from typing import Any

from s3front.api.common import version_header
from s3front.api.objects import read_target
from s3front.request import S3Request, S3Response, xml_response
from s3front.xml import Node, document
from shared import constants as C
from shared.errors import S3Error
from shared.models import http_date
from shared.params import ascii_int

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")


def requested_attributes(headers: dict[str, str]) -> set[str]:
    """The x-amz-object-attributes header: a comma-separated list of attribute names, at least one."""
    names = {n.strip() for n in headers.get("x-amz-object-attributes", "").split(",") if n.strip()}
    if not names:
        raise S3Error("InvalidRequest", "The x-amz-object-attributes header specifying the attributes to be "
                                        "retrieved is either missing or empty")
    if names - set(ATTRIBUTES):
        raise S3Error("InvalidArgument", "Invalid attribute name specified.",
                      ArgumentName="x-amz-object-attributes", ArgumentValue=headers["x-amz-object-attributes"])
    return names


def _int_header(headers: dict[str, str], name: str, default: int) -> int:
    raw = headers.get(name)
    if raw is None:
        return default
    return ascii_int(raw.strip(), name, 0, C.MAX_INT32)


def object_parts(md: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of a multipart object ({partNumber, size, checksum?}); [] for an object put whole.

    Objects completed before parts were recorded have them rebuilt from their pieces, without checksums.
    """
    if "-" not in md.get("content-md5", ""):
        return []
    if md.get("parts"):
        return md["parts"]
    sizes: dict[int, int] = {}
    for piece in md.get("location") or []:
        number = int(str(piece.get("dataStoreETag", "0:")).split(":", 1)[0] or 0)
        sizes[number] = sizes.get(number, 0) + piece["size"]
    return [{"partNumber": n, "size": size} for n, size in sorted(sizes.items())]


def _parts_page(headers: dict[str, str]) -> tuple[int, int]:
    """(x-amz-part-number-marker, x-amz-max-parts capped at 1000), checked whatever the object is."""
    marker = _int_header(headers, "x-amz-part-number-marker", 0)
    return marker, min(_int_header(headers, "x-amz-max-parts", C.LISTING_MAX_KEYS), C.LISTING_MAX_KEYS)


def _parts_node(md: dict[str, Any], parts: list[dict[str, Any]], marker: int, wanted: int) -> Node:
    after = [p for p in parts if p["partNumber"] > marker]
    page = after[:wanted]
    truncated = len(after) > len(page)
    algorithm = (md.get("checksum") or {}).get("algorithm")
    children: list[Node] = [("PartsCount", len(parts)), ("PartNumberMarker", marker),
                            ("NextPartNumberMarker", page[-1]["partNumber"] if page else None),
                            ("MaxParts", wanted), ("IsTruncated", truncated)]
    for part in page:
        fields: list[Node] = [("PartNumber", part["partNumber"]), ("Size", part["size"])]
        if algorithm and part.get("checksum"):
            fields.append((f"Checksum{algorithm.upper()}", part["checksum"]))
        children.append(("Part", fields))
    return ("ObjectParts", children)


def _checksum_node(md: dict[str, Any]) -> Node | None:
    checksum = md.get("checksum")
    if not checksum:
        return None
    return ("Checksum", [(f"Checksum{checksum['algorithm'].upper()}", checksum["value"]),
                         ("ChecksumType", checksum.get("type", "FULL_OBJECT"))])


async def get_object_attributes(req: S3Request) -> S3Response:
    names = requested_attributes(req.headers)
    marker, wanted = _parts_page(req.headers)
    attrs, md = read_target(req)
    children: list[Node | None] = []
    if "ETag" in names:
        children.append(("ETag", md.get("content-md5", "")))
    if "Checksum" in names:
        children.append(_checksum_node(md))
    parts = object_parts(md)
    if "ObjectParts" in names and parts:
        children.append(_parts_node(md, parts, marker, wanted))
    if "StorageClass" in names:
        children.append(("StorageClass", md.get("x-amz-storage-class") or "STANDARD"))
    if "ObjectSize" in names:
        children.append(("ObjectSize", md["content-length"]))
    headers = {"Last-Modified": http_date(md["last-modified"]), **version_header(md, attrs)}
    body = document("GetObjectAttributesResponse", [c for c in children if c is not None])
    return xml_response(body, headers=headers)


HANDLERS = {
    "GetObjectAttributes": get_object_attributes,
}
