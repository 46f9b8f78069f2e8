"""AWS managed policies: the few that S3 and IAM users attach by ARN (arn:aws:iam::aws:policy/NAME),
with the documents AWS publishes for them (restricted to the services Coffer serves). They are
read-only, in every account, and attach like customer managed policies (policies.py)."""
from __future__ import annotations

import orjson

from shared.contract.iam import IAMRecord

ARN_PREFIX = "arn:aws:iam::aws:policy/"
_CREATED = "2015-02-06T18:40:00Z"          # when AWS published them
_STATEMENTS = {
    "AdministratorAccess": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    "AmazonS3FullAccess": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    "AmazonS3ReadOnlyAccess": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3:Describe*"],
                                "Resource": "*"}],
    "IAMFullAccess": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
    "IAMReadOnlyAccess": [{"Effect": "Allow", "Action": ["iam:GenerateCredentialReport",
                                                         "iam:GenerateServiceLastAccessedDetails", "iam:Get*",
                                                         "iam:List*", "iam:SimulateCustomPolicy",
                                                         "iam:SimulatePrincipalPolicy"], "Resource": "*"}],
}


def _record(name: str) -> IAMRecord:
    document = orjson.dumps({"Version": "2012-10-17", "Statement": _STATEMENTS[name]}).decode()
    doc = {"path": "/", "policyId": "ANPA" + name.upper()[:17].ljust(17, "X"), "arn": ARN_PREFIX + name,
           "createDate": _CREATED, "updateDate": _CREATED, "description": "", "defaultVersion": "v1",
           "versions": {"v1": {"document": document, "createDate": _CREATED}}, "nextVersion": 2,
           "attachments": 0, "aws": True}
    return IAMRecord("policy", name, doc, 0)


POLICIES = {name: _record(name) for name in _STATEMENTS}


def find(policy_arn: str) -> IAMRecord | None:
    """The AWS managed policy of this ARN, or None (not one, or not one Coffer has)."""
    if not policy_arn.startswith(ARN_PREFIX):
        return None
    return POLICIES.get(policy_arn[len(ARN_PREFIX):])
