"""What `coffer serve` prints once its front-end answers: where it is, which credentials work, how to trust it."""
from __future__ import annotations

import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from shared import constants as C
from shared.config import DEFAULT_ACCOUNTS, Config

_WILDCARDS = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class Endpoints:
    http: str | None        # the plain HTTP endpoint, if there is one
    https: str | None       # the HTTPS endpoint, if there is one

    @property
    def main(self) -> str:
        return self.https or self.http or ""


def endpoints(config: Config) -> Endpoints:
    """The URLs clients on this machine use: a wildcard bind is reached on 127.0.0.1."""
    host = "127.0.0.1" if config.listen_addr in _WILDCARDS else config.listen_addr
    host = f"[{host}]" if ":" in host else host
    if not config.tls:
        return Endpoints(f"http://{host}:{config.port}", None)
    if config.tls_port:
        return Endpoints(f"http://{host}:{config.port}", f"https://{host}:{config.tls_port}")
    return Endpoints(None, f"https://{host}:{config.port}")


def banner(config: Config, ends: Endpoints, self_signed_ca: str | None = None) -> str:
    """The lines printed once the front-end is up."""
    lines = ["Coffer is ready."]
    if ends.http:
        lines.append(f"  S3 endpoint:   {ends.http}")
    if ends.https:
        lines.append(f"  S3 endpoint:   {ends.https}   (TLS)")
    if config.listen_addr in _WILDCARDS:
        lines.append("  (listening on every interface)")
    lines += _credentials(config)
    if self_signed_ca and ends.https:
        lines += [f"  TLS: a throwaway certificate; trust its CA, {self_signed_ca}:",
                  f"    aws --endpoint-url {ends.https} --ca-bundle {self_signed_ca} s3 ls",
                  f"    AWS_CA_BUNDLE={self_signed_ca} (SDKs), curl --cacert {self_signed_ca}"]
    if config.console:
        lines.append(f"  Console:       {ends.main}{C.CONSOLE_PATH}")
    if config.metrics:
        who = "anyone (COFFER_METRICS_PUBLIC=1)" if config.metrics_public else "Authorization: Bearer <cluster secret>"
        lines.append(f"  Metrics:       {ends.main}{C.METRICS_PATH}   ({who})")
    return "\n".join(lines) + "\n"


def _credentials(config: Config) -> list[str]:
    if config.default_credentials:
        first = DEFAULT_ACCOUNTS[0]
        return [f"  Access key:    {first.access_key}", f"  Secret key:    {first.secret_key}",
                "  WARNING: these are the default credentials, which everyone knows. Set COFFER_ACCESS_KEY_ID and "
                "COFFER_SECRET_ACCESS_KEY (or S3AUTH_CONFIG) before anyone else can reach this port."]
    # Configured secrets are not echoed: terminals and their logs are read by more people than keys are.
    keys = [a.access_key for a in config.accounts]
    shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    return [f"  Access key{'s' if len(keys) > 1 else ''}:    {shown}",
            "  Secret key:    as configured (not shown)"]


def probe_url(ends: Endpoints) -> tuple[str, ssl.SSLContext | None]:
    """Where to ask whether the front-end is up: its own health check, plain HTTP if it has a port."""
    if ends.http:
        return ends.http + "/_/health", None
    # Our own child on this machine: what matters here is that it answers, not who it is.
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ends.https + "/_/health", ctx


def announce_when_up(config: Config, text: str, stop: threading.Event, timeout: float = 600.0) -> threading.Thread:
    """Print `text` on stdout once the front-end's health check answers 200 (in a daemon thread)."""
    ends = endpoints(config)
    url, ctx = probe_url(ends)

    def wait_and_print() -> None:
        deadline = time.monotonic() + timeout
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1, context=ctx) as resp:
                    if resp.status == 200:
                        sys.stdout.write(text)
                        sys.stdout.flush()
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            stop.wait(C.SERVE_POLL_S * 5)

    thread = threading.Thread(target=wait_and_print, name="announce", daemon=True)
    thread.start()
    return thread
