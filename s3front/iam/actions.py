"""The actions the policy language knows: every s3:, iam: and sts: action AWS defines.

Names from AWS's Service Authorization Reference ("Actions, resources, and condition keys for Amazon
S3", "... for Identity And Access Management" and "... for AWS Security Token Service"), including the
permission-only actions and a few older names AWS still accepts (s3:ListObjects, s3:HeadBucket).
The S3 actions are split by the resource type they apply to, which a bucket policy checks.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

S3_ACTIONS = """
    AbortMultipartUpload AllowVendedLogDeliveryForResource AssociateAccessGrantsIdentityCenter
    BypassGovernanceRetention CreateAccessGrant CreateAccessGrantsInstance CreateAccessGrantsLocation
    CreateAccessPoint CreateAccessPointForObjectLambda CreateBucket CreateBucketMetadataTableConfiguration
    CreateJob CreateMultiRegionAccessPoint CreateStorageLensGroup DeleteAccessGrant
    DeleteAccessGrantsInstance DeleteAccessGrantsInstanceResourcePolicy DeleteAccessGrantsLocation
    DeleteAccessPoint DeleteAccessPointForObjectLambda DeleteAccessPointPolicy
    DeleteAccessPointPolicyForObjectLambda DeleteBucket DeleteBucketMetadataTableConfiguration
    DeleteBucketOwnershipControls DeleteBucketPolicy DeleteBucketWebsite DeleteJobTagging
    DeleteMultiRegionAccessPoint DeleteObject DeleteObjectAnnotation DeleteObjectTagging DeleteObjectVersion
    DeleteObjectVersionAnnotation DeleteObjectVersionTagging DeleteStorageLensConfiguration
    DeleteStorageLensConfigurationTagging DeleteStorageLensGroup DescribeJob
    DescribeMultiRegionAccessPointOperation DissociateAccessGrantsIdentityCenter GetAccelerateConfiguration
    GetAccessGrant GetAccessGrantsInstance GetAccessGrantsInstanceForPrefix
    GetAccessGrantsInstanceResourcePolicy GetAccessGrantsLocation GetAccessPoint
    GetAccessPointConfigurationForObjectLambda GetAccessPointForObjectLambda GetAccessPointPolicy
    GetAccessPointPolicyForObjectLambda GetAccessPointPolicyStatus GetAccessPointPolicyStatusForObjectLambda
    GetAccountPublicAccessBlock GetAnalyticsConfiguration GetBucketAbac GetBucketAcl GetBucketCORS
    GetBucketLocation GetBucketLogging GetBucketMetadataTableConfiguration GetBucketNotification
    GetBucketObjectLockConfiguration GetBucketOwnershipControls GetBucketPolicy GetBucketPolicyStatus
    GetBucketPublicAccessBlock GetBucketRequestPayment GetBucketTagging GetBucketVersioning GetBucketWebsite
    GetDataAccess GetEncryptionConfiguration GetIntelligentTieringConfiguration GetInventoryConfiguration
    GetIpConfiguration GetJobTagging GetLifecycleConfiguration GetMetricsConfiguration
    GetMultiRegionAccessPoint GetMultiRegionAccessPointPolicy GetMultiRegionAccessPointPolicyStatus
    GetMultiRegionAccessPointRoutes GetObject GetObjectAcl GetObjectAnnotation GetObjectAttributes
    GetObjectLegalHold GetObjectRetention GetObjectTagging GetObjectTorrent GetObjectVersion
    GetObjectVersionAcl GetObjectVersionAnnotation GetObjectVersionAnnotationForReplication
    GetObjectVersionAttributes GetObjectVersionForReplication GetObjectVersionTagging
    GetObjectVersionTorrent GetReplicationConfiguration GetStorageLensConfiguration
    GetStorageLensConfigurationTagging GetStorageLensDashboard GetStorageLensGroup HeadBucket
    InitiateReplication ListAccessGrants ListAccessGrantsInstances ListAccessGrantsLocations
    ListAccessPoints ListAccessPointsForObjectLambda ListAllMyBuckets ListBucket ListBucketByTags
    ListBucketMultipartUploads ListBucketVersions ListCallerAccessGrants ListJobs
    ListMultiRegionAccessPoints ListMultipartUploadParts ListObjectAnnotations ListObjectVersionAnnotations
    ListObjects ListStorageLensConfigurations ListStorageLensGroups ListTagsForResource
    ObjectOwnerOverrideToBucketOwner PauseReplication PutAccelerateConfiguration
    PutAccessGrantsInstanceResourcePolicy PutAccessPointConfigurationForObjectLambda PutAccessPointPolicy
    PutAccessPointPolicyForObjectLambda PutAccessPointPublicAccessBlock PutAccountPublicAccessBlock
    PutAnalyticsConfiguration PutBucketAbac PutBucketAcl PutBucketCORS PutBucketLogging
    PutBucketNotification PutBucketObjectLockConfiguration PutBucketOwnershipControls PutBucketPolicy
    PutBucketPublicAccessBlock PutBucketRequestPayment PutBucketTagging PutBucketVersioning PutBucketWebsite
    PutEncryptionConfiguration PutIntelligentTieringConfiguration PutInventoryConfiguration
    PutIpConfiguration PutJobTagging PutLifecycleConfiguration PutMetricsConfiguration
    PutMultiRegionAccessPointPolicy PutObject PutObjectAcl PutObjectAnnotation PutObjectLegalHold
    PutObjectRetention PutObjectTagging PutObjectVersionAcl PutObjectVersionAnnotation
    PutObjectVersionTagging PutReplicationConfiguration PutStorageLensConfiguration
    PutStorageLensConfigurationTagging ReplicateDelete ReplicateObject ReplicateObjectAnnotation
    ReplicateTags RestoreObject SubmitMultiRegionAccessPointRoutes TagResource UntagResource
    UpdateAccessGrantsLocation UpdateBucketMetadataAnnotationTableConfiguration
    UpdateBucketMetadataInventoryTableConfiguration UpdateBucketMetadataJournalTableConfiguration
    UpdateJobPriority UpdateJobStatus UpdateObjectEncryption UpdateStorageLensGroup
