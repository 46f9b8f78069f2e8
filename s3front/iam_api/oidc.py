"""OpenID Connect identity providers of an account: Create/Get/List/DeleteOpenIDConnectProvider,
Add/RemoveClientID and UpdateThumbprint (IAM API reference). Coffer keeps them so that tools
managing an account see AWS's answers; it does not federate web identities (no
AssumeRoleWithWebIdentity), as docs/iam.md says."""
from __future__ import annotations

import re

from s3front.iam_api import model as M
from s3front.iam_api.protocol import QueryRequest
from s3front.iam_api.store import IAMRecord, create, remove, update
from s3front.xml import Node
from shared import constants as C
from shared.contract.iam import OIDC
from shared.errors import S3Error

_URL = re.compile(r"https?://([\x21-\x7e]{1,255})", re.ASCII)
_THUMBPRINT = re.compile(r"[\x21-\x7e]{40}", re.ASCII)     # the API asks 40 characters, no more


def _provider_name(url: str) -> str:
    """What a provider is called (its URL without the scheme); ValidationError for a bad URL."""
    found = _URL.fullmatch(url)
    if found is None:
        raise S3Error("ValidationError", f"Invalid Open ID Connect Provider URL: {url}")
    return found.group(1).rstrip("/")


def _arn(q: QueryRequest, name: str) -> str:
    return f"arn:aws:iam::{q.account_id}:oidc-provider/{name}"


def _client_ids(values: list[str]) -> list[str]:
    for value in values:
        if not 1 <= len(value) <= 255:
            raise S3Error("ValidationError", "A client ID must have 1 to 255 characters.")
    if len(values) > C.IAM_OIDC_MAX_CLIENT_IDS:
        raise S3Error("LimitExceeded", f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: "
                      f"{C.IAM_OIDC_MAX_CLIENT_IDS}")
    return list(dict.fromkeys(values))


def _thumbprints(values: list[str]) -> list[str]:
    if not 1 <= len(values) <= C.IAM_OIDC_MAX_THUMBPRINTS:
        raise S3Error("ValidationError", f"An OpenID Connect provider has 1 to {C.IAM_OIDC_MAX_THUMBPRINTS} "
                      "thumbprints.")
    for value in values:
        if not _THUMBPRINT.fullmatch(value):
            raise S3Error("ValidationError", f"Thumbprint {value} is not 40 characters long.")
    return values


async def _provider(q: QueryRequest) -> IAMRecord:
    arn = q.require("OpenIDConnectProviderArn")
    prefix = _arn(q, "")
    record = None
    if arn.startswith(prefix):
        record = await q.frontend.identities.get(q.account_id, OIDC, arn[len(prefix):])
    if record is None:
        raise S3Error("NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}")
    return record


async def create_provider(q: QueryRequest) -> list[Node]:
    url = q.require("Url")
    name = _provider_name(url)
    doc = {"url": url, "clientIds": _client_ids(q.members("ClientIDList")),
           "thumbprints": _thumbprints(q.members("ThumbprintList")), "createDate": M.now(),
           "tags": M.check_tags(q.member_maps("Tags"))}
    store = q.frontend.identities

    async def plan():
        if await store.get(q.account_id, OIDC, name) is not None:
            raise S3Error("EntityAlreadyExists", f"Provider with url {url} already exists.")
        return [create(OIDC, name, doc)], None
    await store.transact(q.account_id, plan)
    return [("OpenIDConnectProviderArn", _arn(q, name)), _tags(doc)]


def _tags(doc: dict) -> Node:
    return ("Tags", [("member", [("Key", t["Key"]), ("Value", t["Value"])]) for t in doc.get("tags", [])])


async def get_provider(q: QueryRequest) -> list[Node]:
    doc = (await _provider(q)).doc
    return [("Url", doc["url"]), ("ClientIDList", [("member", c) for c in doc["clientIds"]]),
            ("ThumbprintList", [("member", t) for t in doc["thumbprints"]]), ("CreateDate", doc["createDate"]),
            _tags(doc)]


async def list_providers(q: QueryRequest) -> list[Node]:
    found = await q.frontend.identities.list(q.account_id, OIDC)
    return [("OpenIDConnectProviderList", [("member", [("Arn", _arn(q, r.name))]) for r in found])]


async def delete_provider(q: QueryRequest) -> None:
    async def plan():
        return [remove(await _provider(q))], None
    await q.frontend.identities.transact(q.account_id, plan)


async def _change(q: QueryRequest, change) -> None:
    async def plan():
        record = await _provider(q)
        return [update(record, change(dict(record.doc)))], None
    await q.frontend.identities.transact(q.account_id, plan)


async def add_client_id(q: QueryRequest) -> None:
    client_id = q.require("ClientID")
    await _change(q, lambda doc: {**doc, "clientIds": _client_ids(doc["clientIds"] + [client_id])})


async def remove_client_id(q: QueryRequest) -> None:
    client_id = q.require("ClientID")
    await _change(q, lambda doc: {**doc, "clientIds": [c for c in doc["clientIds"] if c != client_id]})


async def update_thumbprints(q: QueryRequest) -> None:
    thumbprints = _thumbprints(q.members("ThumbprintList"))
    await _change(q, lambda doc: {**doc, "thumbprints": thumbprints})


ACTIONS = {
    "CreateOpenIDConnectProvider": (create_provider, None), "GetOpenIDConnectProvider": (get_provider, None),
    "ListOpenIDConnectProviders": (list_providers, None), "DeleteOpenIDConnectProvider": (delete_provider, None),
    "AddClientIDToOpenIDConnectProvider": (add_client_id, None),
    "RemoveClientIDFromOpenIDConnectProvider": (remove_client_id, None),
    "UpdateOpenIDConnectProviderThumbprint": (update_thumbprints, None),
}
