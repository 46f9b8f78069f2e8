"""The S3 ACL model, with no I/O: canned ACLs and grant headers to grants, the XML policy, and `allowed()`.

An ACL is stored as a list of grants, each {"permission", "type", "id" | "uri"}; grants by e-mail are
resolved to the account's canonical id when they are written, as AWS does. A missing ACL (None) is
the default one: the owner has FULL_CONTROL.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from xml.etree.ElementTree import Element

from s3front.xml import Node, document, escape, parse, raw
from shared.config import Account
from shared.constants import ACL_MAX_GRANTS
from shared.errors import S3Error

Grant = dict[str, str]
ACL = list[Grant]

READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL = "READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"
PERMISSIONS = (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL)
OWNER = "OWNER"          # what only the owner may do (delete a bucket, change its configuration)
# Deleting a specific version (s3:DeleteObjectVersion): AWS's ACL mapping gives it only to the
# bucket owner, through its WRITE grant; any other WRITE grantee can only add a delete marker.
DELETE_VERSION = "DELETE_VERSION"
# The owner S3 records for what an anonymous request creates.
ANONYMOUS_ID, ANONYMOUS_NAME = "65a011a29cdf8ec533ec3d1ccaae921c", "anonymous"

GROUPS = "http://acs.amazonaws.com/groups/"
ALL_USERS = GROUPS + "global/AllUsers"
AUTHENTICATED_USERS = GROUPS + "global/AuthenticatedUsers"
PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)     # what makes an ACL public
LOG_DELIVERY = GROUPS + "s3/LogDelivery"
KNOWN_GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
XSI = "http://www.w3.org/2001/XMLSchema-instance"

CANNED = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
          "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write")
GRANT_HEADERS = {"x-amz-grant-read": READ, "x-amz-grant-write": WRITE, "x-amz-grant-read-acp": READ_ACP,
                 "x-amz-grant-write-acp": WRITE_ACP, "x-amz-grant-full-control": FULL_CONTROL}
_GRANTEE = re.compile(r'\s*(id|emailAddress|uri)\s*=\s*"?([^",]*)"?\s*(?:,|$)', re.IGNORECASE)


def user(canonical_id: str, permission: str) -> Grant:
    return {"type": "CanonicalUser", "id": canonical_id, "permission": permission}


def group(uri: str, permission: str) -> Grant:
    return {"type": "Group", "uri": uri, "permission": permission}


def canned_acl(name: str, owner: str, bucket_owner: str | None = None) -> ACL:
    """The grants of a canned ACL; group grants first, as S3-compatible servers list them."""
    if name not in CANNED:
        raise S3Error("InvalidArgument", ArgumentName="x-amz-acl", ArgumentValue=name)
    groups = {"public-read": [group(ALL_USERS, READ)],
              "public-read-write": [group(ALL_USERS, READ), group(ALL_USERS, WRITE)],
              "authenticated-read": [group(AUTHENTICATED_USERS, READ)],
              "log-delivery-write": [group(LOG_DELIVERY, WRITE), group(LOG_DELIVERY, READ_ACP)]}
    grants = groups.get(name, []) + [user(owner, FULL_CONTROL)]
    if bucket_owner and bucket_owner != owner:
        if name == "bucket-owner-read":
            grants.append(user(bucket_owner, READ))
        elif name == "bucket-owner-full-control":
            grants.append(user(bucket_owner, FULL_CONTROL))
    return grants


def _grantee(kind: str, value: str, accounts: Sequence[Account]) -> tuple[str, str]:
    """(type, id or uri) of a grantee named by canonical id, e-mail or group URI; unknown ones are errors."""
    if kind == "id":
        if not any(a.canonical_id == value for a in accounts):
            raise S3Error("InvalidArgument", "Invalid id", ArgumentName="CanonicalUser/ID", ArgumentValue=value)
        return "CanonicalUser", value
    if kind == "email":
        found = next((a for a in accounts if a.email.lower() == value.lower()), None)
        if found is None:
            raise S3Error("UnresolvableGrantByEmailAddress", EmailAddress=value)
        return "CanonicalUser", found.canonical_id
    if value not in KNOWN_GROUPS:
        raise S3Error("InvalidArgument", "Invalid group uri", ArgumentName="Group/URI", ArgumentValue=value)
    return "Group", value


def _grant(kind: str, value: str, permission: str, accounts: Sequence[Account]) -> Grant:
    gtype, who = _grantee(kind, value, accounts)
    return {"type": gtype, "id" if gtype == "CanonicalUser" else "uri": who, "permission": permission}


def header_acl(headers: dict[str, str], owner: str, accounts: Sequence[Account],
               bucket_owner: str | None = None) -> ACL | None:
    """The ACL that x-amz-acl or x-amz-grant-* headers ask for; None when they ask for none."""
    granted = [h for h in GRANT_HEADERS if h in headers]
    if "x-amz-acl" in headers:
        if granted:
            raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
        return canned_acl(headers["x-amz-acl"].strip(), owner, bucket_owner)
    if not granted:
        return None
    wanted = [(kind, value, GRANT_HEADERS[name])
              for name in granted for kind, value in _grantees(headers[name], name)]
    check_grant_count(len(wanted))
    return [_grant(kind, value, permission, accounts) for kind, value, permission in wanted]


def check_grant_count(count: int) -> None:
    """MalformedACLError past the 100 grants an ACL may hold (AWS's schema allows no more)."""
    if count > ACL_MAX_GRANTS:
        raise S3Error("MalformedACLError", f"An access control list can have at most {ACL_MAX_GRANTS} grants; "
                                           f"this one has {count}.")


def _grantees(value: str, header: str) -> list[tuple[str, str]]:
    """`id="..", emailAddress="..", uri=".."` as [(id | email | uri, value)]."""
    found, pos = [], 0
    while pos < len(value):
        m = _GRANTEE.match(value, pos)
        if not m or m.end() == pos:
            raise S3Error("InvalidArgument", ArgumentName=header, ArgumentValue=value)
        kind = m.group(1).lower()
        found.append(("email" if kind == "emailaddress" else kind, m.group(2).strip()))
        pos = m.end()
    if not found:
        raise S3Error("InvalidArgument", ArgumentName=header, ArgumentValue=value)
    return found


def parse_policy(body: bytes, accounts: Sequence[Account]) -> ACL:
    """The grants of an AccessControlPolicy document; MalformedACLError when it is not one."""
    try:
        root = parse(body)
    except S3Error:
        raise S3Error("MalformedACLError") from None
    acl_list = root.find("AccessControlList")
    if root.tag != "AccessControlPolicy" or acl_list is None:
        raise S3Error("MalformedACLError")
    elements = [el for el in acl_list if el.tag == "Grant"]
    check_grant_count(len(elements))
    return [_parse_grant(el, accounts) for el in elements]


def _parse_grant(el: Element, accounts: Sequence[Account]) -> Grant:
    grantee, permission = el.find("Grantee"), (el.findtext("Permission") or "").strip()
    if grantee is None or permission not in PERMISSIONS:
        raise S3Error("MalformedACLError")
    declared = next((v for k, v in grantee.attrib.items() if k.endswith("type")), None)
    for tag, kind in (("ID", "id"), ("EmailAddress", "email"), ("URI", "uri")):
        value = grantee.findtext(tag)
        if value is not None:
            return _grant(kind, value.strip(), permission, accounts)
    if declared is None:
        raise S3Error("MalformedACLError")
    raise S3Error("InvalidArgument", ArgumentName="Grantee", ArgumentValue=declared)


def grants_of(acl: ACL | None, owner: str) -> ACL:
    return [user(owner, FULL_CONTROL)] if acl is None else acl


def render_policy(acl: ACL | None, owner: str, accounts: Sequence[Account]) -> bytes:
    """The AccessControlPolicy document of GetBucketAcl and GetObjectAcl."""
    names = {a.canonical_id: a.name for a in accounts}
    # Group grants first, as other S3-compatible servers list them (clients compare lists in order).
    ordered = sorted(grants_of(acl, owner), key=lambda g: g["type"] != "Group")
    grants = [("Grant", [_grantee_node(g, names), ("Permission", g["permission"])]) for g in ordered]
    children: list[Node] = [("Owner", [("ID", owner), ("DisplayName", names.get(owner))]),
                            ("AccessControlList", grants)]
    return document("AccessControlPolicy", children)


def _grantee_node(grant: Grant, names: dict[str, str]) -> Node:
    head = f'<Grantee xmlns:xsi="{XSI}" xsi:type="{grant["type"]}">'
    if grant["type"] == "Group":
        return raw(f"{head}<URI>{escape(grant['uri'])}</URI></Grantee>")
    name = names.get(grant["id"])
    display = f"<DisplayName>{escape(name)}</DisplayName>" if name is not None else ""
    return raw(f"{head}<ID>{escape(grant['id'])}</ID>{display}</Grantee>")


def _matches(grant: Grant, requester: str | None) -> bool:
    if grant["type"] == "Group":
        return grant["uri"] == ALL_USERS or (grant["uri"] == AUTHENTICATED_USERS and requester is not None)
    return requester is not None and grant.get("id") == requester


def is_public(acl: ACL | None, owner: str) -> bool:
    """Whether an ACL grants anything to everyone (AllUsers) or to every AWS account (AuthenticatedUsers)."""
    return any(g["type"] == "Group" and g["uri"] in PUBLIC_GROUPS for g in grants_of(acl, owner))


def allowed(acl: ACL | None, owner: str | None, requester: str | None, permission: str) -> bool:
    """Whether `requester` (a canonical id, None when anonymous) holds `permission` under `acl`.

    The owner may always read and change the ACL, whatever its grants say (AWS does the same,
    so that an owner can never lock itself out).
    """
    is_owner = requester is not None and requester == owner
    if is_owner and permission in (READ_ACP, WRITE_ACP, OWNER):
        return True
    if permission == OWNER:
        return False
    if permission == DELETE_VERSION:
        return is_owner and allowed(acl, owner, requester, WRITE)
    return any(g["permission"] in (permission, FULL_CONTROL) and _matches(g, requester)
               for g in grants_of(acl, owner or ""))