""".split()

# The S3 actions whose resource is an object (arn:aws:s3:::bucket/key) ...
S3_OBJECT_ACTIONS = frozenset("""
    AbortMultipartUpload BypassGovernanceRetention DeleteObject DeleteObjectAnnotation DeleteObjectTagging
    DeleteObjectVersion DeleteObjectVersionAnnotation DeleteObjectVersionTagging GetObject GetObjectAcl
    GetObjectAnnotation GetObjectAttributes GetObjectLegalHold GetObjectRetention GetObjectTagging
    GetObjectTorrent GetObjectVersion GetObjectVersionAcl GetObjectVersionAnnotation
    GetObjectVersionAnnotationForReplication GetObjectVersionAttributes GetObjectVersionForReplication
    GetObjectVersionTagging GetObjectVersionTorrent InitiateReplication ListMultipartUploadParts
    ListObjectAnnotations ListObjectVersionAnnotations ObjectOwnerOverrideToBucketOwner PutObject
    PutObjectAcl PutObjectAnnotation PutObjectLegalHold PutObjectRetention PutObjectTagging
    PutObjectVersionAcl PutObjectVersionAnnotation PutObjectVersionTagging ReplicateDelete ReplicateObject
    ReplicateObjectAnnotation ReplicateTags RestoreObject UpdateObjectEncryption
