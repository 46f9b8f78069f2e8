"""Authorization in one place: every operation Coffer implements is refused to a stranger before
its handler runs, with the same AccessDenied, and nothing changes.

The requests are built from the routing table itself, so an operation added later is covered
without touching this file.
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3front.api import HANDLERS
from s3front.routing import BUCKET, OBJECT, OPERATIONS
from tests.cluster import ALT_ACCESS_KEY, ALT_SECRET_KEY
from tests.expect import xml_error

# Operations anyone may attempt by design: a CORS preflight answers by the bucket's CORS rules.
OPEN_BY_DESIGN = {"OptionsObject", "CreateBucket", "ListBuckets"}
ROWS = [row for row in OPERATIONS if row.operation in HANDLERS and row.operation not in OPEN_BY_DESIGN
        and row.target in (BUCKET, OBJECT)]


@pytest.fixture(scope="module")
def private(cluster):
    """A private bucket of the main account with one object and one open upload."""
    s3 = cluster.client()
    s3.create_bucket(Bucket="authz-one-place")
    s3.put_object(Bucket="authz-one-place", Key="k", Body=b"secret")
    upload = s3.create_multipart_upload(Bucket="authz-one-place", Key="k")["UploadId"]
    return s3, upload


def _request(cluster, row, upload: str) -> tuple[str, str, dict[str, str]]:
    path = "/authz-one-place" + ("/k" if row.target == OBJECT else "")
    values = {"uploadId": upload, "partNumber": "1", "list-type": "2"}
    query = urlencode({q: values.get(q, "") for q in row.query})
    headers = {"x-amz-copy-source": "/authz-one-place/k"} if row.header else {}
    if row.operation in ("DeleteObjects", "PutBucketCors", "PutBucketAcl", "PutBucketVersioning"):
        headers["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg=="
    return row.method, f"{cluster.endpoint}{path}" + (f"?{query}" if query else ""), headers


def _as_lisa(method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
    req = AWSRequest(method=method, url=url, headers={**headers, "X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()})
    SigV4Auth(Credentials(ALT_ACCESS_KEY, ALT_SECRET_KEY), "s3", "us-east-1").add_auth(req)
    return dict(req.headers.items())


@pytest.mark.parametrize("who", ["anonymous", "other-account"])
@pytest.mark.parametrize("row", ROWS, ids=[f"{r.operation}-{r.method}" for r in ROWS])
def test_a_stranger_is_refused_before_the_handler_runs(cluster, private, row, who):
    s3, upload = private
    method, url, headers = _request(cluster, row, upload)
    if who == "other-account":
        headers = _as_lisa(method, url, headers)
    resp = httpx.request(method, url, headers=headers, content=b"")
    assert resp.status_code == 403, (row.operation, resp.status_code, resp.text[:300])
    if method != "HEAD":
        assert xml_error(resp) == (403, "AccessDenied"), row.operation
    # Nothing moved: the object, its ACL and the upload are as they were.
    assert s3.get_object(Bucket="authz-one-place", Key="k")["Body"].read() == b"secret"
    uploads = s3.list_multipart_uploads(Bucket="authz-one-place").get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [upload]


def test_handlers_never_authorize_themselves():
    """The access helpers live in s3front/authorize.py alone; no handler module reaches for them."""
    import pathlib
    api = pathlib.Path(__file__).resolve().parents[1] / "s3front" / "api"
    words = ("check_access", "check_object", "bucket_attrs(", "check_initiator", "acl_model.allowed", "A.allowed(")
    offenders = [(p.name, w) for p in api.glob("*.py") for w in words if w in p.read_text()]
    assert offenders == []


def test_every_operation_is_authorized_as_an_action_the_policy_language_knows():
    from s3front.actions import VERSION_ACTIONS, iam_action
    from s3front.iam.actions import CANONICAL
    from s3front.routing import operation_names
    # OptionsObject is a preflight (no action); CreateSession is S3 Express's s3express:CreateSession.
    unknown = [(op, iam_action(op)) for op in operation_names()
               if op not in ("OptionsObject", "CreateSession") and iam_action(op).lower() not in CANONICAL]
    assert unknown == []
    assert all(f"s3:{name}".lower() in CANONICAL for name in VERSION_ACTIONS.values())
    assert iam_action("HeadObject", version=True) == "s3:GetObjectVersion"
    assert iam_action("ListObjectsV2") == "s3:ListBucket"


def test_every_handler_serves_an_operation_of_the_routing_table():
    from s3front.routing import operation_names
    assert sorted(set(HANDLERS) - set(operation_names())) == []
