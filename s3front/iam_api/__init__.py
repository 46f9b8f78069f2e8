"""The IAM and STS Query APIs on the S3 port: `POST /` signed with SigV4 for service `iam` or `sts`.

`is_query_api` recognizes such a request by its credential scope (before any S3 routing);
`handle` reads and authenticates it (the body's SHA-256 is the signed payload), authorizes the
call (an account root may do anything; anyone else as its identity policies allow, by decide()),
runs the action's handler and answers in the service's XML, errors as IAM's ErrorResponse.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from s3front.auth import claimed_access_key
from s3front.body import read_small_body
from s3front.iam import Decision, PrincipalKind, Request, account_root, context, decide
from s3front.iam_api import account, groups, keys, notify, oidc, policies, roles, sts, users
from s3front.iam_api.model import arn
from s3front.iam_api.protocol import QueryRequest, error_document, response
from s3front.request import S3Request, S3Response
from s3front.sse import admin_api as kms_admin
from shared import constants as C
from shared.errors import InternalError, S3Error

log = logging.getLogger("coffer.iam")

IAM_ACTIONS = {**users.ACTIONS, **keys.ACTIONS, **groups.ACTIONS, **policies.ACTIONS, **roles.ACTIONS,
               **oidc.ACTIONS, **account.ACTIONS, **notify.ACTIONS, **kms_admin.ACTIONS}
SERVICES = {"iam": IAM_ACTIONS, "sts": sts.ACTIONS}
# Coffer's own actions (MinIO's user status and service accounts) are authorized as these IAM actions.
AUTHORIZED_AS = {"EnableUser": "UpdateUser", "DisableUser": "UpdateUser", "CreateServiceAccount": "CreateAccessKey",
                 "ListServiceAccounts": "ListAccessKeys", "GetServiceAccount": "ListAccessKeys",
                 "UpdateServiceAccount": "UpdateAccessKey", "DeleteServiceAccount": "DeleteAccessKey"}
_NAME_PARAMS = {"user": "UserName", "group": "GroupName", "role": "RoleName", "policy": "PolicyName"}
# What authentication failures are called by these services (STS and IAM's "Common Errors").
_AUTH_CODES = {"InvalidAccessKeyId": ("InvalidClientTokenId", 403, "The security token included in the request "
                                      "is invalid."),
               "ExpiredToken": ("ExpiredToken", 403, "The security token included in the request is expired"),
               "InvalidToken": ("InvalidClientTokenId", 403, "The security token included in the request is "
                                "invalid.")}


def query_service(method: str, raw_path: str, headers: dict[str, str]) -> str | None:
    """"iam" or "sts" when the request is a call of one of these APIs, else None."""
    if method not in ("POST", "GET") or raw_path != "/":
        return None
    auth = headers.get("authorization", "")
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0] if "Credential=" in auth else ""
    parts = scope.split("/")
    return parts[3] if len(parts) == 5 and parts[3] in SERVICES else None


async def handle(req: S3Request, service: str) -> S3Response:
    """Answer one IAM or STS call."""
    try:
        body = await read_small_body(req, C.IAM_MAX_BODY_BYTES) if req.method == "POST" else b""
        q = await _authenticated(req, service, body)
        handler, family = _handler(q)
        await _authorize(q, family)
        result = await handler(q)
        return S3Response(200, {"Content-Type": "text/xml"}, response(service, q.action, result, req.request_id))
    except S3Error as exc:
        return _error(service, _renamed(exc), req.request_id)
    except InternalError as exc:
        log.error("internal error", extra={"error": exc.message, "code": exc.code})
        return _error(service, S3Error("ServiceFailure", "An internal error occurred.", status=500), req.request_id)
    except Exception as exc:  # noqa: BLE001 - every failure gets an answer
        log.exception("unhandled error in the IAM API", extra={"error": repr(exc)})
        return _error(service, S3Error("ServiceFailure", "An internal error occurred.", status=500), req.request_id)


def _error(service: str, err: S3Error, request_id: str) -> S3Response:
    return S3Response(err.status, {"Content-Type": "text/xml", **err.headers},
                      error_document(service, err, request_id))


def _renamed(exc: S3Error) -> S3Error:
    found = _AUTH_CODES.get(exc.code)
    return exc if found is None else S3Error(found[0], found[2], status=found[1])


async def _authenticated(req: S3Request, service: str, body: bytes) -> QueryRequest:
    frontend = req.frontend
    claimed = claimed_access_key(req.query, req.headers)
    if claimed:
        await frontend.identities.prefetch(claimed)
    auth = frontend.auth.authenticate_body(req.method, req.raw_path, req.raw_query, req.query, req.headers, body)
    req.auth = auth
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise S3Error("InvalidInput", "The request body is not UTF-8 form data.") from None
    params = {**req.query, **form}
    account = auth.account
    who = auth.principal or account_root(account.account_id, account.canonical_id)
    action = params.get("Action")
    if not action:
        raise S3Error("MissingAction", "Missing Action")
    return QueryRequest(service, action, params, account, who, auth.session_policies, frontend, req.request_id,
                        req.source_ip)


def _handler(q: QueryRequest):
    found = SERVICES[q.service].get(q.action)
    if found is None:
        version = "2011-06-15" if q.service == "sts" else "2010-05-08"
        raise S3Error("InvalidAction", f"Could not find operation {q.action} for version {version}")
    return found


def _resource(q: QueryRequest, family: str | None) -> str:
    """The ARN an IAM action acts on, as policies name it (the entity named, else all of its kind)."""
    if family is None:
        return "*"
    if family == "policy" and q.get("PolicyArn"):
        return q.params["PolicyArn"]
    return arn(q.account_id, family, q.get("Path") or "/", q.get(_NAME_PARAMS[family]) or "*")


async def _authorize(q: QueryRequest, family: str | None) -> None:
    """An account root may make every call; others as their identity policies allow. STS decides its own."""
    if q.service == "sts" or q.principal.kind is PrincipalKind.ROOT:
        return
    action = f"iam:{AUTHORIZED_AS.get(q.action, q.action)}"
    resource = _resource(q, family)
    identity = await q.frontend.identities.policies(q.principal)
    verdict = decide(Request(q.principal, action, resource, q.account_id,
                             context(q.principal, {"aws:sourceip": q.source_ip} if q.source_ip else {})),
                     identity, None, q.session_policies)
    if verdict.decision is not Decision.ALLOW:
        raise S3Error("AccessDenied", f"User: {q.principal.arn} is not authorized to perform: {action} on "
                      f"resource: {resource}")
