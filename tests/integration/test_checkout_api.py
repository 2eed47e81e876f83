"""Self-checkout, central side over HTTP: argument types, missing fields, roles and replays
for every api function; concurrent resends; what the client may not decide; the dashboard
against numbers worked out by hand (in a database of its own, so the fleet is known)."""

from __future__ import annotations

import random
import secrets
import threading
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.support.answers import assert_error
from tests.support.helpers import assert_ledger_invariants, call_as, rid, rpc_ok


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def shop(server, token):
    """Two checkout kiosks with tokens, an ATM kiosk, and three catalog items (unique per run)."""
    admin = {"Authorization": "Bearer " + token("admin", sub="test-admin")}
    tag = secrets.token_hex(3)
    kiosks = [f"co_{tag}_{i}" for i in (1, 2)]
    company = f"co-{tag}"
    with httpx.Client(base_url=server, timeout=30) as c:
        rpc_ok(c, admin, "company_create", company_id=company, name="Checkout Co")
        for k in kiosks:
            rpc_ok(c, admin, "checkout_kiosk_register", kiosk_id=k, name=k, location="test", company_id=company)
        rpc_ok(
            c,
            admin,
            "atm_kiosk_register",
            kiosk_id=f"atm_{tag}",
            name="ATM",
            location=None,
            fee_flat=0,
            max_amount=1000,
        )
        skus = {f"apple-{tag}": 120, f"pear-{tag}": 95, f"melon-{tag}": 410}
        for sku, price in skus.items():
            rpc_ok(c, admin, "catalog_upsert", sku=sku, name=sku, price=price, currency="EUR", active=True)
        version = c.get("/rpc/catalog").json()["version"]
    return {
        "admin": admin,
        "operator": {"Authorization": "Bearer " + token("operator", sub="test-operator", company_id=company)},
        "kiosks": kiosks,
        "kiosk": [{"Authorization": "Bearer " + token("kiosk", sub=f"kiosk:{k}", kiosk_id=k)} for k in kiosks],
        "atm": {"Authorization": "Bearer " + token("kiosk", sub=f"kiosk:atm_{tag}", kiosk_id=f"atm_{tag}")},
        "skus": skus,
        "version": version,
        "tag": tag,
    }


def order(shop, key=None, lines=None, **over) -> dict:
    skus = list(shop["skus"])
    body = {
        "idempotency_key": key or "ord-" + secrets.token_hex(8),
        "created_at": iso(datetime.now(UTC)),
        "payment_method": "card",
        "currency": "EUR",
        "catalog_version": shop["version"],
        "lines": lines
        or [
            {"sku": skus[0], "qty": 2, "unit_price": shop["skus"][skus[0]]},
            {"sku": skus[1], "qty": 1, "unit_price": shop["skus"][skus[1]]},
        ],
    }
    body.update(over)
    return body


def sync(client, shop, orders, kiosk=0):
    return client.post("/rpc/checkout_sync", json={"orders": orders}, headers=shop["kiosk"][kiosk])


# -- every api function: bad types, missing fields, wrong roles, replays -----------------

