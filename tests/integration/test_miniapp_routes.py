"""The customer page's routes on the real server: the page for a transaction id, its
assets and configuration, all under a strict Content-Security-Policy."""

from __future__ import annotations

import pytest

from tests.support.fakes import world_fake as world

PAGE = "/miniapp/pay/00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("path", "media"),
    [
        (PAGE, "text/html"),
        ("/miniapp/assets/app.js", "text/javascript"),
        ("/miniapp/assets/vendor/minikit.js", "text/javascript"),
        ("/miniapp/assets/app.css", "text/css"),
        ("/miniapp/config.json", "application/json"),
    ],
)
def test_served_with_a_strict_csp(client, path, media):
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].split(";")[0] in (media, "application/javascript")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "unsafe" not in csp
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_config_is_what_atm_pay_checks_with(client):
    assert client.get("/miniapp/config.json").json() == {
        "app_id": world.APP_ID,
        "action": world.ACTION,
        "recipient": world.RECIPIENT,
        "token": {"symbol": "USDCE", "decimals": 6},
    }


@pytest.mark.parametrize("path", ["/miniapp/pay/not-a-uuid", "/miniapp/pay/", "/miniapp/assets/nope.js"])
def test_unknown_paths_are_404(client, path):
    assert client.get(path).status_code == 404


def test_the_page_is_read_only(client):
    assert client.post(PAGE).status_code == 405


def test_page_views_count_as_their_route_in_the_metrics(client):
    client.get(PAGE)
    client.get("/miniapp/assets/app.js")
    metrics = client.get("/metrics").text
    assert 'function="/miniapp/pay/{id}"' in metrics and 'function="/miniapp/assets"' in metrics
    assert "00000000-0000-4000" not in metrics, "one label for every transaction's page"
