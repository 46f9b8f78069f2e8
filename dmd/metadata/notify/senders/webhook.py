"""Webhook targets: each event POSTed as JSON to `endpoint` (httpx); any 2xx is delivered.

An https endpoint's certificate is checked against the system's CAs (or SSL_CERT_FILE); with
client_cert and client_key the webhook gets that certificate (mutual TLS).
"""
from __future__ import annotations

from typing import Any

import httpx
import orjson

from dmd.metadata.notify.senders import event_body
from shared import constants as C
from shared.notify.targets import Target


class WebhookSender:
    def __init__(self, target: Target) -> None:
        s = target.settings
        self.endpoint = s["endpoint"]
        self.headers = {"Content-Type": "application/json"}
        if s.get("auth_token"):
            token = s["auth_token"]
            self.headers["Authorization"] = token if " " in token else f"Bearer {token}"
        tls = httpx.create_ssl_context()
        if s.get("client_cert"):
            tls.load_cert_chain(s["client_cert"], s["client_key"])
        self.client = httpx.AsyncClient(timeout=C.NOTIFY_SEND_TIMEOUT_S, verify=tls)

    async def send(self, entry: dict[str, Any]) -> None:
        answer = await self.client.post(self.endpoint, content=orjson.dumps(event_body(entry)), headers=self.headers)
        if not 200 <= answer.status_code < 300:
            raise RuntimeError(f"{self.endpoint} answered {answer.status_code}")

    async def close(self) -> None:
        await self.client.aclose()


def make(target: Target) -> WebhookSender:
    return WebhookSender(target)
