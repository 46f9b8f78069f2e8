"""S3 error responses: the one place that renders error XML (the catalogue is shared.errors)."""
from __future__ import annotations

from shared.errors import CATALOGUE, InternalError, S3Error, ServiceUnavailable  # noqa: F401 - re-exported
from s3front.xml import document


def error_body(err: S3Error, resource: str, request_id: str) -> bytes:
    children = [("Code", err.code), ("Message", err.message)]
    children += [(k, v) for k, v in err.fields.items() if v is not None]
    children += [("Resource", resource), ("RequestId", request_id), ("HostId", request_id)]
    return document("Error", children, namespace=False)


def not_implemented(operation: str) -> S3Error:
    return S3Error("NotImplemented", f"{operation} is not implemented by Coffer yet.")
