"""The customer page's vendored MiniKit bundle is the one web/miniapp pins (rebuild it with
`make miniapp-bundle` after changing the pins), with the licences of what it contains; and
the World settings the page is configured from are checked when the server starts."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from rpc.errors import ApiError
from rpc.worldid import WorldConfig

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web" / "miniapp"
VENDOR = ROOT / "rpc" / "static" / "miniapp" / "assets" / "vendor"


def test_the_committed_bundle_was_built_from_the_pinned_lockfile():
    pin = json.loads((WEB / "package.json").read_text())["dependencies"]["@worldcoin/minikit-js"]
    lock_bytes = (WEB / "package-lock.json").read_bytes()
    locked = json.loads(lock_bytes)["packages"]["node_modules/@worldcoin/minikit-js"]["version"]
    banner = (VENDOR / "minikit.js").read_text().split("\n", 1)[0]
    built = re.search(r"@worldcoin/minikit-js (\S+), bundled .* sha256:([0-9a-f]{64})", banner)
    assert built, banner
    assert pin == locked == built[1], "package.json, package-lock.json and the bundle name one MiniKit"
    assert built[2] == hashlib.sha256(lock_bytes).hexdigest(), "the lockfile changed: run make miniapp-bundle"


def test_the_bundle_ships_the_licences_of_its_packages():
    licences = (VENDOR / "LICENSES.txt").read_text()
    names = re.findall(r"^=== (\S+) (\S+) \(", licences, re.M)
    lock = json.loads((WEB / "package-lock.json").read_text())["packages"]
    assert ("@worldcoin/minikit-js", "1.11.0") in names
    for name, version in names:
        # Each section is a package the lockfile pins at that version (nested copies too).
        assert any(p.endswith("node_modules/" + name) and v.get("version") == version for p, v in lock.items()), name
    assert licences.count("Permission is hereby granted") >= len(names) - 1, "MIT texts (ieee754 is BSD)"


def test_the_page_loads_no_script_but_its_own():
    html = (ROOT / "rpc" / "static" / "miniapp" / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ['<script type="module" src="../assets/app.js">'], "no inline or third-party script"
    assert "style=" not in html and "<style" not in html, "no inline style (the CSP allows none)"


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"WORLD_PAY_RECIPIENT": "0x1234"}, "WORLD_PAY_RECIPIENT"),
        ({"WORLD_PAY_TOKEN": "WLD"}, "WORLD_PAY_TOKEN"),  # not an accepted token: it would pay nothing
        ({"WORLD_PAYMENT_TOKENS": "USDCE:6,ODD:1", "WORLD_PAY_TOKEN": "ODD"}, "WORLD_PAY_TOKEN"),
    ],
)
def test_page_settings_are_checked_at_start(monkeypatch, env, error):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit, match=error):
        WorldConfig.from_env()


def test_page_config_defaults_to_the_first_accepted_token(monkeypatch):
    monkeypatch.delenv("WORLD_PAY_TOKEN", raising=False)
    monkeypatch.setenv("WORLD_PAYMENT_TOKENS", "USDCE:6,USDC:6")
    monkeypatch.setenv("WORLD_PAY_RECIPIENT", "0x" + "aB" * 20)
    monkeypatch.setenv("WORLD_ID_APP_ID", "app_x")
    monkeypatch.setenv("WORLD_ID_ACTION", "buy")
    assert WorldConfig.from_env().page_config() == {
        "app_id": "app_x",
        "action": "buy",
        "recipient": "0x" + "aB" * 20,
        "token": {"symbol": "USDCE", "decimals": 6},
    }


def test_payments_are_refused_until_our_address_is_set(monkeypatch):
    """Without WORLD_PAY_RECIPIENT no payment can be told to have reached us: 503, not a guess."""
    monkeypatch.delenv("WORLD_PAY_RECIPIENT", raising=False)
    monkeypatch.delenv("WORLD_ID_MODE", raising=False)
    monkeypatch.setenv("WORLD_ID_APP_ID", "app_x")
    monkeypatch.setenv("WORLD_APP_API_KEY", "key")
    with pytest.raises(ApiError, match="WORLD_PAY_RECIPIENT") as refused:
        WorldConfig.from_env().require_configured()
    assert refused.value.code == "SERVICE_UNAVAILABLE"
    monkeypatch.setenv("WORLD_PAY_RECIPIENT", "0x" + "aB" * 20)
    WorldConfig.from_env().require_configured()