BAD_CALLS = [
    # (function, role, body, status, code)
    (
        "catalog_upsert",
        "admin",
        {"sku": "x1", "name": "X", "price": 100, "currency": "EUR", "active": True},
        400,
        "INVALID_REQUEST",
    ),
    (
        "catalog_upsert",
        "admin",
        {"sku": "x1", "name": "X", "price": 1.2, "currency": "EUR", "active": True, "request_id": "r"},
        400,
        "INVALID_REQUEST",
    ),
    (
        "catalog_upsert",
        "admin",
        {"sku": "x1", "name": "X", "price": "120", "currency": "EUR", "active": True, "request_id": "r"},
        400,
        "INVALID_REQUEST",
    ),
    (
        "catalog_upsert",
        "admin",
        {"sku": "x1", "name": "X", "price": 100, "currency": "EUR", "active": "yes", "request_id": "r"},
        400,
        "INVALID_REQUEST",
    ),
    (
        "catalog_upsert",
        "admin",
        {"sku": 7, "name": "X", "price": 100, "currency": "EUR", "active": True, "request_id": "r"},
        400,
        "INVALID_REQUEST",
    ),
    (
        "catalog_upsert",
        "admin",
        {"sku": "x1", "name": "X", "price": 100, "currency": "EUR", "active": True, "request_id": "r", "x": 1},
        400,
        "INVALID_REQUEST",
    ),
    (
        "catalog_upsert",
        "kiosk",
        {"sku": "x1", "name": "X", "price": 100, "currency": "EUR", "active": True, "request_id": "r"},
        403,
        "FORBIDDEN",
    ),
    (
        "catalog_upsert",
        "operator",
        {"sku": "x1", "name": "X", "price": 100, "currency": "EUR", "active": True, "request_id": "r"},
        403,
        "FORBIDDEN",
    ),
    (
        "catalog_upsert",
        "anon",
        {"sku": "x1", "name": "X", "price": 100, "currency": "EUR", "active": True, "request_id": "r"},
        401,
        "UNAUTHENTICATED",
    ),
    (
        "checkout_kiosk_register",
        "admin",
        {"kiosk_id": "zz1", "location": None, "request_id": "r"},
        400,
        "INVALID_REQUEST",
    ),
    (
        "checkout_kiosk_register",
        "admin",
        {"kiosk_id": 5, "name": "n", "location": None, "request_id": "r"},
        400,
        "INVALID_REQUEST",
    ),
    (
        "checkout_kiosk_register",
        "operator",
        {"kiosk_id": "zz1", "name": "n", "location": None, "request_id": "r"},
        403,
        "FORBIDDEN",
    ),
    (
        "checkout_kiosk_register",
        "kiosk",
        {"kiosk_id": "zz1", "name": "n", "location": None, "request_id": "r"},
        403,
        "FORBIDDEN",
    ),
    ("checkout_sync", "kiosk", {}, 400, "INVALID_REQUEST"),
    ("checkout_sync", "kiosk", {"orders": "not a list"}, 400, "INVALID_REQUEST"),
    ("checkout_sync", "kiosk", {"orders": {"idempotency_key": "abcdefgh"}}, 400, "INVALID_REQUEST"),
    ("checkout_sync", "kiosk", {"orders": [], "request_id": "r"}, 400, "INVALID_REQUEST"),
    ("checkout_sync", "admin", {"orders": [{}]}, 403, "FORBIDDEN"),
    ("checkout_sync", "operator", {"orders": [{}]}, 403, "FORBIDDEN"),
    ("checkout_sync", "anon", {"orders": [{}]}, 401, "UNAUTHENTICATED"),
    ("checkout_sync", "atm", {"orders": [{}]}, 403, "FORBIDDEN"),
    ("checkout_backlog", "kiosk", {"oldest_pending_at": "around noon"}, 400, "INVALID_REQUEST"),
    ("checkout_backlog", "kiosk", {"oldest_pending_at": 17}, 400, "INVALID_REQUEST"),
    ("checkout_backlog", "atm", {"oldest_pending_at": None}, 403, "FORBIDDEN"),
    ("checkout_backlog", "operator", {"oldest_pending_at": None}, 403, "FORBIDDEN"),
    ("checkout_orders", "operator", {"limit": "ten"}, 400, "INVALID_REQUEST"),
    ("checkout_orders", "operator", {"since": "last tuesday"}, 400, "INVALID_REQUEST"),
    ("checkout_orders", "operator", {"limit": 5000}, 400, "INVALID_REQUEST"),
    ("checkout_orders", "operator", {"kiosk_id": "no_such_kiosk"}, 404, "KIOSK_NOT_FOUND"),
    ("checkout_orders", "kiosk", {}, 403, "FORBIDDEN"),
    ("checkout_orders", "anon", {}, 401, "UNAUTHENTICATED"),
    ("dashboard_overview", "kiosk", {}, 403, "FORBIDDEN"),
    ("dashboard_overview", "anon", {}, 401, "UNAUTHENTICATED"),
    ("dashboard_overview", "operator", {"kiosk_id": "x"}, 400, "INVALID_REQUEST"),
    ("dashboard_kiosks", "staff", {}, 403, "FORBIDDEN"),
    ("catalog", "anon", {"version": 1}, 400, "INVALID_REQUEST"),
]


