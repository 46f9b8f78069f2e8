"""GetAccountSummary: what an account holds (users, groups, roles, policies, its root's keys) and its quotas."""
from __future__ import annotations

from s3front.iam_api.protocol import QueryRequest
from s3front.xml import Node
from shared import constants as C
from shared.contract.iam import GROUP, POLICY, ROLE, ROOT, USER


async def get_account_summary(q: QueryRequest) -> list[Node]:
    store = q.frontend.identities
    counts = {label: len(await store.list(q.account_id, kind))
              for label, kind in (("Users", USER), ("Groups", GROUP), ("Roles", ROLE), ("Policies", POLICY))}
    root = await store.get(q.account_id, ROOT, "root")
    summary = {**counts, **C.IAM_ACCOUNT_QUOTAS, "AccessKeysPerUserQuota": C.IAM_MAX_ACCESS_KEYS,
               "GroupsPerUserQuota": C.IAM_MAX_GROUPS_PER_USER, "AttachedPoliciesPerUserQuota":
               C.IAM_MAX_ATTACHED_POLICIES, "AttachedPoliciesPerGroupQuota": C.IAM_MAX_ATTACHED_POLICIES,
               "AttachedPoliciesPerRoleQuota": C.IAM_MAX_ATTACHED_POLICIES,
               "PolicyVersionsInUseQuota": C.IAM_MAX_POLICY_VERSIONS * C.IAM_ACCOUNT_QUOTAS["PoliciesQuota"],
               "VersionsPerPolicyQuota": C.IAM_MAX_POLICY_VERSIONS, "MFADevices": 0, "MFADevicesInUse": 0,
               "AccountMFAEnabled": 0,
               "AccountAccessKeysPresent": 1 if q.frontend.config.accounts or (root and root.doc["keys"]) else 0}
    return [("SummaryMap", [("entry", [("key", k), ("value", v)]) for k, v in summary.items()])]


ACTIONS = {"GetAccountSummary": (get_account_summary, None)}
