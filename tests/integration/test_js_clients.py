"""Stock JavaScript clients against the real server: supabase-js (with its postgrest-js), and
postgrest-js on its own, pinned in tests/clients/js/package.json, installed by `make test` (npm ci)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.helpers import ensure_product, issue_card, new_card_id
from tests.support.js_clients import JS, require_node


@pytest.fixture(scope="module")
def node():
    return require_node("@supabase/supabase-js")


def test_supabase_js_flow(node, server, token, db):
    product = ensure_product(db, "js-beer", 450)
    card = new_card_id()
    seen = run_js(
        node,
        "flow.mjs",
        KL_URL=server,
        KL_ANON_KEY=token("anon"),
        KL_STAFF_TOKEN=token("staff", sub="js-till", pos="bar-js"),
        KL_CARD=card,
        KL_PRODUCT=product,
    )

    assert seen["issue"]["status"] == 200 and seen["issue"]["error"] is None, seen["issue"]
    assert seen["recharge"]["data"]["new_balance"] == 1000, seen["recharge"]
    order = seen["order"]
    assert order["status"] == 200 and order["data"]["total"] == 900 and order["data"]["new_balance"] == 100, order
    decline = seen["decline"]
    assert decline["status"] == 402 and decline["data"] is None, decline
    assert decline["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert set(decline["error"]) >= {"code", "message", "details", "hint"}
    assert seen["balance"]["status"] == 200 and seen["balance"]["data"]["balance"] == 100, seen["balance"]
    assert seen["replay"]["status"] == 200 and seen["replay"]["data"] == order["data"], seen["replay"]
    assert db.execute("SELECT count(*) FROM cards.bar_orders WHERE card_id = %s", (card,)).fetchone()[0] == 1


def run_js(node, script: str, **env) -> dict:
    """Run tests/clients/js/<script> with these KL_* variables; the JSON object it printed."""
    done = subprocess.run(
        [node, str(JS / script)],
        cwd=JS,
        env={"PATH": str(Path(node).parent), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_postgrest_js_alone(node, server, token, db):
    """postgrest-js without supabase-js: no apikey header, only the bearer; POST rpc, a 402
    decline as PostgrestError, GET for a STABLE function, a replay of the same request_id."""
    product = ensure_product(db, "pgjs-beer", 450)
    card = issue_card(db, balance=1000)
    seen = run_js(
        node,
        "postgrest.mjs",
        KL_URL=server,
        KL_STAFF_TOKEN=token("staff", sub="pgjs-till", pos="bar-pg"),
        KL_CARD=card,
        KL_PRODUCT=product,
    )

    order = seen["order"]
    assert order["status"] == 200 and order["error"] is None, order
    assert order["data"]["total"] == 450 and order["data"]["new_balance"] == 550, order
    decline = seen["decline"]
    assert decline["status"] == 402 and decline["data"] is None, decline
    assert decline["error"]["code"] == "INSUFFICIENT_FUNDS", decline
    assert set(decline["error"]) >= {"code", "message", "details", "hint"}
    assert seen["balance"]["status"] == 200 and seen["balance"]["data"]["balance"] == 550, seen["balance"]
    assert seen["replay"]["status"] == 200 and seen["replay"]["data"] == order["data"], seen["replay"]
    assert db.execute("SELECT count(*) FROM cards.bar_orders WHERE card_id = %s", (card,)).fetchone()[0] == 1
