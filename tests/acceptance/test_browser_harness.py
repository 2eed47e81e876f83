"""The browser harness itself: the system Chromium renders a page from the test server,
and a request to any other host is stopped and reported (the machine has no internet)."""

import pytest

from tests.support.browser import screenshot


def test_system_chromium_renders_a_server_page(browser_page, server):
    answer = browser_page.goto(server + "/health")
    assert answer.status == 200
    assert "ok" in browser_page.content().lower()
    assert screenshot(browser_page, "harness-health").stat().st_size > 0


def test_non_local_requests_are_blocked_and_reported(browser_page):
    browser_page.set_content('<link rel=icon href="data:,"><img src="http://example.com/pixel.png">')
    browser_page.wait_for_load_state("networkidle")
    assert browser_page.log.blocked == ["http://example.com/pixel.png"]
    with pytest.raises(AssertionError):
        browser_page.log.assert_clean()
