"""The one exception of the policy language: what is wrong with a document, in AWS's words."""
from __future__ import annotations


class PolicyError(ValueError):
    """A policy document that AWS would refuse; the caller maps it to MalformedPolicy (S3) or
    MalformedPolicyDocument (IAM)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PolicySizeError(PolicyError):
    """A document over its size limit; IAM answers LimitExceeded for these, S3 a MalformedPolicy."""

    def __init__(self, message: str, limit: int, size: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.size = size
