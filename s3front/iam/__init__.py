"""The AWS policy language, pure: parse and validate documents, compile them, decide requests.

    policy = parse_bucket_policy(text, "bucket")          # PolicyError if AWS would refuse it
    who = iam_user("123456789012", "alice", "AIDA...")
    req = Request(who, "s3:GetObject", object_arn("bucket", "key"), owner_account, context(who, keys))
    verdict = decide(req, identity_policies, policy, session_policies, acl_allows)

No sockets, no storage: callers hold the compiled policies and map PolicyError to MalformedPolicy
(S3) or MalformedPolicyDocument (IAM).
"""
from s3front.iam.arn import bucket_arn, object_arn, role_arn, root_arn, session_arn, user_arn
from s3front.iam.canned import LEVELS, anonymous_level, canned_policy, canned_policy_json
from s3front.iam.errors import PolicyError, PolicySizeError
from s3front.iam.evaluate import (Decision, Principal, PrincipalKind, Request, Verdict, account_root,
                                  anonymous, assumed_role, context, decide, iam_user, principal_keys,
                                  service_account, time_keys)
from s3front.iam.limits import LIMITS, check_size, policy_size
from s3front.iam.policy import (Kind, Policy, Statement, parse_bucket_policy, parse_identity_policy,
                                parse_policy)
from s3front.iam.public import is_public, public_statements

__all__ = [
    "LEVELS", "LIMITS", "Decision", "Kind", "Policy", "PolicyError", "PolicySizeError", "Principal",
    "PrincipalKind", "Request", "Statement", "Verdict", "account_root", "anonymous", "anonymous_level",
    "assumed_role", "bucket_arn", "canned_policy", "canned_policy_json", "check_size", "context", "decide",
    "iam_user", "is_public", "object_arn", "parse_bucket_policy", "parse_identity_policy", "parse_policy",
    "policy_size", "principal_keys", "public_statements", "role_arn", "root_arn", "service_account",
    "session_arn", "time_keys", "user_arn",
]
