"""Managed policies (Create/Get/List/DeletePolicy, their versions, Attach/Detach/ListAttached for users,
groups and roles) and inline policies (Put/Get/Delete/List for users, groups and roles)."""
from __future__ import annotations

from s3front.iam_api import aws_managed
from s3front.iam_api import model as M
from s3front.iam_api.protocol import QueryRequest, page, paged, policy_document
from s3front.iam_api.store import IAMRecord, create, remove, update
from s3front.xml import Node
from shared import constants as C
from shared.contract.iam import GROUP, POLICY, ROLE, USER
from shared.errors import S3Error

HOLDERS = {USER: "User", GROUP: "Group", ROLE: "Role"}         # kind -> the word in action names
_QUOTAS = {USER: "PoliciesPerUser", GROUP: "PoliciesPerGroup", ROLE: "PoliciesPerRole"}


def _policy_name(q: QueryRequest, policy_arn: str) -> str:
    name = M.policy_name_of(policy_arn, q.account_id)
    if name is None:
        if not policy_arn.startswith("arn:aws:iam::"):
            raise S3Error("InvalidInput", f"ARN {policy_arn} is not valid.")
        raise S3Error("NoSuchEntity", f"Policy {policy_arn} does not exist or is not attachable.")
    return name


async def _policy(q: QueryRequest, change: bool = False) -> IAMRecord:
    """The policy PolicyArn names: the account's own, or (unless it is to be changed) an AWS managed one."""
    policy_arn = q.require("PolicyArn")
    managed = aws_managed.find(policy_arn)
    if managed is not None:
        if change:
            raise S3Error("InvalidInput", f"Policy {policy_arn} is an AWS managed policy: it cannot be changed.")
        return managed
    record = await q.frontend.identities.get(q.account_id, POLICY, _policy_name(q, policy_arn))
    if record is None or record.doc["arn"] != policy_arn:
        raise S3Error("NoSuchEntity", f"Policy {policy_arn} does not exist or is not attachable.")
    return record


# -- managed policies ------------------------------------------------------------------------------------

async def create_policy(q: QueryRequest) -> list[Node]:
    name, path = M.check_name("PolicyName", q.require("PolicyName")), M.check_path(q.get("Path"))
    document = M.check_document(q.require("PolicyDocument"))
    store, stamp = q.frontend.identities, M.now()
    doc = {"path": path, "policyId": M.new_id("policy"), "arn": M.arn(q.account_id, "policy", path, name),
           "createDate": stamp, "updateDate": stamp, "description": q.get("Description") or "",
           "defaultVersion": "v1", "versions": {"v1": {"document": document, "createDate": stamp}},
           "nextVersion": 2, "attachments": 0}

    async def plan():
        if await store.get(q.account_id, POLICY, name) is not None:
            raise M.exists("policy", name)
        return [create(POLICY, name, doc)], None
    await store.transact(q.account_id, plan)
    return [("Policy", M.policy_xml(name, doc))]


async def get_policy(q: QueryRequest) -> list[Node]:
    record = await _policy(q)
    return [("Policy", M.policy_xml(record.name, record.doc))]


async def list_policies(q: QueryRequest) -> list[Node]:
    """The account's own policies (Scope Local), the AWS managed ones (AWS), or both (All)."""
    prefix = M.check_path(q.get("PathPrefix"), "PathPrefix")
    scope = q.get("Scope") or "All"
    found = [] if scope == "AWS" else await q.frontend.identities.list(q.account_id, POLICY)
    if scope != "Local":
        found = list(aws_managed.POLICIES.values()) + found
    found = [p for p in found if p.doc["path"].startswith(prefix)
             and (q.get("OnlyAttached") != "true" or p.doc.get("attachments", 0) > 0)]
    shown, truncated, marker = page(found, q, lambda r: r.name)
    return paged("Policies", [("member", M.policy_xml(p.name, p.doc)) for p in shown], truncated, marker)


async def delete_policy(q: QueryRequest) -> None:
    async def plan():
        record = await _policy(q, change=True)
        if record.doc.get("attachments", 0):
            raise S3Error("DeleteConflict", "Cannot delete a policy attached to entities.")
        if len(record.doc["versions"]) > 1:
            raise S3Error("DeleteConflict", "This policy has more than one version. Before you delete a policy, "
                          "you must delete the policy's versions. The default version is deleted with the policy.")
        return [remove(record)], None
    await q.frontend.identities.transact(q.account_id, plan)