""".split())

# ... and those whose resource is a bucket (arn:aws:s3:::bucket). The rest (access points, jobs,
# Storage Lens, Access Grants, account-level listings) apply to neither, so no bucket policy has them.
S3_BUCKET_ACTIONS = frozenset("""
    AllowVendedLogDeliveryForResource CreateBucket CreateBucketMetadataTableConfiguration DeleteBucket
    DeleteBucketMetadataTableConfiguration DeleteBucketOwnershipControls DeleteBucketPolicy
    DeleteBucketWebsite GetAccelerateConfiguration GetAnalyticsConfiguration GetBucketAbac GetBucketAcl
    GetBucketCORS GetBucketLocation GetBucketLogging GetBucketMetadataTableConfiguration
    GetBucketNotification GetBucketObjectLockConfiguration GetBucketOwnershipControls GetBucketPolicy
    GetBucketPolicyStatus GetBucketPublicAccessBlock GetBucketRequestPayment GetBucketTagging
    GetBucketVersioning GetBucketWebsite GetEncryptionConfiguration GetIntelligentTieringConfiguration
    GetInventoryConfiguration GetIpConfiguration GetLifecycleConfiguration GetMetricsConfiguration
    GetReplicationConfiguration HeadBucket ListBucket ListBucketByTags ListBucketMultipartUploads
    ListBucketVersions ListObjects ListTagsForResource PauseReplication PutAccelerateConfiguration
    PutAnalyticsConfiguration PutBucketAbac PutBucketAcl PutBucketCORS PutBucketLogging
    PutBucketNotification PutBucketObjectLockConfiguration PutBucketOwnershipControls PutBucketPolicy
    PutBucketPublicAccessBlock PutBucketRequestPayment PutBucketTagging PutBucketVersioning PutBucketWebsite
    PutEncryptionConfiguration PutIntelligentTieringConfiguration PutInventoryConfiguration
    PutIpConfiguration PutLifecycleConfiguration PutMetricsConfiguration PutReplicationConfiguration
    TagResource UntagResource UpdateBucketMetadataAnnotationTableConfiguration
    UpdateBucketMetadataInventoryTableConfiguration UpdateBucketMetadataJournalTableConfiguration
""".split())

IAM_ACTIONS = """
    AcceptDelegationRequest AddClientIDToOpenIDConnectProvider AddRoleToInstanceProfile AddUserToGroup
    AssociateDelegationRequest AttachGroupPolicy AttachRolePolicy AttachUserPolicy ChangePassword
    CreateAccessKey CreateAccountAlias CreateDelegationRequest CreateGroup CreateInstanceProfile
    CreateLoginProfile CreateOpenIDConnectProvider CreatePolicy CreatePolicyVersion CreateRole
    CreateSAMLProvider CreateServiceLinkedRole CreateServiceSpecificCredential CreateUser
    CreateVirtualMFADevice DeactivateMFADevice DeleteAccessKey DeleteAccountAlias
    DeleteAccountPasswordPolicy DeleteCloudFrontPublicKey DeleteGroup DeleteGroupPolicy
    DeleteInstanceProfile DeleteLoginProfile DeleteOpenIDConnectProvider DeletePolicy DeletePolicyVersion
    DeleteRole DeleteRolePermissionsBoundary DeleteRolePolicy DeleteSAMLProvider DeleteSSHPublicKey
    DeleteServerCertificate DeleteServiceLinkedRole DeleteServiceSpecificCredential DeleteSigningCertificate
    DeleteUser DeleteUserPermissionsBoundary DeleteUserPolicy DeleteVirtualMFADevice DetachGroupPolicy
    DetachRolePolicy DetachUserPolicy DisableOrganizationsRootCredentialsManagement
    DisableOrganizationsRootSessions DisableOutboundWebIdentityFederation EnableMFADevice
    EnableOrganizationsRootCredentialsManagement EnableOrganizationsRootSessions
    EnableOutboundWebIdentityFederation FinalizeSmsMfaRegistration GenerateCredentialReport
    GenerateOrganizationsAccessReport GenerateServiceLastAccessedDetails GetAccessKeyLastUsed
    GetAccountAuthorizationDetails GetAccountEmailAddress GetAccountName GetAccountPasswordPolicy
    GetAccountProperties GetAccountSummary GetCloudFrontPublicKey GetContextKeysForCustomPolicy
    GetContextKeysForPrincipalPolicy GetCredentialReport GetDelegationRequest GetGroup GetGroupPolicy
    GetHumanReadableSummary GetInstanceProfile GetLoginProfile GetMFADevice GetOpenIDConnectProvider
    GetOrganizationsAccessReport GetOutboundWebIdentityFederationInfo GetPolicy GetPolicyVersion GetRole
    GetRolePolicy GetRoleTemplateVersion GetSAMLProvider GetSSHPublicKey GetServerCertificate
    GetServiceLastAccessedDetails GetServiceLastAccessedDetailsWithEntities
    GetServiceLinkedRoleDeletionStatus GetUser GetUserPolicy ListAccessKeys ListAccountAliases
    ListAttachedGroupPolicies ListAttachedRolePolicies ListAttachedUserPolicies ListCloudFrontPublicKeys
    ListDelegationRequests ListEntitiesForPolicy ListGroupPolicies ListGroups ListGroupsForUser
    ListInstanceProfileTags ListInstanceProfiles ListInstanceProfilesForRole ListMFADeviceTags
    ListMFADevices ListOpenIDConnectProviderTags ListOpenIDConnectProviders ListOrganizationsFeatures
    ListPolicies ListPoliciesGrantingServiceAccess ListPolicyTags ListPolicyVersions ListRolePolicies
    ListRoleTags ListRoles ListSAMLProviderTags ListSAMLProviders ListSSHPublicKeys
    ListSTSRegionalEndpointsStatus ListServerCertificateTags ListServerCertificates
    ListServiceSpecificCredentials ListSigningCertificates ListUserPolicies ListUserTags ListUsers
    ListVirtualMFADevices PassRole PutAccountProperties PutGroupPolicy PutRolePermissionsBoundary
    PutRolePolicy PutUserPermissionsBoundary PutUserPolicy RejectDelegationRequest
    RemoveClientIDFromOpenIDConnectProvider RemoveRoleFromInstanceProfile RemoveUserFromGroup
    RequestSmsMfaRegistration ResetServiceSpecificCredential ResyncMFADevice SendDelegationToken
    SetDefaultPolicyVersion SetSTSRegionalEndpointStatus SetSecurityTokenServicePreferences
    SimulateCustomPolicy SimulatePrincipalPolicy TagInstanceProfile TagMFADevice TagOpenIDConnectProvider
    TagPolicy TagRole TagSAMLProvider TagServerCertificate TagUser UntagInstanceProfile UntagMFADevice
    UntagOpenIDConnectProvider UntagPolicy UntagRole UntagSAMLProvider UntagServerCertificate UntagUser
    UpdateAccessKey UpdateAccountEmailAddress UpdateAccountName UpdateAccountPasswordPolicy
    UpdateAssumeRolePolicy UpdateCloudFrontPublicKey UpdateGroup UpdateLoginProfile
    UpdateOpenIDConnectProviderThumbprint UpdateRole UpdateRoleDescription UpdateSAMLProvider
    UpdateSSHPublicKey UpdateServerCertificate UpdateServiceSpecificCredential UpdateSigningCertificate
    UpdateUser UploadCloudFrontPublicKey UploadSSHPublicKey UploadServerCertificate UploadSigningCertificate
