"""Access keys: Create/List/Update/DeleteAccessKey, GetAccessKeyLastUsed, and service accounts
(MinIO's: an extra key of a user, optionally narrowed by its own policy; Coffer's actions
Create/List/Get/Update/DeleteServiceAccount on the same API)."""
from __future__ import annotations

import re

from s3front.iam import PrincipalKind
from s3front.iam_api import model as M
from s3front.iam_api.protocol import QueryRequest, page, paged, policy_document
from s3front.iam_api.store import IAMChange, IAMRecord, create, remove, update
from s3front.xml import Node
from shared import constants as C
from shared.contract.iam import ACCESS_KEY, ROOT, USER
from shared.errors import S3Error

_STATUSES = ("Active", "Inactive")
ROOT_USER = ""          # the user name of the account root's own keys (its record: kind ROOT, "root")
_CUSTOM_KEY = re.compile(r"[A-Za-z0-9_.=@+-]{3,128}", re.ASCII)


def _user_name(q: QueryRequest) -> str:
    """UserName, or the caller's own name when it is left out (ROOT_USER for an account root)."""
    name = q.get("UserName")
    if name is None:
        if q.principal.kind is PrincipalKind.ROOT:
            return ROOT_USER
        if q.principal.kind not in (PrincipalKind.USER, PrincipalKind.SERVICE_ACCOUNT):
            raise S3Error("ValidationError", "Must specify userName when calling with non-User credentials")
        return q.principal.user_name
    return M.check_name("UserName", name)


async def _holder(q: QueryRequest, user_name: str) -> IAMRecord | None:
    """The record listing the keys of a user (NoSuchEntity if none), or of the account root (None
    until its first key)."""
    store = q.frontend.identities
    if user_name == ROOT_USER:
        return await store.get(q.account_id, ROOT, "root")
    return await store.need(q.account_id, USER, user_name)


def _with_keys(holder: IAMRecord | None, keys: list[str]) -> IAMChange:
    """The holder's record with these keys (the root's record is made with its first key)."""
    if holder is None:
        return create(ROOT, "root", {"keys": keys})
    return update(holder, {**holder.doc, "keys": keys})


def _status(q: QueryRequest) -> str:
    status = q.require("Status")
    if status not in _STATUSES:
        raise S3Error("ValidationError", f"1 validation error detected: Value '{status}' at 'status' failed to "
                      "satisfy constraint: Member must satisfy enum value set: [Active, Inactive]")
    return status


async def _new_key(q: QueryRequest, user_name: str, doc: dict, access_key: str | None = None,
                   secret: str | None = None) -> tuple[str, str, dict]:
    """Store a new key of a user: (access key id, secret, stored document)."""
    store = q.frontend.identities
    access_key, secret = access_key or M.new_id("key"), secret or M.new_secret()
    doc = {"account": q.account_id, "user": user_name, "secret": store.seal_secret(access_key, secret),
           "status": "Active", "createDate": M.now(), "service": False, "root": user_name == ROOT_USER, **doc}

    async def plan():
        holder = await _holder(q, user_name)
        if holder is not None:
            doc["user"] = holder.name if user_name != ROOT_USER else ROOT_USER     # as stored
        if q.frontend.config.account_by_access_key(access_key) or await store.get("", ACCESS_KEY, access_key):
            raise S3Error("EntityAlreadyExists", f"The access key {access_key} is already in use.")
        held = holder.doc.get("keys", []) if holder is not None else []
        if not doc["service"]:
            owned = [await store.get("", ACCESS_KEY, k) for k in held]
            if sum(1 for k in owned if k and not k.doc.get("service")) >= C.IAM_MAX_ACCESS_KEYS:
                raise S3Error("LimitExceeded", f"Cannot exceed quota for AccessKeysPerUser: {C.IAM_MAX_ACCESS_KEYS}")
        return [_with_keys(holder, held + [access_key]), create(ACCESS_KEY, access_key, doc)], None
    await store.transact(q.account_id, plan)
    return access_key, secret, doc


async def create_access_key(q: QueryRequest) -> list[Node]:
    access_key, secret, doc = await _new_key(q, _user_name(q), {})
    return [("AccessKey", M.key_xml(access_key, doc, secret))]


async def _user_keys(q: QueryRequest, user_name: str, service: bool) -> list[IAMRecord]:
    store = q.frontend.identities
    holder = await _holder(q, user_name)
    keys = [await store.get("", ACCESS_KEY, k) for k in (holder.doc.get("keys", []) if holder else [])]
    return [k for k in keys if k is not None and bool(k.doc.get("service")) == service]


async def list_access_keys(q: QueryRequest) -> list[Node]:
    keys = await _user_keys(q, _user_name(q), service=False)
    shown, truncated, marker = page(keys, q, lambda r: r.name)
    rendered = [("member", [("UserName", k.doc["user"] or None), ("AccessKeyId", k.name), ("Status", k.doc["status"]),
                            ("CreateDate", k.doc["createDate"])]) for k in shown]
    return paged("AccessKeyMetadata", rendered, truncated, marker)


