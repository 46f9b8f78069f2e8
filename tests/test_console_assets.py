"""The web console's files over plain HTTP: served without authentication (only the page, script and
stylesheet, with a strict CSP), GET and HEAD only, conditional GETs, the region named in the page;
named in serve's banner; and absent with COFFER_CONSOLE=0."""
from __future__ import annotations

import httpx
import pytest

from tests.test_cli_comforts import wait_banner
from services.announce import banner, endpoints
from shared.config import load_config
from tests.serve import Serve

CONSOLE = "/_/console/"


def test_the_page_and_its_assets_are_served_without_authentication(cluster):
    page = httpx.get(cluster.endpoint + CONSOLE)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta name="coffer-region" content="us-east-1">' in page.text     # the region to sign for
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "no-referrer"
    script = httpx.get(cluster.endpoint + CONSOLE + "console.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "AWS4-HMAC-SHA256" in script.text            # the browser signs its own requests
    css = httpx.get(cluster.endpoint + CONSOLE + "console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    moved = httpx.get(cluster.endpoint + CONSOLE.rstrip("/"))
    assert moved.status_code == 308 and moved.headers["location"] == CONSOLE


def test_only_the_console_files_get_and_head(cluster):
    for path in ("nothing.js", "static/console.js", "%2e%2e/health", "index.html/x"):
        resp = httpx.get(cluster.endpoint + CONSOLE + path)
        assert resp.status_code == 404, path
    head = httpx.head(cluster.endpoint + CONSOLE + "console.js")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 10_000
    assert httpx.post(cluster.endpoint + CONSOLE, content=b"x").status_code == 405
    etag = httpx.get(cluster.endpoint + CONSOLE + "console.js").headers["etag"]
    again = httpx.get(cluster.endpoint + CONSOLE + "console.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_s3_calls_from_the_console_are_still_authenticated(cluster):
    """The page is public; what it asks for is not: an unsigned listing is refused as ever."""
    resp = httpx.get(cluster.endpoint + "/", headers={"Referer": cluster.endpoint + CONSOLE})
    assert resp.status_code == 403 and b"AccessDenied" in resp.content


@pytest.mark.parametrize("setting", ["1", "0"])
def test_the_banner_names_the_console_unless_it_is_off(monkeypatch, setting):
    monkeypatch.setenv("COFFER_CONSOLE", setting)
    config = load_config(port=8123)
    assert ("Console:       http://127.0.0.1:8123/_/console/" in banner(config, endpoints(config))) is (setting == "1")


def test_console_0_turns_it_off(tmp_path):
    serve = Serve(tmp_path / "serve", args=("--backend", "mem"), extra_env={"COFFER_CONSOLE": "0"})
    try:
        logs = wait_banner(serve)
        assert "Console:" not in logs[logs.index("Coffer is ready."):]
        assert httpx.get(serve.endpoint + CONSOLE).status_code == 404
        assert httpx.get(serve.endpoint + CONSOLE + "console.js").status_code == 404
        serve.client().list_buckets()       # S3 itself is there
    finally:
        assert serve.stop() == 0
