"""IAM groups: Create/Get/List/Update/DeleteGroup, AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser."""
from __future__ import annotations

from s3front.iam_api import model as M
from s3front.iam_api.protocol import QueryRequest, page, paged
from s3front.iam_api.store import create, remove, update
from s3front.iam_api.users import check_group_count
from s3front.xml import Node
from shared.contract.iam import GROUP, USER
from shared.errors import S3Error


def _group_name(q: QueryRequest) -> str:
    return M.check_name("GroupName", q.require("GroupName"))


async def create_group(q: QueryRequest) -> list[Node]:
    name, path = _group_name(q), M.check_path(q.get("Path"))
    store = q.frontend.identities
    doc = {"path": path, "groupId": M.new_id("group"), "arn": M.arn(q.account_id, "group", path, name),
           "createDate": M.now(), "inline": {}, "attached": [], "members": []}

    async def plan():
        if await store.get(q.account_id, GROUP, name) is not None:
            raise M.exists("group", name)
        return [create(GROUP, name, doc)], None
    await store.transact(q.account_id, plan)
    return [("Group", M.group_xml(name, doc))]


async def get_group(q: QueryRequest) -> list[Node]:
    store = q.frontend.identities
    group = await store.need(q.account_id, GROUP, _group_name(q))
    users = [u for u in [await store.get(q.account_id, USER, m) for m in group.doc["members"]] if u is not None]
    shown, truncated, marker = page(sorted(users, key=lambda r: r.name.lower()), q, lambda r: r.name)
    return [("Group", M.group_xml(group.name, group.doc)),
            *paged("Users", [("member", M.user_xml(u.name, u.doc)) for u in shown], truncated, marker)]


async def list_groups(q: QueryRequest) -> list[Node]:
    prefix = M.check_path(q.get("PathPrefix"), "PathPrefix")
    groups = [g for g in await q.frontend.identities.list(q.account_id, GROUP) if g.doc["path"].startswith(prefix)]
    shown, truncated, marker = page(groups, q, lambda r: r.name)
    return paged("Groups", [("member", M.group_xml(g.name, g.doc)) for g in shown], truncated, marker)


async def update_group(q: QueryRequest) -> None:
    """A new path; a new name is refused while the group has members (their records name it)."""
    name = _group_name(q)
    asked = q.get("NewGroupName")
    if asked is not None:
        M.check_name("GroupName", asked)
    store = q.frontend.identities

    async def plan():
        group = await store.need(q.account_id, GROUP, name)
        new_name = asked or group.name
        doc = dict(group.doc)
        if q.get("NewPath") is not None:
            doc["path"] = M.check_path(q.get("NewPath"), "NewPath")
        doc["arn"] = M.arn(q.account_id, "group", doc["path"], new_name)
        if new_name == group.name:
            return [update(group, doc)], None
        if new_name.lower() != group.name.lower() and await store.get(q.account_id, GROUP, new_name) is not None:
            raise M.exists("group", new_name)
        changes = [remove(group), create(GROUP, new_name, doc)]
        for member in group.doc["members"]:
            user = await store.get(q.account_id, USER, member)
            if user is not None:
                groups = [new_name if g == group.name else g for g in user.doc["groups"]]
                changes.append(update(user, {**user.doc, "groups": groups}))
        return changes, None
    await store.transact(q.account_id, plan)


async def delete_group(q: QueryRequest) -> None:
    name, store = _group_name(q), q.frontend.identities

    async def plan():
        group = await store.need(q.account_id, GROUP, name)
        if group.doc["members"]:
            raise S3Error("DeleteConflict", "Cannot delete entity, must remove users from group first.")
        if group.doc.get("inline"):
            raise S3Error("DeleteConflict", "Cannot delete entity, must delete policies first.")
        if group.doc.get("attached"):
            raise S3Error("DeleteConflict", "Cannot delete entity, must detach all policies first.")
        return [remove(group)], None
    await store.transact(q.account_id, plan)


async def _membership(q: QueryRequest, join: bool) -> None:
    asked_group, asked_user = _group_name(q), M.check_name("UserName", q.require("UserName"))
    store = q.frontend.identities

    async def plan():
        group = await store.need(q.account_id, GROUP, asked_group)
        user = await store.need(q.account_id, USER, asked_user)
        members, groups = list(group.doc["members"]), list(user.doc["groups"])
        user_name, group_name = user.name, group.name       # as stored (names are case-insensitive)
        if join and user_name not in members:
            members.append(user_name)
            groups.append(group_name)
            check_group_count(groups)
        elif not join:
            if user_name not in members:
                raise S3Error("NoSuchEntity", f"The user with name {user_name} cannot be found in group "
                              f"{group_name}.")
            members.remove(user_name)
            groups = [g for g in groups if g != group_name]
        else:
            return [], None
        return [update(group, {**group.doc, "members": members}), update(user, {**user.doc, "groups": groups})], None
    await store.transact(q.account_id, plan)


async def add_user_to_group(q: QueryRequest) -> None:
    await _membership(q, join=True)


async def remove_user_from_group(q: QueryRequest) -> None:
    await _membership(q, join=False)


async def list_groups_for_user(q: QueryRequest) -> list[Node]:
    store = q.frontend.identities
    user = await store.need(q.account_id, USER, M.check_name("UserName", q.require("UserName")))
    groups = [g for g in [await store.get(q.account_id, GROUP, n) for n in sorted(user.doc["groups"], key=str.lower)] if g]
    shown, truncated, marker = page(groups, q, lambda r: r.name)
    return paged("Groups", [("member", M.group_xml(g.name, g.doc)) for g in shown], truncated, marker)


ACTIONS = {
    "CreateGroup": (create_group, "group"), "GetGroup": (get_group, "group"), "ListGroups": (list_groups, "group"),
    "UpdateGroup": (update_group, "group"), "DeleteGroup": (delete_group, "group"),
    "AddUserToGroup": (add_user_to_group, "group"), "RemoveUserFromGroup": (remove_user_from_group, "group"),
    "ListGroupsForUser": (list_groups_for_user, "user"),
}