@pytest.mark.parametrize(
    "fn,role,body,status,code", BAD_CALLS, ids=[f"{f}-{r}-{i}" for i, (f, r, *_rest) in enumerate(BAD_CALLS)]
)
def test_bad_calls_are_refused(client, shop, token, fn, role, body, status, code):
    headers = {
        "anon": {},
        "admin": shop["admin"],
        "operator": shop["operator"],
        "kiosk": shop["kiosk"][0],
        "atm": shop["atm"],
        "staff": {"Authorization": "Bearer " + token("staff", sub="s")},
    }[role]
    assert_error(client.post(f"/rpc/{fn}", json=body, headers=headers), status, code)


def test_catalog_upsert_replays_and_refuses_a_reused_key(client, shop):
    key = rid()
    body = {
        "sku": f"kiwi-{shop['tag']}",
        "name": "Kiwi",
        "price": 55,
        "currency": "EUR",
        "active": True,
        "request_id": key,
    }
    first = client.post("/rpc/catalog_upsert", json=body, headers=shop["admin"])
    assert first.status_code == 200 and first.json()["changed"] is True
    again = client.post("/rpc/catalog_upsert", json=body, headers=shop["admin"])
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert_error(
        client.post("/rpc/catalog_upsert", json={**body, "price": 56}, headers=shop["admin"]),
        422,
        "IDEMPOTENCY_MISMATCH",
    )


def test_catalog_is_public_and_cacheable(client, shop):
    resp = client.get("/rpc/catalog")
    assert resp.status_code == 200 and resp.json()["version"] >= shop["version"]
    assert client.get("/rpc/catalog", headers={"If-None-Match": resp.headers["etag"]}).status_code == 304


def test_kiosk_register_replays_and_conflicts(client, shop):
    kid, key = f"co_{secrets.token_hex(4)}", rid()
    body = {"kiosk_id": kid, "name": "Reg", "location": None, "request_id": key}
    assert client.post("/rpc/checkout_kiosk_register", json=body, headers=shop["admin"]).json()["kind"] == "checkout"
    again = client.post("/rpc/checkout_kiosk_register", json=body, headers=shop["admin"])
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert_error(
        client.post("/rpc/checkout_kiosk_register", json={**body, "request_id": rid()}, headers=shop["admin"]),
        409,
        "CONFLICT",
    )
    assert_error(
        client.post("/rpc/checkout_kiosk_register", json={**body, "name": "Other"}, headers=shop["admin"]),
        422,
        "IDEMPOTENCY_MISMATCH",
    )


def test_sync_replay_is_duplicate_with_the_stored_total(client, shop, db):
    o = order(shop)
    first = sync(client, shop, [o])
    assert first.status_code == 200 and first.json()["results"][0]["status"] == "accepted"
    total = 2 * 120 + 95
    assert first.json()["results"][0]["total"] == total
    again = sync(client, shop, [o])
    assert again.json()["results"][0] == {**first.json()["results"][0], "status": "duplicate"}
    order_id = f"{shop['kiosks'][0]}:{o['idempotency_key']}"
    assert (
        db.execute(
            "SELECT count(*) FROM ledger.transfers WHERE kind = 'checkout_sale' AND idempotency_key = %s", [order_id]
        ).fetchone()[0]
        == 1
    )


