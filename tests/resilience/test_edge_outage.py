"""The central goes away (Postgres stopped under a running RPC server) while a kiosk keeps
selling; it comes back and every order arrives exactly once. A cluster and RPC server of
the crash-safe outage cluster, since it stops Postgres."""

from __future__ import annotations

import secrets
import time

import httpx
import psycopg
import pytest

from kioskledger.ops.tokens import make_token
from tests.support.database import server_env
from tests.support.edge_process import FAST, EdgeProcess
from tests.support.helpers import assert_ledger_invariants, call_as, rid
from tests.support.rpc_process import rpc_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

KIOSK = "outage_k1"
OPERATOR = {"sub": "test-operator", "company_id": "outage-co"}


@pytest.fixture(scope="module")
def central(outage_db, tmp_path_factory):
    with psycopg.connect(outage_db.url, autocommit=True) as conn:
        for sku, price in (("bread", 250), ("milk", 99), ("eggs", 329)):
            call_as(conn, "admin", "SELECT api.catalog_upsert(%s, %s, %s, 'EUR', true, %s)", (sku, sku, price, rid()))
        call_as(conn, "admin", "SELECT api.company_create('outage-co', 'Outage Co', %s)", (rid(),))
        call_as(
            conn, "admin", "SELECT api.checkout_kiosk_register(%s, 'Outage', NULL, %s, 'outage-co')", (KIOSK, rid())
        )
    secret = secrets.token_urlsafe(32)
    env = server_env(outage_db, secret, RPC_POOL_MIN="2", RPC_POOL_MAX="8")
    with open(tmp_path_factory.mktemp("rpc") / "rpc.log", "w") as log, rpc_server(env, output=log) as running:
        yield {
            "base": running.base,
            "url": outage_db.url,
            "cluster": outage_db.cluster,
            "token": make_token(secret, "kiosk", {"sub": f"kiosk:{KIOSK}", "kiosk_id": KIOSK}),
        }


@pytest.fixture
def edge(central, tmp_path):
    e = EdgeProcess(central["base"], central["token"], str(tmp_path / "edge.db"), **FAST).start()
    wait_for(lambda: e.client().get("/edge/status").json()["catalog"]["version"], message="the first catalog")
    yield e
    e.kill()


def sell(c: httpx.Client, n: int, prefix: str) -> list[dict]:
    out = []
    for i in range(n):
        r = c.post(
            "/edge/checkout",
            json={
                "idempotency_key": f"{prefix}-sale-{i:04d}",
                "payment_method": ("card", "cash", "mobile")[i % 3],
                "lines": [{"sku": "bread", "qty": 1 + i % 3}, {"sku": "eggs", "qty": 1}],
            },
        )
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def test_central_down_sales_go_on_and_sync_exactly_once_when_it_is_back(central, edge):
    with edge.client() as c:
        before = sell(c, 3, "up")
        wait_for(lambda: c.get("/edge/status").json()["pending_orders"] == 0, message="the first sync")

        central["cluster"].stop("immediate")
        try:
            started = time.monotonic()
            during = sell(c, 20, "down")
            assert time.monotonic() - started < 15, "checkouts do not wait for the central"
            status = wait_for(
                lambda: (s := c.get("/edge/status").json())["link_up"] is False and s,
                message="the sync to notice the outage",
            )
            assert status["pending_orders"] == 20 and status["oldest_pending_at"] == during[0]["created_at"]
            assert c.post("/edge/sync").status_code == 503
            assert c.get("/catalog").status_code == 200, "the cached catalog still serves"
        finally:
            central["cluster"].start()

        wait_for(
            lambda: c.get("/edge/status").json()["pending_orders"] == 0, timeout=45, message="the backlog to drain"
        )
        local = c.get("/edge/orders", params={"limit": 1000}).json()["orders"]
        assert len(local) == 23 and {o["sync_state"] for o in local} == {"synced"}
        assert {o["central_status"] for o in local} <= {"accepted", "duplicate"}
    with psycopg.connect(central["url"], autocommit=True) as db:
        stored = dict(
            db.execute("SELECT idempotency_key, total FROM checkout.orders WHERE kiosk_id = %s", [KIOSK]).fetchall()
        )
        assert stored == {o["idempotency_key"]: o["total"] for o in before + during}, "every order exactly once"
        transfers = db.execute("SELECT count(*) FROM ledger.transfers WHERE kind = 'checkout_sale'").fetchone()[0]
        assert transfers == 23
        revenue = db.execute(
            """SELECT sum(b.balance) FROM ledger.account_balances b
                                 WHERE b.kind = 'checkout_revenue' AND b.owner_ref = %s""",
            [KIOSK],
        ).fetchone()[0]
        assert revenue == sum(o["total"] for o in local)
        assert db.execute("SELECT count(*) FROM checkout.unbooked_orders").fetchone()[0] == 0
        assert_ledger_invariants(db)


def test_a_refused_sync_shows_as_backlog_on_the_dashboard(central, edge):
    # The central answers but refuses the batches (here: its batch limit is set to zero,
    # so every batch is 400): heartbeats still arrive, so the dashboard shows the backlog and its age.
    with edge.client() as c, psycopg.connect(central["url"], autocommit=True) as db:
        db.execute("UPDATE core.settings SET value = '0' WHERE key = 'checkout.max_batch'")
        try:
            sold = sell(c, 3, "refused")

            def backlog():
                row = [
                    k
                    for k in call_as(db, "operator", "SELECT api.dashboard_kiosks()", claims=OPERATOR)
                    if k["kiosk_id"] == KIOSK
                ][0]
                return row if row["pending_orders"] == 3 and row["oldest_unsynced_age_seconds"] is not None else None

            row = wait_for(backlog, message="the backlog on the dashboard")
            assert row["online"] is True and row["link_up"] is True, "the link is up; the central refused the batch"
            assert row["oldest_unsynced_age_seconds"] < 60
            overview = call_as(db, "operator", "SELECT api.dashboard_overview()", claims=OPERATOR)
            assert overview["pending_orders"] == 3 and overview["kiosks_with_backlog"] == 1
            assert "HTTP 400" in c.get("/edge/status").json()["last_error"]
        finally:
            db.execute("UPDATE core.settings SET value = '500' WHERE key = 'checkout.max_batch'")
        wait_for(lambda: c.get("/edge/status").json()["pending_orders"] == 0, message="the sync after the fix")

        def drained():
            row = [
                k
                for k in call_as(db, "operator", "SELECT api.dashboard_kiosks()", claims=OPERATOR)
                if k["kiosk_id"] == KIOSK
            ][0]
            return row["pending_orders"] == 0 and row["oldest_unsynced_age_seconds"] is None

        wait_for(drained, message="the dashboard to show no backlog")
        keys = {r[0] for r in db.execute("SELECT idempotency_key FROM checkout.orders WHERE kiosk_id = %s", [KIOSK])}
        assert {o["idempotency_key"] for o in sold} <= keys
