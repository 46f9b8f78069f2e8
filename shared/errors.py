"""The S3 error catalogue, shared by the front-end and the daemons.

The daemons send error codes over the wire; the clients turn them back into these exceptions,
and `s3front.errors` renders them as S3 XML. Nothing else invents error codes.
"""
from __future__ import annotations

from typing import Any

# code -> (HTTP status, default message), as the AWS S3 API reference lists them
CATALOGUE: dict[str, tuple[int, str]] = {
    "AccessControlListNotSupported": (400, "The bucket does not allow ACLs"),
    "AccessDenied": (403, "Access Denied"),
    "AccessForbidden": (403, "CORSResponse: This CORS request is not allowed."),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (400, "Error parsing the X-Amz-Credential parameter."),
    "BadRequest": (400, "Bad Request"),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."),
    "BucketAlreadyOwnedByYou": (409, "Your previous request to create the named bucket succeeded and you already own it."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed object size."),
    "IllegalVersioningConfigurationException": (400, "The Versioning element must be specified"),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the Content-Length HTTP header."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist in our records."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketAclWithObjectOwnership": (400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidBucketState": (409, "The request is not valid with the current state of the bucket."),
    "InvalidChunkSizeError": (403, "Only the last chunk is allowed to have a size less than 8192 bytes"),
    "InvalidDigest": (400, "The Content-MD5 you specified is not valid."),
    "InvalidEncryptionAlgorithmError": (400, "The Encryption request you specified is not valid. Supported value: AES256."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidPart": (400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order. Parts must be ordered by part number."),
    "InvalidPolicyDocument": (400, "The content of the form does not meet the conditions specified in the policy document."),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidStorageClass": (400, "The storage class you specified is not valid."),
    "InvalidTag": (400, "The tag provided was not a valid tag. This error can occur if the tag did not pass input validation."),
    "InvalidTargetBucketForLogging": (400, "The target bucket for logging does not exist"),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "KeyTooLongError": (400, "Your key is too long"),
    "KMS.DisabledException": (400, "The request was rejected because the specified KMS key is not enabled."),
    "KMS.NotFoundException": (400, "The request was rejected because the specified entity or resource could not be found."),
    "MalformedTrailerError": (400, "The request contained trailing data that was not well-formed or did not conform to our published schema."),
    "MalformedACLError": (400, "The XML you provided was not well-formed or did not validate against our published schema."),
    "MalformedPOSTRequest": (400, "The body of your POST request is not well-formed multipart/form-data."),
    "MalformedPolicy": (400, "Policies must be valid JSON and the first byte must be '{'"),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate against our published schema."),
    "MaxPostPreDataLengthExceededError": (400, "Your POST request fields preceding the upload file were too large."),
    "MetadataTooLarge": (400, "Your metadata headers exceed the maximum allowed metadata size."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingFields": (400, "Missing fields in request."),
    "MissingRequestBodyError": (400, "Request Body is empty"),
    "MissingSecurityHeader": (400, "Your request was missing a required header."),
    "NoSuchBucket": (404, "The specified bucket does not exist"),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist"),
    "NoSuchObjectLockConfiguration": (404, "The specified object does not have a ObjectLock configuration"),
    "NoSuchPublicAccessBlockConfiguration": (404, "The public access block configuration was not found"),
    "NoSuchTagSet": (404, "The TagSet does not exist"),
    "NoSuchUpload": (404, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."),
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NotImplemented": (501, "A header you provided implies functionality that is not implemented."),
    "NotModified": (304, "Not Modified"),
    "ObjectLockConfigurationNotFoundError": (404, "Object Lock configuration does not exist for this bucket"),
    "OperationAborted": (409, "A conflicting conditional operation is currently in progress against this resource. Try again."),
    "OwnershipControlsNotFoundError": (404, "The bucket ownership controls were not found"),
    "PreconditionFailed": (412, "At least one of the pre-conditions you specified did not hold"),
    "RequestHeaderSectionTooLarge": (400, "Your request header section exceeds the maximum allowed size."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the current time is too large."),
    "RequestTimeout": (400, "Your socket connection to the server was not read from or written to within the timeout period."),
    "ServerSideEncryptionConfigurationNotFoundError": (404, "The server side encryption configuration was not found"),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the signature you provided. Check your key and signing method."),
    "SlowDown": (503, "Please reduce your request rate."),
    "UnexpectedContent": (400, "This request does not support content."),
    "UnresolvableGrantByEmailAddress": (400, "The e-mail address you provided does not match any account on record."),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does not match what was computed."),
}


class S3Error(Exception):
    """An error with an S3 meaning: it becomes an S3 error response as it is."""

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None,
                 headers: dict[str, str] | None = None, **fields: Any) -> None:
        default_status, default_message = CATALOGUE.get(code, (500, code))
        self.code = code
        self.status = status or default_status
        self.message = message or default_message
        self.headers = headers or {}
        self.fields = fields            # extra XML elements (ArgumentName, BucketName, ...)
        super().__init__(f"{code}: {self.message}")

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "status": self.status, "message": self.message, "internal": False}


class InternalError(Exception):
    """A failure that is nobody's S3 business: logged with the request id, answered as 500 InternalError."""

    def __init__(self, message: str, code: str = "InternalError") -> None:
        self.code = code
        self.message = message
        super().__init__(message)

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "status": 500, "message": self.message, "internal": True}


UNAVAILABLE_MESSAGE = "The service is briefly unavailable. Please retry your request."


class ServiceUnavailable(S3Error):
    """A daemon cannot be reached: 503 SlowDown, which SDKs retry with backoff.

    The client's message says only what the client needs (retry); `detail` (which daemon, which
    call) is for the log line. `outcome_unknown` says a write may or may not have been applied.
    """

    def __init__(self, detail: str = "a daemon is not reachable", outcome_unknown: bool = False) -> None:
        super().__init__("SlowDown", UNAVAILABLE_MESSAGE, headers={"Retry-After": "1"})
        self.detail = detail
        self.args = (f"SlowDown: {detail}",)       # what logs print: the detail, not the client's text
        self.outcome_unknown = outcome_unknown


def error_from_wire(err: dict[str, Any]) -> Exception:
    """Rebuild the exception that a daemon sent as an error object."""
    if err.get("internal"):
        return InternalError(err.get("message", ""), err.get("code", "InternalError"))
    return S3Error(err["code"], err.get("message"), status=err.get("status"))
