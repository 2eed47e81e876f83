"""The self-checkout edge as a real process (python -m checkout_edge) against the test
RPC server, its link to the central behind a proxy the test can cut."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from urllib.parse import urlsplit

import httpx
import pytest

from checkout_edge.syncer import TEST_EXIT_CODE
from tests.support.edge_process import FAST, EdgeProcess, FlakyLink
from tests.support.helpers import assert_ledger_invariants, rid, rpc_ok
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def shop(server, token):
    admin = {"Authorization": "Bearer " + token("admin", sub="test-admin")}
    tag = secrets.token_hex(3)
    skus = {f"tea-{tag}": 250, f"cake-{tag}": 399, f"soda-{tag}": 175, f"gum-{tag}": 99}
    company = f"edge-{tag}"
    with httpx.Client(base_url=server, timeout=30) as c:
        rpc_ok(c, admin, "company_create", company_id=company, name="Edge Co")
        for sku, price in skus.items():
            currency = "USD" if sku.startswith("soda") else "EUR"
            name = sku.split("-")[0].title()
            rpc_ok(c, admin, "catalog_upsert", sku=sku, name=name, price=price, currency=currency, active=True)
        rpc_ok(c, admin, "catalog_upsert", sku=f"gum-{tag}", name="Gum", price=99, currency="EUR", active=False)
    return {
        "admin": admin,
        "tag": tag,
        "skus": skus,
        "tea": f"tea-{tag}",
        "cake": f"cake-{tag}",
        "soda": f"soda-{tag}",
        "gum": f"gum-{tag}",
        "operator": {"Authorization": "Bearer " + token("operator", sub="op", company_id=company)},
        "company": company,
    }


@pytest.fixture
def edges(server, token, tmp_path, shop):
    """edge(link=None, kiosk_id=None, **env) -> (EdgeProcess, FlakyLink, kiosk_id). Stopped after the test."""
    started: list = []
    links: list = []
    host, port = urlsplit(server).hostname, urlsplit(server).port

    def make(kiosk_id: str | None = None, db_name: str | None = None, **env):
        if kiosk_id is None:
            kiosk_id = "edge_" + secrets.token_hex(4)
            with httpx.Client(base_url=server, timeout=30) as c:
                r = c.post(
                    "/rpc/checkout_kiosk_register",
                    json={
                        "kiosk_id": kiosk_id,
                        "name": kiosk_id,
                        "location": None,
                        "request_id": rid(),
                        "company_id": shop["company"],
                    },
                    headers=shop["admin"],
                )
                assert r.status_code == 200, r.text
        link = FlakyLink(host, port)
        links.append(link)
        tok = token("kiosk", sub=f"kiosk:{kiosk_id}", kiosk_id=kiosk_id)
        edge = EdgeProcess(link.url, tok, str(tmp_path / (db_name or f"{kiosk_id}.db")), **{**FAST, **env})
        started.append(edge)
        edge.start()
        wait_for(lambda: edge.client().get("/edge/status").json()["catalog"]["version"], message="the first catalog")
        return edge, link, kiosk_id

    yield make
    for e in started:
        e.kill()
    for link in links:
        link.close()


def checkout(c: httpx.Client, shop, key=None, lines=None, method="card"):
    return c.post(
        "/edge/checkout",
        json={
            "idempotency_key": key or "sale-" + secrets.token_hex(6),
            "payment_method": method,
            "lines": lines or [{"sku": shop["tea"], "qty": 2}, {"sku": shop["cake"], "qty": 1}],
        },
    )


def central_orders(db, kiosk_id):
    return db.execute(
        "SELECT idempotency_key, total FROM checkout.orders WHERE kiosk_id = %s ORDER BY idempotency_key", [kiosk_id]
    ).fetchall()


def test_checkout_prices_from_the_cached_catalog_in_integer_cents(edges, shop):
    edge, _, kiosk_id = edges()
    with edge.client() as c:
        r = checkout(
            c, shop, key="order-price-1", lines=[{"sku": shop["tea"], "qty": 3}, {"sku": shop["cake"], "qty": 2}]
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["order_id"] == f"{kiosk_id}:order-price-1"
        assert [(line["unit_price"], line["amount"]) for line in body["lines"]] == [(250, 750), (399, 798)]
        assert body["total"] == 1548 and body["currency"] == "EUR" and isinstance(body["total"], int)
        catalog = c.get("/catalog").json()
        assert {i["sku"]: i["price"] for i in catalog["items"]}[shop["tea"]] == 250
        assert body["catalog_version"] == catalog["version"]


@pytest.mark.parametrize(
    "lines,fragment",
    [
        ([{"sku": "TEA", "qty": 1, "unit_price": 1}], "unit_price"),  # prices come from the catalog, never the client
        ([{"sku": "TEA", "qty": 1.0}], "qty"),
        ([{"sku": "TEA", "qty": True}], "qty"),
        ([{"sku": "TEA", "qty": 0}], "qty"),
        ([{"sku": "TEA", "qty": 201}], "qty"),
        ([{"sku": "nope", "qty": 1}], "unknown sku"),
        ([{"sku": "GUM", "qty": 1}], "not on sale"),
        ([{"sku": "TEA", "qty": 1}, {"sku": "SODA", "qty": 1}], "one currency"),
        ([], "lines"),
        ("TEA", "lines"),
    ],
)
def test_bad_checkouts_are_400_and_store_nothing(edges, shop, lines, fragment):
    edge, _, _ = edges()
    real = {"TEA": shop["tea"], "GUM": shop["gum"], "SODA": shop["soda"]}
    if isinstance(lines, list):
        lines = [{**line, "sku": real.get(line["sku"], line["sku"])} for line in lines]
    with edge.client() as c:
        r = (
            checkout(c, shop, lines=lines)
            if lines
            else c.post(
                "/edge/checkout", json={"idempotency_key": "order-bad-1", "payment_method": "card", "lines": lines}
            )
        )
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "INVALID_REQUEST" and fragment in r.json()["message"] + (r.json()["hint"] or "")
        assert c.get("/edge/orders").json()["orders"] == []


def test_bad_request_fields(edges, shop):
    edge, _, _ = edges()
    with edge.client() as c:
        for body in (
            {"payment_method": "card", "lines": [{"sku": shop["tea"], "qty": 1}]},
            {"idempotency_key": "short", "payment_method": "card", "lines": [{"sku": shop["tea"], "qty": 1}]},
            {"idempotency_key": "order-fields", "payment_method": "iou", "lines": [{"sku": shop["tea"], "qty": 1}]},
            {
                "idempotency_key": "order-fields",
                "payment_method": "card",
                "lines": [{"sku": shop["tea"], "qty": 1}],
                "total": 1,
            },
        ):
            r = c.post("/edge/checkout", json=body)
            assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST", (body, r.text)
        assert c.post("/edge/checkout", content=b"{nope").status_code == 400
        assert c.get("/edge/orders", params={"state": "lost"}).status_code == 400
        assert c.get("/edge/orders", params={"limit": 0}).status_code == 400


def test_same_key_same_order_other_payload_422(edges, shop):
    edge, _, _ = edges()
    with edge.client() as c:
        first = checkout(c, shop, key="order-idem-1")
        assert first.status_code == 201
        again = checkout(c, shop, key="order-idem-1")
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert {k: v for k, v in again.json().items() if k not in ("sync_state", "central_status", "synced_at")} == {
            k: v for k, v in first.json().items() if k not in ("sync_state", "central_status", "synced_at")
        }
        # A reused key with another payload is refused, never answered with the old order.
        for lines, method in (
            ([{"sku": shop["tea"], "qty": 3}], "card"),
            ([{"sku": shop["tea"], "qty": 2}, {"sku": shop["cake"], "qty": 1}], "cash"),
        ):
            r = checkout(c, shop, key="order-idem-1", lines=lines, method=method)
            assert r.status_code == 422 and r.json()["code"] == "IDEMPOTENCY_MISMATCH", r.text
        assert len(c.get("/edge/orders").json()["orders"]) == 1


def test_concurrent_checkouts_with_one_key_make_one_order(edges, shop):
    # Checking for the key, then inserting, would let two concurrent requests make two orders.
    edge, _, _ = edges()
    codes, lock = [], threading.Lock()

    def buy():
        with edge.client() as c:
            r = checkout(c, shop, key="order-race-1")
            with lock:
                codes.append((r.status_code, r.json()["order_id"], r.json()["total"]))

    threads = [threading.Thread(target=buy) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c for c, _, _ in codes) == [200] * 11 + [201]
    assert len({(o, t) for _, o, t in codes}) == 1
    with edge.client() as c:
        assert len(c.get("/edge/orders").json()["orders"]) == 1


def test_acknowledged_sale_survives_a_kill_and_syncs_later(edges, shop, db):
    edge, link, kiosk_id = edges()
    link.down()
    with edge.client() as c:
        r = checkout(c, shop, key="order-kill-1")
        assert r.status_code == 201
    edge.kill()  # SIGKILL right after the acknowledgement
    edge.start(wait=True)
    with edge.client() as c:
        status = c.get("/edge/status").json()
        assert status["durability"] == {"journal_mode": "wal", "synchronous": "FULL"}
        orders = c.get("/edge/orders", params={"state": "pending"}).json()["orders"]
        assert [o["idempotency_key"] for o in orders] == ["order-kill-1"]
        assert c.get("/catalog").json()["version"], "the cached catalog survives a restart"
        assert checkout(c, shop).status_code == 201, "and sells while the central is unreachable"
        assert central_orders(db, kiosk_id) == []
        link.up()
        wait_for(lambda: c.get("/edge/status").json()["pending_orders"] == 0, message="the backlog to drain")
    assert [k for k, _ in central_orders(db, kiosk_id)][0] == "order-kill-1"
    assert len(central_orders(db, kiosk_id)) == 2


def test_link_state_is_what_the_sync_observes(edges, shop):
    edge, link, _ = edges()
    with edge.client() as c:
        wait_for(lambda: c.get("/edge/status").json()["link_up"] is True, message="link up")
        link.down()
        assert checkout(c, shop).status_code == 201
        r = c.post("/edge/sync", json={"link_up": True})  # a claim in the body changes nothing
        assert (
            r.status_code == 503 and r.json()["code"] == "CENTRAL_UNREACHABLE" and r.json()["details"]["pending"] == 1
        )
        # Nothing lets the UI tell the edge the link is up: only round trips to the central say so.
        assert c.post("/edge/heartbeat", json={"central_link_up": True}).status_code in (404, 405)
        assert c.post("/edge/status", json={"link_up": True}).status_code == 405
        status = c.get("/edge/status").json()
        assert status["link_up"] is False and status["pending_orders"] == 1 and status["last_error"]
        link.up()
        wait_for(lambda: c.get("/edge/status").json()["link_up"] is True, message="link observed up again")
        assert c.post("/edge/sync").json()["pending"] == 0


def test_sync_goes_in_creation_order_in_batches(edges, shop, db):
    edge, link, kiosk_id = edges(EDGE_BATCH_SIZE="10", EDGE_SYNC_INTERVAL="60")
    link.down()
    with edge.client() as c:
        keys = [f"order-seq-{i:03d}" for i in range(25)]
        for k in keys:
            assert checkout(c, shop, key=k).status_code == 201
        link.up()
        wait_for(lambda: c.get("/edge/status").json()["link_up"], message="link up")
        r = c.post("/edge/sync")
        assert r.status_code == 200 and r.json()["pending"] == 0
    batches = db.execute(
        """SELECT array_agg(o.idempotency_key ORDER BY o.idempotency_key)
                              FROM checkout.orders o WHERE o.kiosk_id = %s GROUP BY o.received_at ORDER BY o.received_at""",
        [kiosk_id],
    ).fetchall()
    assert [b[0] for b in batches] == [keys[0:10], keys[10:20], keys[20:25]]


def _tamper(db_path: str, key: str, change) -> None:
    with sqlite3.connect(db_path, timeout=10) as conn:
        payload = json.loads(conn.execute("SELECT payload FROM orders WHERE idempotency_key = ?", [key]).fetchone()[0])
        change(payload)
        conn.execute("UPDATE orders SET payload = ? WHERE idempotency_key = ?", [json.dumps(payload), key])


def test_central_rejections_flags_and_mismatches_reach_the_edge(edges, shop, db):
    edge, link, kiosk_id = edges()
    link.down()
    with edge.client() as c:
        for key in ("order-ok-1", "order-bad-1", "order-cheap-1"):
            assert checkout(c, shop, key=key).status_code == 201
        # What a broken or tampered edge might send: the central is the one that checks.
        _tamper(edge.db_path, "order-bad-1", lambda p: p["lines"][0].update(sku="no-such-sku"))
        _tamper(edge.db_path, "order-cheap-1", lambda p: p["lines"][0].update(unit_price=1))
        link.up()
        wait_for(lambda: c.get("/edge/status").json()["pending_orders"] == 0, message="sync")
        by_key = {o["idempotency_key"]: o for o in c.get("/edge/orders").json()["orders"]}
        assert (by_key["order-ok-1"]["sync_state"], by_key["order-ok-1"]["central_status"]) == ("synced", "accepted")
        assert (by_key["order-bad-1"]["sync_state"], by_key["order-bad-1"]["reason"]) == ("rejected", "unknown_sku")
        assert by_key["order-cheap-1"]["sync_state"] == "synced"
        assert c.get("/edge/status").json()["orders"]["rejected"]["orders"] == 1
    flag = db.execute(
        "SELECT unit_price, catalog_price, price_flag FROM checkout.order_lines WHERE order_id = %s AND line_no = 1",
        [f"{kiosk_id}:order-cheap-1"],
    ).fetchone()
    assert flag == (1, 250, "price_differs")

    # The kiosk is reinstalled with an empty store and its UI reuses a key for another sale.
    edge.kill()
    edge2, _, _ = edges(kiosk_id=kiosk_id, db_name="reinstalled.db")
    with edge2.client() as c:
        assert checkout(c, shop, key="order-ok-1", lines=[{"sku": shop["cake"], "qty": 5}]).status_code == 201
        wait_for(lambda: c.get("/edge/status").json()["pending_orders"] == 0, message="sync")
        mine = c.get("/edge/orders").json()["orders"][0]
        assert (mine["sync_state"], mine["reason"]) == ("mismatch", "idempotency_key_reused")
    assert dict(central_orders(db, kiosk_id))["order-ok-1"] == 250 * 2 + 399, "the stored order stands"


def test_a_crash_between_the_central_commit_and_the_local_mark_resends_as_duplicate(edges, shop, db):
    edge, link, kiosk_id = edges(EDGE_TEST_EXIT_AFTER_CENTRAL_ACK="1", EDGE_SYNC_INTERVAL="60")
    link.down()  # collect a backlog first, then let exactly one sync through
    with edge.client() as c:
        keys = [f"order-crash-{i}" for i in range(5)]
        totals = [checkout(c, shop, key=k).json()["total"] for k in keys]
        link.up()
        try:
            c.post("/edge/sync")
        except httpx.HTTPError:
            pass  # the process died while answering
    assert edge.wait_exit(30) == TEST_EXIT_CODE
    assert [k for k, _ in central_orders(db, kiosk_id)] == keys, "the central committed the batch"
    with sqlite3.connect(edge.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM orders WHERE sync_state = 'pending'").fetchone()[0] == 5

    edge.start(wait=True, EDGE_TEST_EXIT_AFTER_CENTRAL_ACK="0")
    with edge.client() as c:
        wait_for(lambda: c.get("/edge/status").json()["pending_orders"] == 0, message="the resend")
        orders = c.get("/edge/orders").json()["orders"]
        assert {o["central_status"] for o in orders} == {"duplicate"}
        assert all(o["sync_state"] == "synced" for o in orders)
    assert [t for _, t in central_orders(db, kiosk_id)] == totals
    assert (
        db.execute(
            "SELECT count(*) FROM ledger.transfers WHERE kind = 'checkout_sale' AND idempotency_key LIKE %s",
            [f"{kiosk_id}:%"],
        ).fetchone()[0]
        == 5
    ), "no second order, no second transfer"
    assert_ledger_invariants(db)


def test_heartbeat_reaches_the_dashboard(edges, shop, db, client):
    _, _, kiosk_id = edges()

    def row():
        rows = client.get("/rpc/dashboard_kiosks", headers=shop["operator"]).json()
        mine = [k for k in rows if k["kiosk_id"] == kiosk_id]
        return mine[0] if mine and mine[0]["online"] else None

    r = wait_for(row, message="the kiosk online on the dashboard")
    assert r["app_version"].startswith("checkout-edge/") and r["link_up"] is True and r["pending_orders"] == 0