def test_backlog_and_heartbeat_from_a_checkout_kiosk(client, shop, db):
    hdr = shop["kiosk"][1]
    oldest = iso(datetime.now(UTC) - timedelta(minutes=3))
    assert client.post("/rpc/checkout_backlog", json={"oldest_pending_at": oldest}, headers=hdr).status_code == 200
    assert (
        client.post(
            "/rpc/kiosk_heartbeat", json={"link_up": True, "pending_orders": 4, "app_version": "t/1"}, headers=hdr
        ).status_code
        == 200
    )
    row = [
        k
        for k in client.get("/rpc/dashboard_kiosks", headers=shop["operator"]).json()
        if k["kiosk_id"] == shop["kiosks"][1]
    ][0]
    assert (row["online"], row["pending_orders"], row["app_version"]) == (True, 4, "t/1")
    assert 175 <= row["oldest_unsynced_age_seconds"] <= 200
    assert client.post("/rpc/checkout_backlog", json={}, headers=hdr).json()["oldest_pending_at"] is None


def test_checkout_orders_over_get(client, shop):
    o = order(shop)
    assert sync(client, shop, [o], kiosk=1).json()["accepted"] == 1
    resp = client.get(
        "/rpc/checkout_orders", params={"kiosk_id": shop["kiosks"][1], "limit": 1000}, headers=shop["operator"]
    )
    assert resp.status_code == 200, resp.text
    mine = [x for x in resp.json() if x["idempotency_key"] == o["idempotency_key"]]
    assert len(mine) == 1 and mine[0]["total"] == 335 and mine[0]["transfer_id"] is not None
    assert [line["amount"] for line in mine[0]["lines"]] == [240, 95]


# -- concurrency: resends of the same orders at once never surface as errors -------------


def test_concurrent_resends_store_each_order_once(server, shop, db):
    orders = [order(shop) for _ in range(40)]
    variants = [dict(o, payment_method="cash") for o in orders[:5]]  # same keys, other payload
    statuses: dict[str, list[str]] = {o["idempotency_key"]: [] for o in orders}
    failures, lock = [], threading.Lock()

    def sender(seed):
        rnd = random.Random(seed)
        batch = orders[:] + (variants if seed % 2 else [])
        rnd.shuffle(batch)
        with httpx.Client(base_url=server, timeout=60) as c:
            for chunk in (batch[:23], batch[23:]):
                resp = c.post("/rpc/checkout_sync", json={"orders": chunk}, headers=shop["kiosk"][0])
                with lock:
                    if resp.status_code != 200:
                        failures.append(resp.text)
                        continue
                    for r in resp.json()["results"]:
                        statuses[r["idempotency_key"]].append(r["status"])

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], "a concurrent duplicate surfaced as an error"
    for key, seen in statuses.items():
        assert seen.count("accepted") == 1, (key, seen)
        assert set(seen) <= {"accepted", "duplicate", "mismatch"}, (key, seen)
    ids = [f"{shop['kiosks'][0]}:{o['idempotency_key']}" for o in orders]
    stored = db.execute(
        "SELECT count(*), count(DISTINCT order_id) FROM checkout.orders WHERE order_id = ANY(%s)", [ids]
    ).fetchone()
    transfers = db.execute(
        "SELECT count(*) FROM ledger.transfers WHERE kind = 'checkout_sale' AND idempotency_key = ANY(%s)", [ids]
    ).fetchone()[0]
    assert stored == (40, 40) and transfers == 40
    assert db.execute("SELECT count(*) FROM checkout.unbooked_orders").fetchone()[0] == 0
    assert_ledger_invariants(db)


# -- what the client may not decide: float money, prices, another order's key, its kiosk --


def test_money_as_real_is_refused(client, shop):
    skus = list(shop["skus"])
    o = order(shop, lines=[{"sku": skus[0], "qty": 1, "unit_price": 1.2}])
    r = sync(client, shop, [o]).json()["results"][0]
    assert (r["status"], r["reason"]) == ("rejected", "bad_unit_price")
    o = order(shop, lines=[{"sku": skus[0], "qty": 1, "unit_price": 120.0}])
    assert sync(client, shop, [o]).json()["results"][0]["reason"] == "bad_unit_price", "120.0 is a float, not cents"
    # ...and in the catalog, and the stored columns are integers.
    assert_error(
        client.post(
            "/rpc/catalog_upsert",
            json={"sku": "f1", "name": "F", "price": 1.99, "currency": "EUR", "active": True, "request_id": rid()},
            headers=shop["admin"],
        ),
        400,
        "INVALID_REQUEST",
    )


