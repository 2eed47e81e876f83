"""Headless Debian Chromium driven by Playwright, for the console and mini app tests.

Playwright never downloads a browser here: it launches the system `/usr/bin/chromium`
(`CHROMIUM` overrides). The machine has no internet, and some page libraries try to
reach it, so every request to a host other than the test server's loopback is aborted
and recorded; console errors and uncaught page errors are collected so a test can
assert a page ran cleanly. Screenshots go to `test-artifacts/screenshots/`
(`TEST_ARTIFACTS` overrides the folder).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Debian's wrapper checks /dev/shm wrongly; the rest keeps Chromium off the (closed) network.
LAUNCH_ARGS = [
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageLog:
    """What a page did besides rendering: console errors, uncaught errors, blocked requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.page_errors, f"uncaught page errors: {self.page_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.blocked, f"requests to non-local hosts: {self.blocked}"


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as a test artifact and return its path."""
    ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "screenshots" / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator:
    """One headless system Chromium per test module. Not per session: while Playwright's
    sync API is open it marks its event loop as running in the test thread, so a later
    module's asyncio.run() (tests/unit/test_error_codes.py has one) would fail."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test set-up installs Debian's chromium package")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium_browser) -> Iterator:
    """A fresh context and page (tablet-sized), local-only, its log at `page.log`."""
    context = chromium_browser.new_context(viewport={"width": 1024, "height": 768})
    log = PageLog()

    def only_local(route) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            log.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and log.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.log = log
    try:
        yield page
    finally:
        context.close()
