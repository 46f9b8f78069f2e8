"""Multipart upload operations of the metadata daemon (design.md §7).

Keys (keys.py) of the `!mpuShadowBucket<b>!` sub-level: `overview\\0<key>\\0<uploadId>` and
`part\\0<uploadId>\\0<NNNNN>`. Completion is one call and one batch: the parts' pieces become the
object's location (never copied), the upload's keys go, and dropped data goes to `__gc`.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

from dmd.metadata.context import MetadataContext, Op, dumps
from dmd.metadata.keys import overview_key, part_key
from dmd.metadata.objects import check_write_condition, put_version_ops
from dmd.metadata.versioning import MD
from shared import constants as C
from shared.checksums import COMPOSITE, FULL_OBJECT, Checksum, combine_crcs
from shared.errors import S3Error
from shared.models import iso_now

COMPLETED = "s3:ObjectCreated:CompleteMultipartUpload"     # the event a completion makes


def new_upload_id(encrypted: bool = False) -> str:
    """16 hex digits of the time in µs, then 32 random hex digits: time-ordered and unguessable.

    The first random digit is 8-f for an encrypted upload, 0-7 for another (upload_may_be_encrypted):
    the parts of an unencrypted upload then cost no lookup of the upload's encryption.
    """
    first = secrets.randbelow(8) + (8 if encrypted else 0)
    return f"{time.time_ns() // 1000:016x}{first:x}{secrets.token_hex(16)[1:]}"


def multipart_etag(etags: list[str]) -> str:
    """md5 of the concatenated binary part md5s, then `-N` (design.md §7)."""
    return hashlib.md5(b"".join(bytes.fromhex(e) for e in etags)).hexdigest() + f"-{len(etags)}"


def _clean_etag(etag: str) -> str:
    return etag.strip().strip('"').lower()


async def _overview(ctx: MetadataContext, bucket: str, key: str, upload_id: str) -> MD:
    found = await ctx.read_overview(bucket, key, upload_id)
    if found is None:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    return found


async def upload_overview(ctx: MetadataContext, bucket: str, key: str, upload_id: str) -> MD:
    """An open upload's overview as listings show it (without the metadata kept for completion)."""
    overview = await _overview(ctx, bucket, key, upload_id)
    overview.pop("md", None)
    return overview


async def initiate_multipart_upload(ctx: MetadataContext, bucket: str, key: str, upload: MD) -> str:
    """Open an upload (its id); the overview keeps what completion will apply to the object."""
    overview = upload
    async with ctx.buckets.hold(bucket, exclusive=False):
        await ctx.bucket_attrs(bucket)
        upload_id = new_upload_id(encrypted=bool(overview.get("sse")))
        value = {"initiated": iso_now(), **overview, "key": key, "uploadId": upload_id}
        await ctx.commit([(overview_key(bucket, key, upload_id), dumps(value))])
    return upload_id


async def put_part(ctx: MetadataContext, bucket: str, key: str, upload_id: str, part_number: int,
                   part: MD) -> list[dict]:
    """Record one part; a part already stored under that number is replaced, its data to `__gc`."""
    if not 1 <= part_number <= C.MPU_MAX_PART_NUMBER:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive",
                      ArgumentName="partNumber", ArgumentValue=part_number)
    async with ctx.buckets.hold(bucket, exclusive=False), ctx.uploads.hold((bucket, upload_id), exclusive=False), \
            ctx.uploads.hold((bucket, upload_id, part_number)):
        await ctx.bucket_attrs(bucket)
        await _overview(ctx, bucket, key, upload_id)
        old = await ctx.read_part(bucket, upload_id, part_number)
        gc_ops, gc = ctx.gc_entries(bucket, [{**old, "key": key}] if old else [], "part-replaced")
        value = {"lastModified": iso_now(), **part, "partNumber": part_number}
        await ctx.commit([(part_key(bucket, upload_id, part_number), dumps(value))] + gc_ops)
    return gc