async def create_policy_version(q: QueryRequest) -> list[Node]:
    document = M.check_document(q.require("PolicyDocument"))
    make_default = q.get("SetAsDefault") == "true"

    async def plan():
        record = await _policy(q, change=True)
        doc = dict(record.doc)
        if len(doc["versions"]) >= C.IAM_MAX_POLICY_VERSIONS:
            raise S3Error("LimitExceeded", f"A managed policy can have up to {C.IAM_MAX_POLICY_VERSIONS} "
                          "versions. Before you create a new version, you must delete an existing version.")
        version_id, stamp = f"v{doc['nextVersion']}", M.now()
        doc["versions"] = {**doc["versions"], version_id: {"document": document, "createDate": stamp}}
        doc["nextVersion"] += 1
        doc["updateDate"] = stamp
        if make_default:
            doc["defaultVersion"] = version_id
        return [update(record, doc)], (version_id, doc)
    version_id, doc = await q.frontend.identities.transact(q.account_id, plan)
    return [("PolicyVersion", M.version_xml(version_id, doc["versions"][version_id], doc["defaultVersion"],
                                            document=False))]


def _version(record: IAMRecord, version_id: str) -> dict:
    version = record.doc["versions"].get(version_id)
    if version is None:
        raise S3Error("NoSuchEntity", f"Policy {record.doc['arn']} version {version_id} does not exist or is "
                      "not attachable.")
    return version


async def get_policy_version(q: QueryRequest) -> list[Node]:
    record, version_id = await _policy(q), q.require("VersionId")
    return [("PolicyVersion", M.version_xml(version_id, _version(record, version_id), record.doc["defaultVersion"]))]


async def list_policy_versions(q: QueryRequest) -> list[Node]:
    record = await _policy(q)
    items = sorted(record.doc["versions"].items(), key=lambda kv: -int(kv[0][1:]))
    rendered = [("member", M.version_xml(v, body, record.doc["defaultVersion"], document=False)) for v, body in items]
    return paged("Versions", rendered, False, None)


async def delete_policy_version(q: QueryRequest) -> None:
    version_id = q.require("VersionId")

    async def plan():
        record = await _policy(q, change=True)
        _version(record, version_id)
        if version_id == record.doc["defaultVersion"]:
            raise S3Error("DeleteConflict", "Cannot delete the default version of a policy.")
        versions = {k: v for k, v in record.doc["versions"].items() if k != version_id}
        return [update(record, {**record.doc, "versions": versions})], None
    await q.frontend.identities.transact(q.account_id, plan)


async def set_default_policy_version(q: QueryRequest) -> None:
    version_id = q.require("VersionId")

    async def plan():
        record = await _policy(q, change=True)
        _version(record, version_id)
        return [update(record, {**record.doc, "defaultVersion": version_id, "updateDate": M.now()})], None
    await q.frontend.identities.transact(q.account_id, plan)


# -- attachments -----------------------------------------------------------------------------------------

def _holder_name(q: QueryRequest, kind: str) -> str:
    param = f"{HOLDERS[kind]}Name"
    return M.check_name(param, q.require(param))


async def _attachment(q: QueryRequest, kind: str, attach: bool) -> None:
    name, store = _holder_name(q, kind), q.frontend.identities

    async def plan():
        holder = await store.need(q.account_id, kind, name)
        policy = await _policy(q)
        attached = list(holder.doc.get("attached", []))
        arn = policy.doc["arn"]
        if attach == (arn in attached):
            if attach:
                return [], None                   # attaching twice changes nothing, as on AWS
            raise S3Error("NoSuchEntity", f"Policy {arn} was not found.")
        if attach:
            if len(attached) >= C.IAM_MAX_ATTACHED_POLICIES:
                raise S3Error("LimitExceeded", f"Cannot exceed quota for {_QUOTAS[kind]}: "
                              f"{C.IAM_MAX_ATTACHED_POLICIES}")
            attached.append(arn)
        else:
            attached.remove(arn)
        changes = [update(holder, {**holder.doc, "attached": attached})]
        if not policy.doc.get("aws"):        # AWS managed policies keep no count here
            count = policy.doc.get("attachments", 0) + (1 if attach else -1)
            changes.append(update(policy, {**policy.doc, "attachments": max(count, 0)}))
        return changes, None
    await store.transact(q.account_id, plan)


