"""The console's static files hold to what its Content-Security-Policy and its packaging
promise: nothing from another host, no inline script or style, every file a page or module
names is there, and the vendored chart library is the version the lockfile pins."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "rpc" / "static" / "console"
OURS = [p for p in CONSOLE.rglob("*") if p.is_file() and "vendor" not in p.parts]
PAGES = sorted(CONSOLE.glob("*.html"))


def test_every_page_and_module_names_only_files_that_exist():
    for page in PAGES:
        for ref in re.findall(r'(?:src|href)="([^"#?]+)"', page.read_text()):
            assert (CONSOLE / ref).is_file(), f"{page.name} names {ref}"
    for module in CONSOLE.joinpath("js").rglob("*.js"):
        for ref in re.findall(r"from '(\.{1,2}/[^']+)'", module.read_text()):
            assert (module.parent / ref).resolve().is_file(), f"{module.relative_to(CONSOLE)} imports {ref}"


def test_nothing_inline_and_nothing_from_another_host():
    for page in PAGES:
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script in {page.name}"
        assert "<style" not in html and " style=" not in html, f"inline style in {page.name}"
        assert not re.search(r"\bon[a-z]+=", html), f"inline handler in {page.name}"
    for path in OURS:
        text = path.read_text()
        assert not re.search(r"(?:src|href|url\()\s*=?\s*[\"']?(?:https?:)?//", text), f"another host in {path.name}"
        assert "innerHTML" not in text and "eval(" not in text, f"HTML or code from strings in {path.name}"


def test_the_vendored_chart_library_is_the_pinned_one_with_its_licence():
    lock = json.loads((ROOT / "web" / "console" / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/uplot"]["version"]
    assert json.loads((ROOT / "web" / "console" / "package.json").read_text())["dependencies"]["uplot"] == pinned
    assert f"(v{pinned})" in (CONSOLE / "vendor" / "uplot" / "uPlot.esm.js").read_text()[:400]
    assert "MIT License" in (CONSOLE / "vendor" / "uplot" / "LICENSE").read_text()
