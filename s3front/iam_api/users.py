"""IAM users: Create/Get/List/Update/DeleteUser, their tags, and (Coffer's, as MinIO's) Enable/DisableUser."""
from __future__ import annotations

from s3front.iam import PrincipalKind
from s3front.iam_api import model as M
from s3front.iam_api.protocol import QueryRequest, page, paged
from s3front.iam_api.store import create, remove, update
from s3front.xml import Node
from shared import constants as C
from shared.contract.iam import ACCESS_KEY, GROUP, USER, IAMChange
from shared.errors import S3Error


async def create_user(q: QueryRequest) -> list[Node]:
    name = M.check_name("UserName", q.require("UserName"))
    path = M.check_path(q.get("Path"))
    tags = M.check_tags(q.member_maps("Tags"))
    store = q.frontend.identities
    doc = {"path": path, "userId": M.new_id("user"), "arn": M.arn(q.account_id, "user", path, name),
           "createDate": M.now(), "enabled": True, "inline": {}, "attached": [], "groups": [], "keys": [],
           "tags": tags}

    async def plan():
        if await store.get(q.account_id, USER, name) is not None:
            raise M.exists("user", name)
        return [create(USER, name, doc)], None
    await store.transact(q.account_id, plan)
    return [("User", M.user_xml(name, doc, tags=True))]


async def get_user(q: QueryRequest) -> list[Node]:
    """A user; without UserName, the caller (an account root shows its account)."""
    name, who = q.get("UserName"), q.principal
    if name is None:
        if who.kind is PrincipalKind.ROOT:
            return [("User", [("UserId", q.account_id), ("Arn", who.arn), ("CreateDate", M.now())])]
        if who.kind not in (PrincipalKind.USER, PrincipalKind.SERVICE_ACCOUNT):
            raise S3Error("ValidationError", "Must specify userName when calling with non-User credentials")
        name = who.user_name
    record = await q.frontend.identities.need(q.account_id, USER, M.check_name("UserName", name))
    return [("User", M.user_xml(record.name, record.doc, tags=True))]


async def list_users(q: QueryRequest) -> list[Node]:
    prefix = M.check_path(q.get("PathPrefix"), "PathPrefix")
    users = [r for r in await q.frontend.identities.list(q.account_id, USER) if r.doc["path"].startswith(prefix)]
    shown, truncated, marker = page(users, q, lambda r: r.name)
    return paged("Users", [("member", M.user_xml(r.name, r.doc)) for r in shown], truncated, marker)


async def update_user(q: QueryRequest) -> None:
    name = M.check_name("UserName", q.require("UserName"))
    asked = q.get("NewUserName")
    if asked is not None:
        M.check_name("UserName", asked)
    new_path = q.get("NewPath")
    store = q.frontend.identities

    async def plan():
        user = await store.need(q.account_id, USER, name)
        new_name = asked or user.name
        doc = dict(user.doc)
        if new_path is not None:
            doc["path"] = M.check_path(new_path, "NewPath")
        doc["arn"] = M.arn(q.account_id, "user", doc["path"], new_name)
        if new_name == user.name:
            return [update(user, doc)], None
        if new_name.lower() != user.name.lower() and await store.get(q.account_id, USER, new_name) is not None:
            raise M.exists("user", new_name)
        changes = [remove(user), create(USER, new_name, doc)]
        changes += await _renamed_in(q, user.doc, user.name, new_name)
        return changes, None
    await store.transact(q.account_id, plan)


async def _renamed_in(q: QueryRequest, doc: dict, old: str, new: str) -> list[IAMChange]:
    """The key records and group memberships that name a renamed user."""
    store, changes = q.frontend.identities, []
    for key_id in doc.get("keys", []):
        key = await store.get("", ACCESS_KEY, key_id)
        if key is not None:
            changes.append(update(key, {**key.doc, "user": new}))
    for group_name in doc.get("groups", []):
        group = await store.get(q.account_id, GROUP, group_name)
        if group is not None:
            members = [new if m == old else m for m in group.doc["members"]]
            changes.append(update(group, {**group.doc, "members": members}))
    return changes


async def delete_user(q: QueryRequest) -> None:
    """DeleteConflict while the user has keys, policies or groups; its service accounts go with it."""
    name = M.check_name("UserName", q.require("UserName"))
    store = q.frontend.identities

    async def plan():
        user = await store.need(q.account_id, USER, name)
        keys = [k for k in [await store.get("", ACCESS_KEY, k) for k in user.doc.get("keys", [])] if k]
        if any(not k.doc.get("service") for k in keys):
            raise S3Error("DeleteConflict", "Cannot delete entity, must delete access keys first.")
        if user.doc.get("inline"):
            raise S3Error("DeleteConflict", "Cannot delete entity, must delete policies first.")
        if user.doc.get("attached"):
            raise S3Error("DeleteConflict", "Cannot delete entity, must detach all policies first.")
        if user.doc.get("groups"):
            raise S3Error("DeleteConflict", "Cannot delete entity, must remove users from group first.")
        return [remove(user)] + [remove(k) for k in keys], None
    await store.transact(q.account_id, plan)


async def _set_user(q: QueryRequest, change) -> None:
    name = M.check_name("UserName", q.require("UserName"))
    store = q.frontend.identities

    async def plan():
        user = await store.need(q.account_id, USER, name)
        return [update(user, change(dict(user.doc)))], None
    await store.transact(q.account_id, plan)


async def tag_user(q: QueryRequest) -> None:
    new = M.check_tags(q.member_maps("Tags"))
    await _set_user(q, lambda doc: {**doc, "tags": M.merge_tags(doc.get("tags", []), new)})


async def untag_user(q: QueryRequest) -> None:
    gone = {k.lower() for k in q.members("TagKeys")}
    await _set_user(q, lambda doc: {**doc, "tags": [t for t in doc.get("tags", []) if t["Key"].lower() not in gone]})


async def list_user_tags(q: QueryRequest) -> list[Node]:
    user = await q.frontend.identities.need(q.account_id, USER, M.check_name("UserName", q.require("UserName")))
    tags = user.doc.get("tags", [])
    return [("Tags", [("member", [("Key", t["Key"]), ("Value", t["Value"])]) for t in tags]), ("IsTruncated", False)]


async def enable_user(q: QueryRequest) -> None:
    await _set_user(q, lambda doc: {**doc, "enabled": True})


async def disable_user(q: QueryRequest) -> None:
    """A disabled user's keys (and service accounts) are refused as unknown keys, as MinIO does."""
    await _set_user(q, lambda doc: {**doc, "enabled": False})


def check_group_count(groups: list[str]) -> None:
    if len(groups) > C.IAM_MAX_GROUPS_PER_USER:
        raise S3Error("LimitExceeded", f"Cannot exceed quota for GroupsPerUser: {C.IAM_MAX_GROUPS_PER_USER}")


ACTIONS = {
    "CreateUser": (create_user, "user"), "GetUser": (get_user, "user"),
    "ListUsers": (list_users, "user"), "UpdateUser": (update_user, "user"), "DeleteUser": (delete_user, "user"),
    "TagUser": (tag_user, "user"), "UntagUser": (untag_user, "user"), "ListUserTags": (list_user_tags, "user"),
    "EnableUser": (enable_user, "user"), "DisableUser": (disable_user, "user"),
}