async def _list_attached(q: QueryRequest, kind: str) -> list[Node]:
    holder = await q.frontend.identities.need(q.account_id, kind, _holder_name(q, kind))
    arns = sorted(holder.doc.get("attached", []))
    shown, truncated, marker = page(arns, q, lambda a: a)
    rendered = [("member", [("PolicyName", a.rsplit("/", 1)[-1]), ("PolicyArn", a)]) for a in shown]
    return paged("AttachedPolicies", rendered, truncated, marker)


# -- inline policies -------------------------------------------------------------------------------------

async def _put_inline(q: QueryRequest, kind: str) -> None:
    name, store = _holder_name(q, kind), q.frontend.identities
    policy_name = M.check_name("PolicyName", q.require("PolicyName"))
    text = q.require("PolicyDocument")

    async def plan():
        holder = await store.need(q.account_id, kind, name)
        inline = {**holder.doc.get("inline", {}), policy_name: text}
        M.check_document(text, kind, "".join(inline.values()))   # AWS counts them together
        return [update(holder, {**holder.doc, "inline": inline})], None
    await store.transact(q.account_id, plan)


def _no_inline(kind: str, policy_name: str) -> S3Error:
    return S3Error("NoSuchEntity", f"The {kind} policy with name {policy_name} cannot be found.")


async def _get_inline(q: QueryRequest, kind: str) -> list[Node]:
    holder = await q.frontend.identities.need(q.account_id, kind, _holder_name(q, kind))
    policy_name = M.check_name("PolicyName", q.require("PolicyName"))
    text = holder.doc.get("inline", {}).get(policy_name)
    if text is None:
        raise _no_inline(kind, policy_name)
    return [(f"{HOLDERS[kind]}Name", holder.name), ("PolicyName", policy_name),
            ("PolicyDocument", policy_document(text))]


async def _delete_inline(q: QueryRequest, kind: str) -> None:
    name, store = _holder_name(q, kind), q.frontend.identities
    policy_name = M.check_name("PolicyName", q.require("PolicyName"))

    async def plan():
        holder = await store.need(q.account_id, kind, name)
        inline = dict(holder.doc.get("inline", {}))
        if inline.pop(policy_name, None) is None:
            raise _no_inline(kind, policy_name)
        return [update(holder, {**holder.doc, "inline": inline})], None
    await store.transact(q.account_id, plan)


async def _list_inline(q: QueryRequest, kind: str) -> list[Node]:
    holder = await q.frontend.identities.need(q.account_id, kind, _holder_name(q, kind))
    names = sorted(holder.doc.get("inline", {}))
    shown, truncated, marker = page(names, q, lambda n: n)
    return paged("PolicyNames", [("member", n) for n in shown], truncated, marker)


def _bind(fn, kind: str, **extra):
    async def handler(q: QueryRequest):
        return await fn(q, kind, **extra)
    return handler


ACTIONS = {
    "CreatePolicy": (create_policy, "policy"), "GetPolicy": (get_policy, "policy"),
    "ListPolicies": (list_policies, "policy"), "DeletePolicy": (delete_policy, "policy"),
    "CreatePolicyVersion": (create_policy_version, "policy"), "GetPolicyVersion": (get_policy_version, "policy"),
    "ListPolicyVersions": (list_policy_versions, "policy"), "DeletePolicyVersion": (delete_policy_version, "policy"),
    "SetDefaultPolicyVersion": (set_default_policy_version, "policy"),
}
for _kind, _word in HOLDERS.items():
    ACTIONS[f"Attach{_word}Policy"] = (_bind(_attachment, _kind, attach=True), _kind)
    ACTIONS[f"Detach{_word}Policy"] = (_bind(_attachment, _kind, attach=False), _kind)
    ACTIONS[f"ListAttached{_word}Policies"] = (_bind(_list_attached, _kind), _kind)
    ACTIONS[f"Put{_word}Policy"] = (_bind(_put_inline, _kind), _kind)
    ACTIONS[f"Get{_word}Policy"] = (_bind(_get_inline, _kind), _kind)
    ACTIONS[f"Delete{_word}Policy"] = (_bind(_delete_inline, _kind), _kind)
    ACTIONS[f"List{_word}Policies"] = (_bind(_list_inline, _kind), _kind)
