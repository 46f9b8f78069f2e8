"""Headless Chromium for the web console's tests: Debian's /usr/bin/chromium driven by Playwright
(never a downloaded browser), one launch per test module, a fresh profile directory each time."""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:             # the test extras not installed: launch() skips
    expect = sync_playwright = None

from tests.cluster import ACCESS_KEY, SECRET_KEY

CHROMIUM = Path("/usr/bin/chromium")
INSECURE_HOST = "coffer.example"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync",
        # A name for loopback that is not "localhost": a page loaded from it over HTTP is not a secure context.
        f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Set to a directory (docs/console) to keep each screenshot there too, for the documentation.
SHOTS_DIR = os.environ.get("COFFER_CONSOLE_SCREENSHOTS")
TIMEOUT_MS = 30_000


def launch(profile: Path) -> Iterator:
    """A persistent browser context on a fresh profile; skips the module when Chromium is absent."""
    if not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium: install the Debian package `chromium`")
    if sync_playwright is None:
        pytest.skip("needs Playwright for Python (pip install -e '.[test]')")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=str(CHROMIUM), args=ARGS,
                                                       headless=True, viewport=DESKTOP, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def shot(page, tmp_path: Path, name: str, docs: bool = False) -> Path:
    """Save a screenshot under the test's temporary directory (and, for `docs`, in SHOTS_DIR when set)."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path)
    if SHOTS_DIR and docs:
        Path(SHOTS_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS_DIR) / f"{name}.png")
    return path


def login(page, endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, wait: bool = True) -> None:
    """Open the console and log in; with `wait`, until the buckets page is listed."""
    page.goto(endpoint + "/_/console/")
    page.fill("#accessKeyId", access_key)
    page.fill("#secretAccessKey", secret_key)
    page.click("#login")
    if wait:
        page.wait_for_selector("#buckets tbody tr")


def wait_listed(page) -> None:
    """Until the objects page has shown its first listing."""
    expect(page.locator("section.page[data-loaded]")).to_have_count(1)


def local(tmp_path: Path, name: str, data: bytes) -> Path:
    """A file to pick: by path, which the browser reads itself (a buffer would cross Playwright's pipe)."""
    path = tmp_path / "files" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def row(page, key: str):
    """The listing's row of one key (or folder)."""
    return page.locator(f"#objects tr[data-key='{key}']")


def refused_until_allowed(call, seconds: float = 5.0) -> bool:
    """Whether `call` succeeds within `seconds` (front-ends cache identities for about a second)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            call()
            return True
        except Exception:  # noqa: BLE001 - refused until the cache expires
            time.sleep(0.2)
    return False


# The fixtures of the console's browser tests (a module imports them: one browser per module).
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from launch(tmp_path_factory.mktemp("chromium-profile"))


@pytest.fixture
def page(browser, tmp_path):
    page = browser.new_page()
    errors: list = []
    page.on("pageerror", lambda exc: errors.append(exc))
    yield page
    shot(page, tmp_path, "last")
    page.close()
    assert not errors, f"the page raised: {errors}"
