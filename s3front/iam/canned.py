"""MinIO's anonymous access levels (`mc anonymous set none|download|upload|public`) as bucket policies.

What mc writes (through minio-go's pkg/policy: download = "readonly", upload = "writeonly",
public = "readwrite"), for a bucket or a bucket/prefix:
- every level: s3:GetBucketLocation on the bucket;
- download: s3:ListBucket on the bucket (for a prefix, with StringEquals s3:prefix = prefix) and
  s3:GetObject on bucket/prefix*;
- upload: s3:ListBucketMultipartUploads on the bucket and s3:AbortMultipartUpload,
  s3:DeleteObject, s3:ListMultipartUploadParts, s3:PutObject on bucket/prefix*;
- public: both. All to Principal {"AWS": ["*"]}.
The reverse question, which level a policy grants for a prefix, is answered by asking the policy
about anonymous requests for each of those permissions, so any policy that grants them counts.
"""
from __future__ import annotations

import json
from typing import Any

from s3front.iam.arn import bucket_arn, object_arn
from s3front.iam.evaluate import Request, anonymous, context, decide
from s3front.iam.policy import VERSION_2012, Policy

LEVELS = ("none", "download", "upload", "public")
CUSTOM = "custom"                 # mc's word for a policy that grants anonymous access but no level
BUCKET_COMMON = ("s3:GetBucketLocation",)
BUCKET_DOWNLOAD = ("s3:ListBucket",)
BUCKET_UPLOAD = ("s3:ListBucketMultipartUploads",)
OBJECT_DOWNLOAD = ("s3:GetObject",)
OBJECT_UPLOAD = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:ListMultipartUploadParts", "s3:PutObject")
_EVERYONE = {"AWS": ["*"]}
_PROBE_KEY = "\x00coffer-probe"        # an object name under the prefix that no policy names by itself


def _statement(actions: tuple[str, ...], resource: str,
               condition: dict[str, Any] | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": _EVERYONE, "Action": sorted(actions),
                          "Resource": [resource]}
    if condition:
        st["Condition"] = condition
    return st


def canned_policy(level: str, bucket: str, prefix: str = "") -> dict[str, Any] | None:
    """The bucket policy document for `level` on bucket/prefix; None for "none"."""
    if level not in LEVELS:
        raise ValueError(f"unknown anonymous level {level!r}; one of {', '.join(LEVELS)}")
    if level == "none":
        return None
    download, upload = level in ("download", "public"), level in ("upload", "public")
    bucket_actions = BUCKET_COMMON + (BUCKET_UPLOAD if upload else ())
    object_actions = (OBJECT_DOWNLOAD if download else ()) + (OBJECT_UPLOAD if upload else ())
    statements = []
    if download and prefix:
        statements.append(_statement(bucket_actions, bucket_arn(bucket)))
        statements.append(_statement(BUCKET_DOWNLOAD, bucket_arn(bucket),
                                     {"StringEquals": {"s3:prefix": [prefix]}}))
    else:
        everything = bucket_actions + (BUCKET_DOWNLOAD if download else ())
        statements.append(_statement(everything, bucket_arn(bucket)))
    statements.append(_statement(object_actions, object_arn(bucket, prefix + "*")))
    return {"Version": VERSION_2012, "Statement": statements}


def canned_policy_json(level: str, bucket: str, prefix: str = "") -> str | None:
    """`canned_policy` as the JSON text a PutBucketPolicy would carry."""
    doc = canned_policy(level, bucket, prefix)
    return None if doc is None else json.dumps(doc, separators=(",", ":"))


def _allowed(policy: Policy, action: str, resource: str, prefix: str) -> bool:
    who = anonymous()
    keys = context(who, {"s3:prefix": prefix})
    return decide(Request(who, action, resource, "", keys), resource_policy=policy).allowed


def _grants(policy: Policy, bucket: str, prefix: str, bucket_actions: tuple[str, ...],
            object_actions: tuple[str, ...]) -> bool:
    target = object_arn(bucket, prefix + _PROBE_KEY)
    return (all(_allowed(policy, a, bucket_arn(bucket), prefix) for a in bucket_actions)
            and all(_allowed(policy, a, target, prefix) for a in object_actions))


def anonymous_level(policy: Policy | None, bucket: str, prefix: str = "") -> str:
    """Which level `policy` grants anonymous users on bucket/prefix: none, download, upload,
    public, or "custom" when it grants them something short of a level."""
    if policy is None:
        return "none"
    download = _grants(policy, bucket, prefix, BUCKET_COMMON + BUCKET_DOWNLOAD, OBJECT_DOWNLOAD)
    upload = _grants(policy, bucket, prefix, BUCKET_COMMON + BUCKET_UPLOAD, OBJECT_UPLOAD)
    if download and upload:
        return "public"
    if download or upload:
        return "download" if download else "upload"
    probes = BUCKET_COMMON + BUCKET_DOWNLOAD + BUCKET_UPLOAD
    some = any(_allowed(policy, a, bucket_arn(bucket), prefix) for a in probes) or any(
        _allowed(policy, a, object_arn(bucket, prefix + _PROBE_KEY), prefix)
        for a in OBJECT_DOWNLOAD + OBJECT_UPLOAD)
    return CUSTOM if some else "none"
