"""The operation table: every S3 operation of the AWS API reference, and `resolve()` that picks one.

A row is (method, target, selector, operation, permission). The selector is the query
sub-resources (and, for copies, the header) that tell operations on one path apart. More
specific rows come first. Handlers are attached by name in `s3front.api.HANDLERS`; a row with
no handler answers 501 NotImplemented naming the operation.

Permissions follow AWS's "Mapping of ACL permissions and access policy permissions": READ on a
bucket lists it (ListBucket, ListBucketVersions, ListBucketMultipartUploads), WRITE on a bucket
creates objects (PutObject), READ on an object reads it or one of its versions, READ_ACP and
WRITE_ACP read and change an ACL (an object's: of the version named). Anything no ACL grants is
OWNER: the bucket's owner, or for an object operation the object's owner. Deleting a specific
version is DELETE_VERSION: the bucket owner alone, through its WRITE grant.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from shared.errors import S3Error

SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
READ, WRITE, OWNER = "read", "write", "owner"
READ_ACP, WRITE_ACP = "read_acp", "write_acp"     # reading and changing an ACL
DELETE_VERSION = "delete_version"                 # deleting one version for good


class Row(NamedTuple):
    method: str
    target: str
    query: tuple[str, ...]          # query keys that must be present
    operation: str
    permission: str
    header: str | None = None       # a header that must be present


def _bucket_config(sub: str, name: str, *, delete: bool = True, get: str | None = None) -> list[Row]:
    rows = [Row("GET", BUCKET, (sub,), get or f"GetBucket{name}", OWNER),
            Row("PUT", BUCKET, (sub,), f"PutBucket{name}", OWNER)]
    if delete:
        rows.append(Row("DELETE", BUCKET, (sub,), f"DeleteBucket{name}", OWNER))
    return rows


def _bucket_ids(sub: str, name: str) -> list[Row]:
    """Configurations addressed by id (analytics, inventory, metrics, intelligent tiering)."""
    return [Row("GET", BUCKET, (sub, "id"), f"GetBucket{name}Configuration", OWNER),
            Row("PUT", BUCKET, (sub, "id"), f"PutBucket{name}Configuration", OWNER),
            Row("DELETE", BUCKET, (sub, "id"), f"DeleteBucket{name}Configuration", OWNER),
            Row("GET", BUCKET, (sub,), f"ListBucket{name}Configurations", OWNER)]


OPERATIONS: list[Row] = [
    Row("GET", SERVICE, (), "ListBuckets", READ),
    # -- multipart (object level) --------------------------------------------------
    Row("PUT", OBJECT, ("partNumber", "uploadId"), "UploadPartCopy", WRITE, "x-amz-copy-source"),
    Row("PUT", OBJECT, ("partNumber", "uploadId"), "UploadPart", WRITE),
    Row("POST", OBJECT, ("uploads",), "CreateMultipartUpload", WRITE),
    Row("POST", OBJECT, ("uploadId",), "CompleteMultipartUpload", WRITE),
    # Aborting an upload or listing its parts is also its initiator's or the bucket owner's alone
    # (multipart.py checks the upload's initiator).
    Row("DELETE", OBJECT, ("uploadId",), "AbortMultipartUpload", WRITE),
    Row("GET", OBJECT, ("uploadId",), "ListParts", READ),
    # -- object sub-resources --------------------------------------------------------
    Row("GET", OBJECT, ("acl",), "GetObjectAcl", READ_ACP),
    Row("PUT", OBJECT, ("acl",), "PutObjectAcl", WRITE_ACP),
    Row("GET", OBJECT, ("tagging",), "GetObjectTagging", OWNER),
    Row("PUT", OBJECT, ("tagging",), "PutObjectTagging", OWNER),
    Row("DELETE", OBJECT, ("tagging",), "DeleteObjectTagging", OWNER),
    Row("GET", OBJECT, ("attributes",), "GetObjectAttributes", READ),
    Row("GET", OBJECT, ("legal-hold",), "GetObjectLegalHold", OWNER),
    Row("PUT", OBJECT, ("legal-hold",), "PutObjectLegalHold", OWNER),
    Row("GET", OBJECT, ("retention",), "GetObjectRetention", OWNER),
    Row("PUT", OBJECT, ("retention",), "PutObjectRetention", OWNER),
    Row("GET", OBJECT, ("torrent",), "GetObjectTorrent", READ),
    Row("POST", OBJECT, ("restore",), "RestoreObject", OWNER),
    Row("POST", OBJECT, ("select",), "SelectObjectContent", READ),
    Row("PUT", OBJECT, ("renameObject",), "RenameObject", OWNER),
    # -- objects -------------------------------------------------------------------
    Row("PUT", OBJECT, (), "CopyObject", WRITE, "x-amz-copy-source"),
    Row("PUT", OBJECT, (), "PutObject", WRITE),
    Row("GET", OBJECT, (), "GetObject", READ),
    Row("HEAD", OBJECT, (), "HeadObject", READ),
    Row("DELETE", OBJECT, ("versionId",), "DeleteObject", DELETE_VERSION),
    Row("DELETE", OBJECT, (), "DeleteObject", WRITE),          # a delete marker, or the null version
    Row("POST", OBJECT, (), "PostObject", WRITE),
    Row("OPTIONS", OBJECT, (), "OptionsObject", READ),      # CORS preflight, never signed
    # -- bucket sub-resources -------------------------------------------------------
    *_bucket_config("accelerate", "AccelerateConfiguration", delete=False),
    Row("GET", BUCKET, ("acl",), "GetBucketAcl", READ_ACP),
    Row("PUT", BUCKET, ("acl",), "PutBucketAcl", WRITE_ACP),
    *_bucket_ids("analytics", "Analytics"),
    *_bucket_config("cors", "Cors"),
    *_bucket_config("encryption", "Encryption"),
    *_bucket_ids("intelligent-tiering", "IntelligentTiering"),
    *_bucket_ids("inventory", "Inventory"),
    Row("GET", BUCKET, ("lifecycle",), "GetBucketLifecycleConfiguration", OWNER),
    Row("PUT", BUCKET, ("lifecycle",), "PutBucketLifecycleConfiguration", OWNER),
    Row("DELETE", BUCKET, ("lifecycle",), "DeleteBucketLifecycle", OWNER),
    Row("GET", BUCKET, ("location",), "GetBucketLocation", OWNER),
    *_bucket_config("logging", "Logging", delete=False),
    *_bucket_ids("metrics", "Metrics"),
    Row("GET", BUCKET, ("notification",), "GetBucketNotificationConfiguration", OWNER),
    Row("PUT", BUCKET, ("notification",), "PutBucketNotificationConfiguration", OWNER),
    *_bucket_config("ownershipControls", "OwnershipControls"),
    *_bucket_config("policy", "Policy"),
    Row("GET", BUCKET, ("policyStatus",), "GetBucketPolicyStatus", OWNER),
    *_bucket_config("replication", "Replication"),
    *_bucket_config("requestPayment", "RequestPayment", delete=False),
    *_bucket_config("tagging", "Tagging"),
    *_bucket_config("versioning", "Versioning", delete=False),
    *_bucket_config("website", "Website"),
    Row("GET", BUCKET, ("object-lock",), "GetObjectLockConfiguration", OWNER),
    Row("PUT", BUCKET, ("object-lock",), "PutObjectLockConfiguration", OWNER),
    Row("GET", BUCKET, ("publicAccessBlock",), "GetPublicAccessBlock", OWNER),
    Row("PUT", BUCKET, ("publicAccessBlock",), "PutPublicAccessBlock", OWNER),
    Row("DELETE", BUCKET, ("publicAccessBlock",), "DeletePublicAccessBlock", OWNER),
    Row("GET", BUCKET, ("metadataTable",), "GetBucketMetadataTableConfiguration", OWNER),
    Row("POST", BUCKET, ("metadataTable",), "CreateBucketMetadataTableConfiguration", OWNER),
    Row("DELETE", BUCKET, ("metadataTable",), "DeleteBucketMetadataTableConfiguration", OWNER),
    Row("GET", BUCKET, ("session",), "CreateSession", OWNER),
    Row("GET", BUCKET, ("uploads",), "ListMultipartUploads", READ),
    Row("GET", BUCKET, ("versions",), "ListObjectVersions", READ),
    Row("GET", BUCKET, ("list-type",), "ListObjectsV2", READ),
    Row("POST", BUCKET, ("delete",), "DeleteObjects", WRITE),
    # -- buckets -----------------------------------------------------------------------
    Row("GET", BUCKET, (), "ListObjects", READ),
    Row("PUT", BUCKET, (), "CreateBucket", OWNER),
    Row("DELETE", BUCKET, (), "DeleteBucket", OWNER),
    Row("HEAD", BUCKET, (), "HeadBucket", READ),
    Row("POST", BUCKET, (), "PostObject", WRITE),
    Row("OPTIONS", BUCKET, (), "OptionsObject", READ),
]


@dataclass(frozen=True)
class Operation:
    name: str
    permission: str
    target: str
    header: str | None = None       # the header that chose the row (x-amz-copy-source for copies)


def resolve(method: str, bucket: str | None, key: str | None, query: dict[str, str],
            headers: dict[str, str]) -> Operation:
    """The S3 operation a request asks for; MethodNotAllowed when none takes this method here."""
    target = OBJECT if key is not None else BUCKET if bucket is not None else SERVICE
    if method == "GET" and target == BUCKET and query.get("list-type") not in (None, "2"):
        raise S3Error("InvalidArgument", "Invalid List Type specified in Request",
                      ArgumentName="list-type", ArgumentValue=query["list-type"])
    for row in OPERATIONS:
        if (row.method == method and row.target == target
                and all(q in query for q in row.query)
                and (row.header is None or row.header in headers)):
            return Operation(row.operation, row.permission, target, row.header)
    raise S3Error("MethodNotAllowed", f"{method} is not allowed on this {target}.",
                  Method=method, ResourceType=target.upper())


def operation_names() -> list[str]:
    return sorted({row.operation for row in OPERATIONS})
