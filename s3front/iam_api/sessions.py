"""Temporary credentials: an ASIA... key, its secret, and a session token that carries them both.

The token is the session sealed (sealing.py, bound to its access key id) with its expiry, the
identity it stands for and its session policies, so any front-end verifies it without a lookup,
also after a restart. What the identity may do is still read from the store (a role's policies
as they are now), so deleting a role or detaching a policy takes effect within the cache time.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from s3front.auth import Identity
from s3front.iam import assumed_role, iam_user
from s3front.iam_api.model import new_id, new_secret
from s3front.iam_api.sealing import Unsealable, seal, unseal
from shared.errors import S3Error

if TYPE_CHECKING:
    from s3front.iam_api.store import Identities

ROLE, USER, ROOT = "role", "user", "root"


def issue(identities: "Identities", account: str, kind: str, duration: int, name: str = "", path: str = "/",
          entity_id: str = "", session: str = "", policies: tuple[str, ...] = ()) -> dict[str, Any]:
    """New credentials for `kind` (role, user or root) of `account`, valid `duration` seconds."""
    access_key, secret = new_id("session"), new_secret()
    expires = int(time.time()) + duration
    body = {"ak": access_key, "sk": secret, "exp": expires, "acct": account, "kind": kind, "name": name,
            "path": path, "id": entity_id, "session": session, "policies": list(policies)}
    token = seal(identities.tokens, orjson.dumps(body), access_key.encode())
    return {"AccessKeyId": access_key, "SecretAccessKey": secret, "SessionToken": token, "Expiration": expires}


def read_token(identities: "Identities", access_key: str, token: str) -> dict[str, Any]:
    """The session a token holds; InvalidToken if it does not open for this key, ExpiredToken if it is over."""
    try:
        body = orjson.loads(unseal(identities.tokens, token, access_key.encode()))
    except (Unsealable, orjson.JSONDecodeError):
        raise S3Error("InvalidToken") from None
    if body.get("ak") != access_key:
        raise S3Error("InvalidToken")
    if body["exp"] <= time.time():
        raise S3Error("ExpiredToken")
    return body


def open_session(identities: "Identities", access_key: str, token: str) -> Identity | None:
    """The identity of temporary credentials, or None if their account is gone."""
    body = read_token(identities, access_key, token)
    owner = identities.account(body["acct"])
    if owner is None:
        return None
    account = replace(owner, access_key=access_key, secret_key=body["sk"])
    if body["kind"] == ROLE:
        who = assumed_role(owner.account_id, body["name"], body["session"], body["id"], owner.canonical_id,
                           body["path"])
    elif body["kind"] == USER:
        who = iam_user(owner.account_id, body["name"], body["id"], owner.canonical_id, body["path"])
    else:
        who = None
    narrowing = tuple(identities.compiled(text, f"session/{access_key}/{i}")
                      for i, text in enumerate(body.get("policies") or ()))
    return Identity(account, who, narrowing)