def _listed(requested: list[dict]) -> list[dict]:
    """The parts a completion lists, in ascending order; of a number listed twice, the last entry counts.

    A part uploaded twice can be listed with both ETags when the first upload finished last
    (s3-tests test_multipart_resend_first_finishes_last); the stored part is the one that committed last.
    """
    numbers = [int(p["partNumber"]) for p in requested]
    if any(b < a for a, b in zip(numbers, numbers[1:])):
        raise S3Error("InvalidPartOrder")
    return list({int(p["partNumber"]): p for p in requested}.values())


def _validate(requested: list[dict], stored: dict[int, MD], min_part_size: int) -> list[MD]:
    """The stored parts a completion lists, in order, checked as AWS checks them."""
    if not requested:
        raise S3Error("MalformedXML")
    requested = _listed(requested)
    numbers = [int(p["partNumber"]) for p in requested]
    chosen = []
    for p, n in zip(requested, numbers):
        part = stored.get(n)
        if part is None or _clean_etag(str(p.get("etag", ""))) != part["etag"] or _checksum_differs(p, part):
            raise S3Error("InvalidPart", PartNumber=n, ETag=p.get("etag"))
        chosen.append(part)
    for part in chosen[:-1]:
        if part["size"] < min_part_size:
            raise S3Error("EntityTooSmall", ProposedSize=part["size"], MinSizeAllowed=min_part_size)
    return chosen


def _checksum_differs(requested: dict, part: MD) -> bool:
    """A completion that names a part's checksum must name the one the part was stored with."""
    checksum = part.get("checksum") or {}
    sent = requested.get(checksum.get("algorithm", ""))
    return sent is not None and sent != checksum.get("value")


def _stitch(parts: list[MD]) -> tuple[list[dict] | None, int]:
    """The object's location: the parts' pieces in order, `start` rewritten as the running offset."""
    location: list[dict] = []
    offset = 0
    for part in parts:
        for piece in part.get("location") or []:
            location.append({**piece, "start": offset, "partNumber": part["partNumber"], "partETag": part["etag"]})
            offset += piece["size"]
    return (location or None), offset


async def _retried(ctx: MetadataContext, bucket: str, key: str, upload_id: str, parts: list[dict]) -> dict | None:
    """The result of a completion already done with these parts (a client retry), else None."""
    master = await ctx.read_object(bucket, key)
    if not master or master.get("uploadId") != upload_id or master.get("isDeleteMarker"):
        return None
    try:
        etag = multipart_etag([_clean_etag(str(p.get("etag", ""))) for p in _listed(parts)])
    except (ValueError, S3Error):
        return None
    if etag != master.get("content-md5"):
        return None
    return {"versionId": master["versionId"], "isNull": bool(master.get("isNull")), "etag": etag,
            "size": master["content-length"], "versioning": (await ctx.bucket_attrs(bucket)).get("versioning"),
            "checksum": master.get("checksum"), "gc": []}


