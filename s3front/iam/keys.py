"""The condition keys the policy language knows, and the check a bucket policy makes of them.

Global keys from AWS's "AWS global condition context keys"; s3:, iam: and sts: keys from the
Service Authorization Reference. A name ending in "/" is a family (tags): any non-empty suffix.
Key names are case-insensitive, so everything here is compared lower-cased.
"""
from __future__ import annotations

import re

GLOBAL_KEYS = """
    aws:CalledVia aws:CalledViaFirst aws:CalledViaLast aws:ChatbotSourceArn aws:CurrentTime aws:EpochTime
    aws:Ec2InstanceSourcePrivateIPv4 aws:Ec2InstanceSourceVpc aws:FederatedProvider aws:MultiFactorAuthAge
    aws:MultiFactorAuthPresent aws:PrincipalAccount aws:PrincipalArn aws:PrincipalIsAWSService
    aws:PrincipalOrgID aws:PrincipalOrgPaths aws:PrincipalServiceName aws:PrincipalServiceNamesList
    aws:PrincipalTag/ aws:PrincipalType aws:Referer aws:RequestedRegion aws:RequestTag/ aws:ResourceAccount
    aws:ResourceOrgID aws:ResourceOrgPaths aws:ResourceTag/ aws:SecureTransport aws:SourceAccount
    aws:SourceArn aws:SourceIdentity aws:SourceIp aws:SourceOrgID aws:SourceOrgPaths aws:SourceOwner
    aws:SourceVpc aws:SourceVpcArn aws:SourceVpce aws:TagKeys aws:TokenIssueTime aws:UserAgent aws:userid
    aws:username aws:ViaAWSService aws:VpceAccount aws:VpceOrgID aws:VpceOrgPaths aws:VpcSourceIp
""".split()

S3_KEYS = """
    s3:AccessGrantScope s3:AccessGrantsInstanceArn s3:AccessGrantsLocationScope s3:AccessPointNetworkOrigin
    s3:AccessPointTag/ s3:annotation-prefix s3:authType s3:BucketTag/ s3:DataAccessPointAccount
    s3:DataAccessPointArn s3:delimiter s3:deliverySourceArn s3:destinationRegion s3:ExistingJobOperation
    s3:ExistingJobPriority s3:ExistingObjectTag/ s3:if-match s3:if-none-match
    s3:InventoryAccessibleOptionalFields s3:isReplicationPauseRequest s3:JobSuspendedCause
    s3:locationconstraint s3:logType s3:max-annotation-results s3:max-keys s3:object-lock-legal-hold
    s3:object-lock-mode s3:object-lock-remaining-retention-days s3:object-lock-retain-until-date
    s3:ObjectCreationOperation s3:prefix s3:RequestJobOperation s3:RequestJobPriority s3:RequestObjectTag/
    s3:RequestObjectTagKeys s3:RequestTag/ s3:ResourceAccount s3:resourceArnBeingAuthorized s3:ResourceTag/
    s3:signatureAge s3:signatureversion s3:TagKeys s3:TlsVersion s3:versionid s3:x-amz-acl
    s3:x-amz-bucket-namespace s3:x-amz-content-sha256 s3:x-amz-copy-source s3:x-amz-grant-full-control
    s3:x-amz-grant-read s3:x-amz-grant-read-acp s3:x-amz-grant-write s3:x-amz-grant-write-acp
    s3:x-amz-metadata-directive s3:x-amz-object-annotation-directive s3:x-amz-object-if-match
    s3:x-amz-object-ownership s3:x-amz-server-side-encryption s3:x-amz-server-side-encryption-aws-kms-key-id
    s3:x-amz-server-side-encryption-customer-algorithm s3:x-amz-storage-class s3:x-amz-website-redirect-location
""".split()

IAM_KEYS = """
    iam:AccountPropertyNamespaces iam:AssociatedResourceArn iam:AWSServiceName iam:DelegationDuration
    iam:DelegationRequestOwner iam:FIDO-certification iam:FIDO-FIPS-140-2-certification
    iam:FIDO-FIPS-140-3-certification iam:NotificationChannel iam:OrganizationsPolicyId iam:PassedToService
    iam:PermissionsBoundary iam:PolicyARN iam:RegisterSecurityKey iam:RequestTag/ iam:ResourceTag/
    iam:RoleTemplateARN iam:ServiceSpecificCredentialAgeDays iam:ServiceSpecificCredentialServiceName
    iam:TagKeys iam:TemplateArn
""".split()

# The federation claims (sts:sub, sts:aud, ...) are open-ended, so only the fixed STS keys are listed
# and an identity policy may name any sts: key.
STS_KEYS = """
    sts:AWSServiceName sts:DurationSeconds sts:ExternalId sts:IdentityTokenAudience sts:RequestContext/
    sts:RequestContextProviders sts:RequestTag/ sts:ResourceTag/ sts:RoleSessionName sts:SigningAlgorithm
    sts:SourceIdentity sts:TagKeys sts:TaskPolicyArn sts:TransitiveTagKeys
""".split()

_KNOWN = {k.lower() for k in GLOBAL_KEYS + S3_KEYS + IAM_KEYS + STS_KEYS}
_EXACT = frozenset(k for k in _KNOWN if not k.endswith("/"))
_FAMILIES = tuple(k for k in _KNOWN if k.endswith("/"))
_SYNTAX = re.compile(r"[a-z0-9-]+:[^\s]+", re.ASCII)
_STRICT_PREFIXES = ("aws:", "s3:", "iam:")


def is_known(key: str) -> bool:
    """Whether `key` (any case) is a key AWS defines for the global context, S3, IAM or STS."""
    low = key.lower()
    if low in _EXACT:
        return True
    return any(low.startswith(f) and len(low) > len(f) for f in _FAMILIES)


def valid_key(key: str, resource_policy: bool) -> bool:
    """Whether a policy may name `key`: a bucket policy only known aws: and s3: keys; an identity
    policy any well-formed key, but known ones under the aws:, s3: and iam: prefixes."""
    low = key.lower()
    if not _SYNTAX.fullmatch(low):
        return False
    if resource_policy:
        return low.startswith(("aws:", "s3:")) and is_known(low)
    return is_known(low) or not low.startswith(_STRICT_PREFIXES)
