"""GetObjectAttributes: an object's ETag, checksum, parts, storage class and size, without its body."""
from __future__ import annotations

from s3front.api.common import version_header
from s3front.api.objects import read_target
from s3front.request import S3Request, S3Response, xml_response
from s3front.sse.data import read_key
from s3front.xml import Node, document
from shared import constants as C
from shared.contract.records import ObjectMD, PartRecord
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


def object_parts(md: ObjectMD) -> tuple[PartRecord, ...]:
    """The parts of a multipart object; () for an object put whole.

    Objects completed before parts were recorded have them rebuilt from their pieces, without checksums.
    """
    if not md.is_multipart:
        return ()
    if md.parts:
        return md.parts
    sizes: dict[int, int] = {}
    for piece in md.pieces:
        number = piece.part_number or 0
        sizes[number] = sizes.get(number, 0) + piece.size
    return tuple(PartRecord(n, size) for n, size in sorted(sizes.items()))


def _parts_page(headers: dict[str, str]) -> tuple[int, int]:
    """(x-amz-part-number-marker, x-amz-max-parts capped at 1000), checked whatever the object is."""
    marker = _int_header(headers, "x-amz-part-number-marker", 0)
    return marker, min(_int_header(headers, "x-amz-max-parts", C.LISTING_MAX_KEYS), C.LISTING_MAX_KEYS)


def _parts_node(md: ObjectMD, parts: tuple[PartRecord, ...], marker: int, wanted: int) -> Node:
    after = [p for p in parts if p.number > marker]
    page = after[:wanted]
    truncated = len(after) > len(page)
    algorithm = md.checksum.algorithm if md.checksum else None
    children: list[Node] = [("PartsCount", len(parts)), ("PartNumberMarker", marker),
                            ("NextPartNumberMarker", page[-1].number if page else None),
                            ("MaxParts", wanted), ("IsTruncated", truncated)]
    for part in page:
        fields: list[Node] = [("PartNumber", part.number), ("Size", part.size)]
        if algorithm and part.checksum:
            fields.append((f"Checksum{algorithm.upper()}", part.checksum))
        children.append(("Part", fields))
    return ("ObjectParts", children)


def _checksum_node(md: ObjectMD) -> Node | None:
    checksum = md.checksum
    if not checksum:
        return None
    return ("Checksum", [(f"Checksum{checksum.algorithm.upper()}", checksum.value),
                         ("ChecksumType", checksum.type)])


async def get_object_attributes(req: S3Request) -> S3Response:
    names = requested_attributes(req.headers)
    marker, wanted = _parts_page(req.headers)
    attrs, md = read_target(req)
    read_key(req, md)                  # an SSE-C object's attributes need its key, as on AWS
    children: list[Node | None] = []
    if "ETag" in names:
        children.append(("ETag", md.etag))
    if "Checksum" in names:
        children.append(_checksum_node(md))
    parts = object_parts(md)
    if "ObjectParts" in names and parts:
        children.append(_parts_node(md, parts, marker, wanted))
    if "StorageClass" in names:
        children.append(("StorageClass", md.storage_class))
    if "ObjectSize" in names:
        children.append(("ObjectSize", md.size))
    headers = {"Last-Modified": http_date(md.last_modified), **version_header(md, attrs)}
    body = document("GetObjectAttributesResponse", [c for c in children if c is not None])
    return xml_response(body, headers=headers)


HANDLERS = {
    "GetObjectAttributes": get_object_attributes,
}
