"""The read functions the operator console added, over HTTP: the festival's reports
(numbers worked out by hand from the orders, recharges and refunds made here), the refund
files, the ATM and checkout lists' arguments; who may call them. Company scoping of the
operator reads is in test_kiosk_tenancy.py."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.answers import assert_error, bearer, ok
from tests.support.helpers import call_as, ensure_product, issue_card, rid

FESTIVAL = [
    ("festival_sales_per_hour", {}),
    ("festival_top_products", {}),
    ("festival_recharges", {}),
    ("festival_cards_attention", {}),
    ("refunds_list", {}),
    ("refund_exports_list", {}),
    ("refund_export_file", {"export_id": 1}),
]


def order(db, card: str, pos: str, items: list[tuple[str, int]]) -> dict:
    return call_as(
        db,
        "staff",
        "SELECT api.bar_order(%s, %s, %s, %s)",
        (card, Jsonb([{"product_id": p, "quantity": q} for p, q in items]), rid(), pos),
    )


@pytest.fixture(scope="module")
def festival(migrated):
    """Bar 'north': 2 orders (wine x2 + glass deposit, wine x1), bar 'south': 1 (water x3);
    two refunds, the first exported."""
    with psycopg.connect(migrated.url, autocommit=True) as db:
        ensure_product(db, "wine", 700)
        ensure_product(db, "water", 200)
        ensure_product(db, "glass", 300, is_deposit=True)
        a, b = issue_card(db, 10000), issue_card(db, 5000)
        order(db, a, "north", [("wine", 2), ("glass", 1)])
        order(db, a, "north", [("wine", 1)])
        order(db, b, "south", [("water", 3)])
        db.execute("UPDATE core.settings SET value = '\"Festival Ltd\"' WHERE key = 'cards.refund_debtor_name'")
        db.execute(
            "UPDATE core.settings SET value = '\"DE89370400440532013000\"' WHERE key = 'cards.refund_debtor_iban'"
        )
        first, second = issue_card(db, 1500), issue_card(db, 2500)
        for card, name in [(first, "Ada One"), (second, "Bo Two")]:
            call_as(
                db,
                "staff",
                "SELECT api.refund_request(%s, %s, 'x@example.org', 'GB82WEST12345698765432', %s)",
                (card, name, rid()),
            )
            if card == first:
                export = call_as(db, "admin", "SELECT api.refund_export(%s)", (rid(),))
        return {"a": a, "b": b, "first": first, "second": second, "export": export}


@pytest.fixture
def admin(token):
    return bearer(token("admin", sub="console-reads"))


@pytest.mark.parametrize("fn,args", FESTIVAL)
def test_festival_reports_are_for_admins(client, token, fn, args):
    assert_error(client.get(f"/rpc/{fn}", params=args), 401, "UNAUTHENTICATED")
    for role in ("kiosk", "staff", "operator"):
        assert_error(
            client.get(f"/rpc/{fn}", params=args, headers=bearer(token(role, company_id="c"))), 403, "FORBIDDEN"
        )


def test_sales_per_bar_per_hour(client, admin, festival):
    sales = ok(client.get("/rpc/festival_sales_per_hour", headers=admin))
    assert sales["currency"] == "EUR"
    assert 24 <= len(sales["hours"]) <= 25 and sales["hours"] == sorted(sales["hours"])
    assert {(r["point_of_sale"], r["orders"], r["sales"], r["deposits_taken"]) for r in sales["rows"]} == {
        ("north", 2, 2100, 300),
        ("south", 1, 600, 0),
    }
    assert all(r["hour"] in sales["hours"] for r in sales["rows"])
    assert [(t["point_of_sale"], t["orders"], t["sales"]) for t in sales["totals"]] == [
        ("north", 2, 2100),
        ("south", 1, 600),
    ]
    empty = ok(client.get("/rpc/festival_sales_per_hour", params={"until": "2020-01-02T00:00:00Z"}, headers=admin))
    assert empty["rows"] == [] and empty["since"].startswith("2020-01-01T00:00:00")


@pytest.mark.parametrize(
    "args,argument",
    [
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
        ({"since": "2026-01-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "since"),
        ({"until": "infinity"}, "until"),
    ],
)
def test_sales_window_must_be_a_month_at_most(client, admin, args, argument):
    body = assert_error(client.get("/rpc/festival_sales_per_hour", params=args, headers=admin), 400, "INVALID_REQUEST")
    assert body["details"]["argument"] == argument


def test_top_products_recharges_and_limits(client, admin, festival):
    top = ok(client.get("/rpc/festival_top_products", headers=admin))
    assert [(p["product_id"], p["units"], p["revenue"]) for p in top[:2]] == [("wine", 3, 2100), ("water", 3, 600)]
    assert "glass" not in {p["product_id"] for p in top}, "a deposit is not a product"
    assert len(ok(client.get("/rpc/festival_top_products", params={"limit": 1}, headers=admin))) == 1
    later = ok(client.get("/rpc/festival_top_products", params={"since": "2999-01-01T00:00:00Z"}, headers=admin))
    assert later == []
    recharges = ok(client.get("/rpc/festival_recharges", headers=admin))
    assert recharges == [{"checkpoint_id": "cp-test", "method": "cash", "recharges": 4, "amount": 19000}]
    for fn, args in [
        ("festival_top_products", {"limit": 0}),
        ("festival_cards_attention", {"limit": 1001}),
        ("refunds_list", {"status": "paid"}),
        ("refund_exports_list", {"limit": 0}),
    ]:
        body = assert_error(client.get(f"/rpc/{fn}", params=args, headers=admin), 400, "INVALID_REQUEST")
        assert body["details"]["argument"] in args


def test_refunds_and_their_files(client, admin, festival):
    listed = ok(client.get("/rpc/refunds_list", headers=admin))
    assert listed["summary"] == {"pending": {"count": 1, "amount": 2300}, "exported": {"count": 1, "amount": 1300}}
    assert [(r["card_id"], r["status"], r["iban"]) for r in listed["refunds"]] == [
        (festival["second"], "pending", "GB82**************5432"),
        (festival["first"], "exported", "GB82**************5432"),
    ]
    pending = ok(client.get("/rpc/refunds_list", params={"status": "pending"}, headers=admin))["refunds"]
    assert [r["card_id"] for r in pending] == [festival["second"]]
    exports = ok(client.get("/rpc/refund_exports_list", headers=admin))
    export_id = festival["export"]["export_id"]
    assert [(e["export_id"], e["count"], e["total"]) for e in exports] == [(export_id, 1, 1300)]
    file = ok(client.get("/rpc/refund_export_file", params={"export_id": export_id}, headers=admin))
    assert file["xml"] == festival["export"]["xml"], "the file as it was exported"
    assert file["filename"] == exports[0]["message_id"] + ".xml"
    missing = assert_error(
        client.get("/rpc/refund_export_file", params={"export_id": export_id + 100}, headers=admin),
        404,
        "REFUND_EXPORT_NOT_FOUND",
    )
    assert missing["details"] == {"export_id": export_id + 100}


def test_cards_with_debt_or_disputes(client, admin, festival, db):
    assert ok(client.get("/rpc/festival_cards_attention", headers=admin)) == []
    # A disputed Stripe payment on card b (the webhook path is test_stripe.py's; here its row).
    db.execute(
        "INSERT INTO cards.stripe_payments (payment_intent, card_id, amount_credited, currency, disputed) "
        "VALUES ('pi_console_reads', %s, 0, 'EUR', true)",
        [festival["b"]],
    )
    [card] = ok(client.get("/rpc/festival_cards_attention", headers=admin))
    assert card == {"card_id": festival["b"], "status": "active", "balance": 4400, "debt": 0, "disputed": True}


def test_atm_and_checkout_lists_check_their_arguments(client, admin):
    for fn, args in [
        ("atm_jobs", {"status": "lost"}),
        ("atm_jobs", {"limit": 0}),
        ("atm_transactions", {"limit": 5000}),
        ("atm_transactions", {"day": "infinity"}),
        ("checkout_refused_orders", {"limit": 0}),
    ]:
        body = assert_error(client.get(f"/rpc/{fn}", params=args, headers=admin), 400, "INVALID_REQUEST")
        assert body["details"]["argument"] in args, (fn, body)
    for fn in ("atm_jobs", "atm_transactions"):
        assert_error(client.get(f"/rpc/{fn}", params={"kiosk_id": "nowhere"}, headers=admin), 404, "KIOSK_NOT_FOUND")
    assert_error(
        client.get("/rpc/checkout_refused_orders", params={"kiosk_id": "nowhere"}, headers=admin),
        404,
        "KIOSK_NOT_FOUND",
    )
    day = ok(client.get("/rpc/atm_transactions", params={"day": "2020-02-29"}, headers=admin))
    assert day["day"] == "2020-02-29" and day["transactions"] == [] and day["summary"]["transactions"] == 0
