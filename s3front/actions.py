"""The IAM action each S3 operation is authorized as, from AWS's "Amazon S3 API operations and the
permissions they require" (Service Authorization Reference).

Most operations are their own action (s3:GetObject); the table below holds the others. An
operation on a named version asks for the version action (s3:GetObjectVersion, ...), as AWS does.
"""
from __future__ import annotations

ACTIONS: dict[str, str] = {
    "ListBuckets": "ListAllMyBuckets",
    "HeadBucket": "ListBucket", "ListObjects": "ListBucket", "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject", "UploadPart": "PutObject", "UploadPartCopy": "PutObject",
    "CreateMultipartUpload": "PutObject", "CompleteMultipartUpload": "PutObject", "PostObject": "PutObject",
    "DeleteObjects": "DeleteObject",           # and each key is decided on its own
    "RenameObject": "PutObject",
    "SelectObjectContent": "GetObject",
    "CreateSession": "CreateSession",
    "GetBucketCors": "GetBucketCORS", "PutBucketCors": "PutBucketCORS", "DeleteBucketCors": "PutBucketCORS",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration", "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketTagging": "PutBucketTagging",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketReplication": "GetReplicationConfiguration", "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock", "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "DeleteBucketMetadataTableConfiguration": "DeleteBucketMetadataTableConfiguration",
    "CreateBucketMetadataTableConfiguration": "CreateBucketMetadataTableConfiguration",
    "GetBucketMetadataTableConfiguration": "GetBucketMetadataTableConfiguration",
}
# Configurations addressed by id: one Get and one Put action each covers Get/List and Put/Delete.
for _kind, _action in (("Analytics", "Analytics"), ("Inventory", "Inventory"), ("Metrics", "Metrics"),
                       ("IntelligentTiering", "IntelligentTiering")):
    ACTIONS[f"GetBucket{_kind}Configuration"] = f"Get{_action}Configuration"
    ACTIONS[f"ListBucket{_kind}Configurations"] = f"Get{_action}Configuration"
    ACTIONS[f"PutBucket{_kind}Configuration"] = f"Put{_action}Configuration"
    ACTIONS[f"DeleteBucket{_kind}Configuration"] = f"Put{_action}Configuration"

# Operations that name a version through ?versionId ask for these instead.
VERSION_ACTIONS: dict[str, str] = {
    "GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl", "PutObjectAcl": "PutObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging", "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging", "GetObjectAttributes": "GetObjectVersionAttributes",
    "GetObjectTorrent": "GetObjectVersionTorrent",
}


def iam_action(operation: str, version: bool = False) -> str:
    """The action ("s3:GetObject") an operation is authorized as; `version`: it names a version."""
    name = ACTIONS.get(operation, operation)
    if version:
        name = VERSION_ACTIONS.get(name, name)
    return f"s3:{name}"