async def _key_of(q: QueryRequest, access_key: str, user_name: str | None, service: bool) -> IAMRecord:
    """A key of this account (of `user_name` if given), of the kind asked for; NoSuchEntity otherwise."""
    key = await q.frontend.identities.get("", ACCESS_KEY, access_key)
    if key is None or key.doc["account"] != q.account_id or bool(key.doc.get("service")) != service \
            or (user_name is not None and key.doc["user"].lower() != user_name.lower()):
        what = "service account" if service else "Access Key"
        raise S3Error("NoSuchEntity", f"The {what} with id {access_key} cannot be found.")
    return key


async def update_access_key(q: QueryRequest) -> None:
    access_key, status = q.require("AccessKeyId"), _status(q)
    user_name = _user_name(q)

    async def plan():
        key = await _key_of(q, access_key, user_name, service=False)
        return [update(key, {**key.doc, "status": status})], None
    await q.frontend.identities.transact(q.account_id, plan)


async def _delete_key(q: QueryRequest, access_key: str, user_name: str | None, service: bool) -> None:
    store = q.frontend.identities

    async def plan():
        key = await _key_of(q, access_key, user_name, service)
        holder = (await store.get(q.account_id, ROOT, "root") if key.doc.get("root")
                  else await store.get(q.account_id, USER, key.doc["user"]))
        changes = [remove(key)]
        if holder is not None:
            changes.append(_with_keys(holder, [k for k in holder.doc["keys"] if k != access_key]))
        return changes, None
    await store.transact(q.account_id, plan)


async def delete_access_key(q: QueryRequest) -> None:
    await _delete_key(q, q.require("AccessKeyId"), _user_name(q), service=False)


async def get_access_key_last_used(q: QueryRequest) -> list[Node]:
    key = await _key_of(q, q.require("AccessKeyId"), None, service=False)
    return [("UserName", key.doc["user"]), ("AccessKeyLastUsed", [("ServiceName", "N/A"), ("Region", "N/A")])]


# -- service accounts ----------------------------------------------------------------------------------

def _narrowing(q: QueryRequest) -> str | None:
    text = q.get("Policy")
    return M.check_document(text) if text else None


async def create_service_account(q: QueryRequest) -> list[Node]:
    access_key, secret = q.get("AccessKey"), q.get("SecretKey")
    if access_key is not None and not _CUSTOM_KEY.fullmatch(access_key):
        raise S3Error("ValidationError", "An access key must have 3 to 128 letters, digits or _.=@+-")
    if secret is not None and not 8 <= len(secret) <= 128:
        raise S3Error("ValidationError", "A secret key must have 8 to 128 characters")
    doc = {"service": True, "policy": _narrowing(q), "name": q.get("Name") or "",
           "description": q.get("Description") or ""}
    access_key, secret, _ = await _new_key(q, M.check_name("UserName", q.require("UserName")), doc,
                                           access_key, secret)
    return [("Credentials", [("AccessKeyId", access_key), ("SecretAccessKey", secret)])]


def _service_xml(key: IAMRecord, full: bool = False) -> list[Node]:
    out: list[Node] = [("AccessKeyId", key.name), ("UserName", key.doc["user"]), ("Status", key.doc["status"]),
                       ("Name", key.doc.get("name") or None), ("Description", key.doc.get("description") or None),
                       ("CreateDate", key.doc["createDate"])]
    if full and key.doc.get("policy"):
        out.append(("Policy", policy_document(key.doc["policy"])))
    return out


async def list_service_accounts(q: QueryRequest) -> list[Node]:
    keys = await _user_keys(q, M.check_name("UserName", q.require("UserName")), service=True)
    return [("ServiceAccounts", [("member", _service_xml(k)) for k in keys])]


async def get_service_account(q: QueryRequest) -> list[Node]:
    key = await _key_of(q, q.require("AccessKeyId"), None, service=True)
    return [("ServiceAccount", _service_xml(key, full=True))]


async def update_service_account(q: QueryRequest) -> None:
    access_key = q.require("AccessKeyId")
    status = _status(q) if "Status" in q.params else None
    policy = _narrowing(q) if "Policy" in q.params else False

    async def plan():
        key = await _key_of(q, access_key, None, service=True)
        doc = dict(key.doc)
        if status is not None:
            doc["status"] = status
        if policy is not False:
            doc["policy"] = policy
        return [update(key, doc)], None
    await q.frontend.identities.transact(q.account_id, plan)


async def delete_service_account(q: QueryRequest) -> None:
    await _delete_key(q, q.require("AccessKeyId"), None, service=True)


ACTIONS = {
    "CreateAccessKey": (create_access_key, "user"), "ListAccessKeys": (list_access_keys, "user"),
    "UpdateAccessKey": (update_access_key, "user"), "DeleteAccessKey": (delete_access_key, "user"),
    "GetAccessKeyLastUsed": (get_access_key_last_used, "user"),
    "CreateServiceAccount": (create_service_account, "user"), "ListServiceAccounts": (list_service_accounts, "user"),
    "GetServiceAccount": (get_service_account, "user"), "UpdateServiceAccount": (update_service_account, "user"),
    "DeleteServiceAccount": (delete_service_account, "user"),
}