def test_money_columns_are_integers(db):
    types = dict(
        db.execute("""SELECT table_name || '.' || column_name, data_type FROM information_schema.columns
                                WHERE table_schema = 'checkout' AND column_name IN ('price', 'unit_price', 'catalog_price', 'total')""").fetchall()
    )
    assert types and set(types.values()) == {"bigint"}, types


def test_client_prices_are_kept_but_flagged(client, shop, db):
    skus = list(shop["skus"])
    o = order(shop, lines=[{"sku": skus[2], "qty": 1, "unit_price": 1}])  # the catalog says 410
    r = sync(client, shop, [o]).json()["results"][0]
    assert (r["status"], r["total"]) == ("accepted", 1), "the sale happened at that price"
    line = db.execute(
        "SELECT unit_price, catalog_price, price_flag FROM checkout.order_lines WHERE order_id = %s",
        [f"{shop['kiosks'][0]}:{o['idempotency_key']}"],
    ).fetchone()
    assert line == (1, 410, "price_differs")


def test_reused_key_with_another_payload_is_not_the_old_order(client, shop, db):
    o = order(shop)
    assert sync(client, shop, [o]).json()["accepted"] == 1
    other = dict(o, lines=[{"sku": list(shop["skus"])[2], "qty": 3, "unit_price": 410}])
    r = sync(client, shop, [other]).json()["results"][0]
    assert r["status"] == "mismatch" and r["reason"] == "idempotency_key_reused" and "total" not in r
    order_id = f"{shop['kiosks'][0]}:{o['idempotency_key']}"
    assert db.execute("SELECT total FROM checkout.orders WHERE order_id = %s", [order_id]).fetchone()[0] == 335
    assert (
        db.execute(
            "SELECT count(*) FROM checkout.refused_orders WHERE kiosk_id = %s AND idempotency_key = %s AND status = 'mismatch'",
            [shop["kiosks"][0], o["idempotency_key"]],
        ).fetchone()[0]
        == 1
    )


def test_kiosk_identity_comes_from_the_token(client, shop, db):
    # There is no kiosk argument to forge; the same key from two kiosks is two orders.
    o = order(shop)
    assert sync(client, shop, [o], kiosk=0).json()["accepted"] == 1
    assert sync(client, shop, [o], kiosk=1).json()["accepted"] == 1
    assert_error(
        client.post(
            "/rpc/checkout_sync", json={"orders": [o], "kiosk_id": shop["kiosks"][1]}, headers=shop["kiosk"][0]
        ),
        400,
        "INVALID_REQUEST",
    )


# -- the dashboard, in a database whose whole fleet this test knows ------------------------


@pytest.fixture
def fleet_db(template_db):
    fleet = template_db.clone("fleet")
    with psycopg.connect(fleet.url, autocommit=True) as conn:
        yield conn
    fleet.drop()


