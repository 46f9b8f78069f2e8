"""IAM roles: Create/Get/List/Update/DeleteRole, UpdateAssumeRolePolicy, their tags; and trust policies,
the resource policies of roles (who may assume them), validated as IAM validates them."""
from __future__ import annotations

from typing import Any

from s3front.iam import Policy, PolicyError, PolicySizeError, check_size
from s3front.iam.patterns import Pattern
from s3front.iam.policy import Kind, Statement, _Parser, load
from s3front.iam.variables import tokenize
from s3front.iam_api import model as M
from s3front.iam_api.protocol import QueryRequest, page, paged
from s3front.iam_api.store import create, remove, update
from s3front.xml import Node
from shared import constants as C
from shared.contract.iam import ROLE
from shared.errors import S3Error

_TRUST_ACTIONS = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
                  "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")


class _TrustParser(_Parser):
    """A role's trust policy: a resource policy of sts:AssumeRole* actions, with no Resource."""

    def __init__(self) -> None:
        super().__init__(Kind.RESOURCE, "-", None)
        self.services = ("sts",)
        self.unique_sids = True

    def statement(self, index: int, raw: dict[str, Any]) -> Statement:
        if "Resource" in raw or "NotResource" in raw:
            raise PolicyError("Has prohibited field Resource")
        if "Principal" not in raw and "NotPrincipal" not in raw:
            raise PolicyError("AssumeRolepolicy contained an invalid principal: Missing required field Principal")
        st = super().statement(index, {**raw, "Resource": "*"})
        actions = raw.get("Action") or raw.get("NotAction")
        for action in [actions] if isinstance(actions, str) else actions or []:
            if isinstance(action, str) and action.lower() not in _TRUST_ACTIONS and action != "sts:*":
                raise PolicyError("AssumeRole policy may only specify STS AssumeRole actions.")
        return st

    def _resource(self, text: str) -> Pattern:
        return Pattern(tokenize(text, False, wildcards=True))

    def _actions_apply(self, actions: list[str], resources: list[str]) -> None:
        return None


def parse_trust_policy(text: str, name: str = "trust-policy") -> Policy:
    """A compiled trust policy; PolicyError if IAM would refuse it."""
    return _TrustParser().document(load(text), name)


def check_trust(text: str) -> str:
    try:
        parse_trust_policy(text)
        check_size("role", text)
    except PolicySizeError as exc:
        raise S3Error("LimitExceeded", exc.message) from None
    except PolicyError as exc:
        raise S3Error("MalformedPolicyDocument", exc.message) from None
    return text


def _max_session(q: QueryRequest) -> int:
    return q.integer("MaxSessionDuration", C.STS_MIN_ROLE_SESSION_S, C.STS_MAX_ROLE_SESSION_S,
                     C.STS_DEFAULT_ROLE_MAX_SESSION_S)


def _role_name(q: QueryRequest) -> str:
    return M.check_name("RoleName", q.require("RoleName"))


async def create_role(q: QueryRequest) -> list[Node]:
    name, path = _role_name(q), M.check_path(q.get("Path"))
    trust = check_trust(q.require("AssumeRolePolicyDocument"))
    store = q.frontend.identities
    doc = {"path": path, "roleId": M.new_id("role"), "arn": M.arn(q.account_id, "role", path, name),
           "createDate": M.now(), "trust": trust, "description": q.get("Description") or "",
           "maxSession": _max_session(q), "inline": {}, "attached": [], "tags": M.check_tags(q.member_maps("Tags"))}

    async def plan():
        if await store.get(q.account_id, ROLE, name) is not None:
            raise M.exists("role", name)
        return [create(ROLE, name, doc)], None
    await store.transact(q.account_id, plan)
    return [("Role", M.role_xml(name, doc, tags=True))]


async def get_role(q: QueryRequest) -> list[Node]:
    role = await q.frontend.identities.need(q.account_id, ROLE, _role_name(q))
    return [("Role", M.role_xml(role.name, role.doc, tags=True))]


async def list_roles(q: QueryRequest) -> list[Node]:
    prefix = M.check_path(q.get("PathPrefix"), "PathPrefix")
    roles = [r for r in await q.frontend.identities.list(q.account_id, ROLE) if r.doc["path"].startswith(prefix)]
    shown, truncated, marker = page(roles, q, lambda r: r.name)
    return paged("Roles", [("member", M.role_xml(r.name, r.doc)) for r in shown], truncated, marker)


async def _change_role(q: QueryRequest, change) -> None:
    name, store = _role_name(q), q.frontend.identities

    async def plan():
        role = await store.need(q.account_id, ROLE, name)
        return [update(role, change(dict(role.doc)))], None
    await store.transact(q.account_id, plan)


async def update_role(q: QueryRequest) -> list[Node]:
    description, duration = q.get("Description"), q.integer("MaxSessionDuration", C.STS_MIN_ROLE_SESSION_S,
                                                            C.STS_MAX_ROLE_SESSION_S)

    def change(doc: dict) -> dict:
        if description is not None:
            doc["description"] = description
        if duration is not None:
            doc["maxSession"] = duration
        return doc
    await _change_role(q, change)
    return []


async def update_assume_role_policy(q: QueryRequest) -> None:
    trust = check_trust(q.require("PolicyDocument"))
    await _change_role(q, lambda doc: {**doc, "trust": trust})


async def delete_role(q: QueryRequest) -> None:
    name, store = _role_name(q), q.frontend.identities

    async def plan():
        role = await store.need(q.account_id, ROLE, name)
        if role.doc.get("inline"):
            raise S3Error("DeleteConflict", "Cannot delete entity, must delete policies first.")
        if role.doc.get("attached"):
            raise S3Error("DeleteConflict", "Cannot delete entity, must detach all policies first.")
        return [remove(role)], None
    await store.transact(q.account_id, plan)


async def tag_role(q: QueryRequest) -> None:
    new = M.check_tags(q.member_maps("Tags"))
    await _change_role(q, lambda doc: {**doc, "tags": M.merge_tags(doc.get("tags", []), new)})


async def untag_role(q: QueryRequest) -> None:
    gone = {k.lower() for k in q.members("TagKeys")}
    await _change_role(q, lambda doc: {**doc, "tags": [t for t in doc.get("tags", []) if t["Key"].lower() not in gone]})


async def list_role_tags(q: QueryRequest) -> list[Node]:
    role = await q.frontend.identities.need(q.account_id, ROLE, _role_name(q))
    tags = role.doc.get("tags", [])
    return [("Tags", [("member", [("Key", t["Key"]), ("Value", t["Value"])]) for t in tags]), ("IsTruncated", False)]


ACTIONS = {
    "CreateRole": (create_role, "role"), "GetRole": (get_role, "role"), "ListRoles": (list_roles, "role"),
    "UpdateRole": (update_role, "role"), "DeleteRole": (delete_role, "role"),
    "UpdateAssumeRolePolicy": (update_assume_role_policy, "role"),
    "TagRole": (tag_role, "role"), "UntagRole": (untag_role, "role"), "ListRoleTags": (list_role_tags, "role"),
}