""".split()

STS_ACTIONS = """
    AssumeRole AssumeRoleWithSAML AssumeRoleWithWebIdentity AssumeRoot DecodeAuthorizationMessage
    GetAccessKeyInfo GetCallerIdentity GetDelegatedAccessToken GetFederationToken GetServiceBearerToken
    GetSessionToken GetWebIdentityToken SetContext SetSourceIdentity TagGetWebIdentityToken TagSession
""".split()

SERVICES: dict[str, list[str]] = {"s3": S3_ACTIONS, "iam": IAM_ACTIONS, "sts": STS_ACTIONS}

# "s3:getobject" -> "s3:GetObject": actions are matched case-insensitively
CANONICAL: dict[str, str] = {f"{svc}:{name}".lower(): f"{svc}:{name}"
                             for svc, names in SERVICES.items() for name in names}


def resource_type(action: str) -> str | None:
    """'object' or 'bucket' for an S3 action (any case) whose resource is one of those, else None."""
    name = CANONICAL.get(action.lower(), "")
    if not name.startswith("s3:"):
        return None
    short = name[3:]
    return "object" if short in S3_OBJECT_ACTIONS else "bucket" if short in S3_BUCKET_ACTIONS else None


def expand(pattern: re.Pattern[str], services: Iterable[str] = SERVICES) -> list[str]:
    """The known actions (canonical names) of `services` that a compiled lower-case action pattern matches."""
    wanted = tuple(f"{s}:" for s in services)
    return [name for low, name in CANONICAL.items() if low.startswith(wanted) and pattern.fullmatch(low)]