def test_dashboard_against_hand_computed_numbers(fleet_db):
    db = fleet_db
    for sku, price, cur in (("tea", 250, "EUR"), ("cake", 399, "EUR"), ("soda", 175, "USD")):
        call_as(db, "admin", "SELECT api.catalog_upsert(%s, %s, %s, %s, true, %s)", (sku, sku, price, cur, rid()))
    call_as(db, "admin", "SELECT api.company_create('fleet', 'Fleet', %s)", (rid(),))
    for k in ("ka", "kb", "kc", "kd"):
        call_as(db, "admin", "SELECT api.checkout_kiosk_register(%s, %s, NULL, %s, 'fleet')", (k, k.upper(), rid()))
    operator = {"sub": "test-operator", "company_id": "fleet"}
    version = db.execute("SELECT checkout.catalog_version()").fetchone()[0]
    day_start = db.execute("SELECT lower(checkout.today())").fetchone()[0]
    now = datetime.now(UTC)

    def sell(kiosk, key, lines, currency="EUR", when=None):
        o = {
            "idempotency_key": key,
            "created_at": iso(when or now),
            "payment_method": "card",
            "currency": currency,
            "catalog_version": version,
            "lines": [{"sku": s, "qty": q, "unit_price": p} for s, q, p in lines],
        }
        res = call_as(
            db,
            "kiosk",
            "SELECT api.checkout_sync(%s::jsonb)",
            (psycopg.types.json.Jsonb([o]),),
            claims={"sub": "k", "kiosk_id": kiosk},
        )
        assert res["accepted"] == 1, res

    sell("ka", "ka-000001", [("tea", 2, 250), ("cake", 1, 399)])  # 899 EUR
    sell("ka", "ka-000002", [("soda", 3, 175)], currency="USD")  # 525 USD
    sell("ka", "ka-000003", [("tea", 1, 250)], when=day_start - timedelta(minutes=5))  # yesterday: not today
    sell("kb", "kb-000001", [("cake", 2, 399)])  # 798 EUR
    sell("kc", "kc-000001", [("tea", 1, 999)])  # 999 EUR (price flagged, still revenue)
    # Heartbeats and backlogs, placed in time by updating rows (never by sleeping).
    db.execute("""UPDATE kiosk.kiosks k SET last_seen_at = now() - v.ago, link_up = v.up, pending_orders = v.pending
                    FROM (VALUES ('ka', interval '3 seconds', true, 0), ('kb', interval '25 seconds', true, 2),
                                 ('kc', interval '1 second', false, 7), ('kd', interval '19 seconds', true, 1)) v(id, ago, up, pending)
                   WHERE k.kiosk_id = v.id""")
    db.execute("""INSERT INTO checkout.edge_backlog (kiosk_id, oldest_pending_at)
                  VALUES ('kb', now() - interval '10 minutes'), ('kc', now() - interval '1 hour'), ('kd', now() - interval '30 seconds'),
                         ('ka', now() - interval '2 hours')""")  # ka reports none pending: its old report does not count

    kiosks = {k["kiosk_id"]: k for k in call_as(db, "operator", "SELECT api.dashboard_kiosks()", claims=operator)}
    got = {k: (v["online"], v["orders_today"], v["revenue_today"], v["pending_orders"]) for k, v in kiosks.items()}
    assert got == {
        "ka": (True, 2, {"EUR": 899, "USD": 525}, 0),
        "kb": (False, 1, {"EUR": 798}, 2),  # heartbeat 25 s ago
        "kc": (False, 1, {"EUR": 999}, 7),  # seen 1 s ago but its link is down
        "kd": (True, 0, {}, 1),
    }
    ages = {k: v["oldest_unsynced_age_seconds"] for k, v in kiosks.items()}
    assert ages["ka"] is None
    assert 600 <= ages["kb"] <= 602 and 3600 <= ages["kc"] <= 3602 and 30 <= ages["kd"] <= 32

    ov = call_as(db, "operator", "SELECT api.dashboard_overview()", claims=operator)
    assert {
        k: ov[k]
        for k in (
            "kiosks",
            "online",
            "offline",
            "orders_today",
            "revenue_today",
            "pending_orders",
            "kiosks_with_backlog",
            "refused_orders",
        )
    } == {
        "kiosks": 4,
        "online": 2,
        "offline": 2,
        "orders_today": 4,
        "revenue_today": {"EUR": 2696, "USD": 525},
        "pending_orders": 10,
        "kiosks_with_backlog": 3,
        "refused_orders": 0,
    }
    assert 3600 <= ov["oldest_unsynced_age_seconds"] <= 3602
    # The ledger agrees with the dashboard's revenue.
    revenue = dict(
        db.execute("""SELECT a.currency, sum(b.balance)::bigint FROM ledger.account_balances b
                                   JOIN ledger.accounts a ON a.id = b.id WHERE a.kind = 'checkout_revenue' GROUP BY 1""").fetchall()
    )
    assert revenue == {"EUR": 2696 + 250, "USD": 525}
    assert_ledger_invariants(db)
