"""GET /docs: Swagger UI rendering /openapi.json from files this server serves itself (the
vendored swagger-ui-dist, pinned by rpc/static/swagger-ui/package-lock.json), under a
strict Content-Security-Policy: no CDN, no inline script or style."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

SWAGGER = Path(__file__).parents[2] / "rpc" / "static" / "swagger-ui"


class Page(HTMLParser):
    """The URLs a page loads (src/href), and whether it has inline script or style."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._tag = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._tag = tag
        self.urls += [attrs[k] for k in ("src", "href") if attrs.get(k)]
        if tag == "style" or "style" in attrs or any(k.startswith("on") for k in attrs):
            self.inline.append(tag)

    def handle_data(self, data):
        if self._tag == "script" and data.strip():
            self.inline.append("script")

    def handle_endtag(self, tag):
        self._tag = None


@pytest.fixture
def page(client):
    resp = client.get("/docs")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    return resp


def test_the_page_loads_only_this_servers_files(page, client):
    parsed = Page()
    parsed.feed(page.text)
    assert parsed.inline == [], "the CSP forbids inline scripts and styles"
    assert set(parsed.urls) == {"/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/docs.js"}
    types = {".css": "text/css", ".js": "text/javascript"}
    for url in parsed.urls:
        resp = client.get(url)
        assert resp.status_code == 200 and resp.content, url
        assert resp.headers["content-type"].startswith(types[Path(url).suffix]), url
        assert resp.headers["x-content-type-options"] == "nosniff"
    init = client.get("/docs/docs.js").text
    assert '"/openapi.json"' in init and "validatorUrl: null" in init
    assert client.get("/openapi.json").json()["openapi"] == "3.1.0"


def test_a_strict_content_security_policy(page):
    csp = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    assert not re.search(r"unsafe-|https?:|\*", page.headers["content-security-policy"])


def test_the_served_swagger_ui_is_the_pinned_package_with_its_licence(client):
    lock = json.loads((SWAGGER / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/swagger-ui-dist"]["version"]
    assert json.loads((SWAGGER / "package.json").read_text())["dependencies"]["swagger-ui-dist"] == pinned
    bundle = client.get("/docs/swagger-ui-bundle.js").text
    assert f'PACKAGE_VERSION:"{pinned}"' in bundle
    licence = client.get("/docs/LICENSE")
    assert licence.status_code == 200 and "Apache License" in licence.text
    assert licence.text == (SWAGGER / "dist" / "LICENSE").read_text()
    assert client.head("/docs").status_code == 200
