"""One module per S3 operation family; each exports HANDLERS, merged here into one map.

Operations of the table in `s3front.routing` that no module handles answer 501 NotImplemented.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from s3front.api import (acl, attributes, bucket_logging, buckets, copy, cors, encryption, lifecycle, listing,
                         multi_delete, multipart, notification, object_lock, objects, ownership, policy, post_object,
                         public_access,
                         tagging, torrent, versioning)
from s3front.request import S3Request, S3Response

Handler = Callable[[S3Request], Awaitable[S3Response]]

FAMILIES = (buckets, objects, listing, copy, multi_delete, multipart, versioning, acl, attributes, cors, policy,
            tagging, encryption, object_lock, ownership, public_access, torrent, post_object, lifecycle, notification,
            bucket_logging)

HANDLERS: dict[str, Handler] = {name: fn for family in FAMILIES for name, fn in family.HANDLERS.items()}