async def complete_multipart_upload(ctx: MetadataContext, bucket: str, key: str, upload_id: str,
                                    parts: list[dict], md: MD | None = None, min_part_size: int = C.MPU_MIN_PART_SIZE,
                                    condition: dict | None = None, checksum: dict | None = None,
                                    event: dict | None = None) -> dict:
    """Turn an upload into an object version in one batch (design.md §7).

    `condition` (If-Match / If-None-Match) is checked against the current object under the key lock;
    `checksum` is the whole object's checksum the client announced ({algorithm, value}); `md`, fields
    to set over the metadata the upload keeps for the object.
    """
    async with ctx.buckets.hold(bucket, exclusive=False), ctx.uploads.hold((bucket, upload_id)), \
            ctx.keys.hold((bucket, key)):
        await ctx.bucket_attrs(bucket)
        overview = await ctx.read_overview(bucket, key, upload_id)
        if overview is None:
            done = await _retried(ctx, bucket, key, upload_id, parts) if parts else None
            if done is None:
                raise S3Error("NoSuchUpload", UploadId=upload_id)
            return done
        check_write_condition(await ctx.read_object(bucket, key), condition, key)
        stored = await ctx.read_parts(bucket, upload_id)
        by_number = {p["partNumber"]: p for _, p in stored}
        chosen = _validate(parts, by_number, min_part_size)
        location, size = _stitch(chosen)
        etag = multipart_etag([p["etag"] for p in chosen])
        computed = object_checksum(overview, chosen)
        _check_announced(checksum, computed)
        new = {**overview.get("md", {}), **(md or {}), "content-length": size, "content-md5": etag,
               "uploadId": upload_id, "location": location, "parts": _part_records(chosen)}
        if computed:
            new["checksum"] = computed
        plan, ops, gc = await put_version_ops(ctx, bucket, key, new, event, COMPLETED)
        listed = {p["partNumber"] for p in chosen}
        unused = [{**p, "key": key} for p in by_number.values() if p["partNumber"] not in listed]
        gc_ops, unused_gc = ctx.gc_entries(bucket, unused, "part-unused")
        drops: list[Op] = [(overview_key(bucket, key, upload_id), None)] + [(k, None) for k, _ in stored]
        await ctx.commit(ops + drops + gc_ops)
    return {**plan.result, "etag": etag, "size": size, "checksum": computed, "gc": gc + unused_gc}


def _part_records(parts: list[MD]) -> list[dict[str, Any]]:
    """What the object keeps of its parts (GetObjectAttributes, GET ?partNumber): number, size, checksum."""
    records = []
    for p in parts:
        record: dict[str, Any] = {"partNumber": p["partNumber"], "size": p["size"]}
        if p.get("checksum"):
            record["checksum"] = p["checksum"]["value"]
        records.append(record)
    return records


def _check_announced(announced: dict | None, computed: dict | None) -> None:
    """The checksum a completion announces must be the one computed from the parts."""
    if not announced:
        return
    algorithm = announced["algorithm"]
    if computed is None or computed["algorithm"] != algorithm:
        raise S3Error("InvalidRequest", f"The upload was not created with the {algorithm.upper()} checksum "
                                        "algorithm, or a part was uploaded without it.")
    if announced["value"] != computed["value"]:
        raise S3Error("BadDigest", f"The {algorithm.upper()} you specified did not match the calculated checksum.")


def object_checksum(overview: MD, parts: list[MD]) -> dict[str, Any] | None:
    """The object's checksum: FULL_OBJECT (the parts' CRCs combined) or COMPOSITE (checksum of checksums, `-N`)."""
    algorithm = overview.get("checksumAlgorithm")
    values = [(p.get("checksum") or {}) for p in parts]
    if not algorithm or any(v.get("algorithm") != algorithm for v in values):
        return None
    kind = overview.get("checksumType") or (FULL_OBJECT if algorithm == "crc64nvme" else COMPOSITE)
    if kind == FULL_OBJECT:
        value = combine_crcs(algorithm, [(v["value"], p["size"]) for v, p in zip(values, parts)])
        return {"algorithm": algorithm, "value": value, "type": FULL_OBJECT}
    combined = Checksum(algorithm)
    for v in values:
        combined.update(base64.b64decode(v["value"]))
    return {"algorithm": algorithm, "value": f"{combined.b64()}-{len(parts)}", "type": COMPOSITE}


async def abort_multipart_upload(ctx: MetadataContext, bucket: str, key: str, upload_id: str) -> list[dict]:
    """Drop an upload and its parts; their data goes to `__gc`."""
    async with ctx.buckets.hold(bucket, exclusive=False), ctx.uploads.hold((bucket, upload_id)):
        await ctx.bucket_attrs(bucket)
        await _overview(ctx, bucket, key, upload_id)
        stored = await ctx.read_parts(bucket, upload_id)
        gc_ops, gc = ctx.gc_entries(bucket, [{**p, "key": key} for _, p in stored], "aborted")
        drops: list[Op] = [(overview_key(bucket, key, upload_id), None)] + [(k, None) for k, _ in stored]
        await ctx.commit(drops + gc_ops)
    return gc

