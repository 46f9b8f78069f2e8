"""The web console's static files at /_/console/, served without authentication.

Only the page, its script and its stylesheet are here: the page signs every S3 and IAM request it
makes with the user's own keys (SigV4 in the browser), so each one is authenticated and authorized
like any client's. The files are built from console/ (`make console`) and committed, so running
Coffer needs no npm. They are read once, at start-up; the page names the region to sign for.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from shared import constants as C

STATIC = Path(__file__).parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
# The page runs only its own script and talks only to this origin; it is never framed (clickjacking)
# and sends no Referer (a presigned URL in the address bar would leak through it).
SECURITY = [(b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
             b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
            (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-cache")]


class Console:
    """The console's files in memory, answered by name (index.html for the directory itself)."""

    def __init__(self, region: str) -> None:
        self.files: dict[str, tuple[bytes, bytes, bytes]] = {}
        for path in STATIC.iterdir() if STATIC.is_dir() else ():    # not built or not installed: 404s
            if path.suffix not in TYPES:
                continue
            body = path.read_bytes()
            if path.name == "index.html":
                body = body.replace(b"{{REGION}}", region.encode())
            etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
            self.files[path.name] = (body, TYPES[path.suffix].encode(), etag)

    async def serve(self, scope: dict, send) -> None:
        """Answer one request under /_/console (GET and HEAD only)."""
        path = scope["path"]
        if path == C.CONSOLE_PATH.rstrip("/"):
            return await _send(send, 308, [(b"location", C.CONSOLE_PATH.encode())], b"")
        name = path[len(C.CONSOLE_PATH):] or "index.html"
        found = self.files.get(name)
        if found is None:
            return await _send(send, 404, [(b"content-type", b"text/plain")], b"Not found\n")
        if scope["method"] not in ("GET", "HEAD"):
            return await _send(send, 405, [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain")],
                               b"Method not allowed\n")
        body, ctype, etag = found
        headers = [(b"content-type", ctype), (b"etag", etag), *SECURITY]
        if etag in _if_none_match(scope):
            return await _send(send, 304, headers, b"")
        await _send(send, 200, [*headers, (b"content-length", str(len(body)).encode())],
                    b"" if scope["method"] == "HEAD" else body)


def _if_none_match(scope: dict) -> list[bytes]:
    for k, v in scope["headers"]:
        if k.lower() == b"if-none-match":
            return [tag.strip() for tag in v.split(b",")]
    return []


async def _send(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    if not any(k == b"content-length" for k, _ in headers):
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [(b"server", b"Coffer"), *headers]})
    await send({"type": "http.response.body", "body": body})
