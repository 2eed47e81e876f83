"""A database with real data in every domain, made through the public API as the programs
make it (staff terminals, kiosks, edges, Stripe webhooks, World App payments, DEX files),
for the operator console's browser tests. The numbers the pages must show follow from
what is made here; each is named in the Seed it returns."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.answers import bearer, dex_fixture, ok
from tests.support.atm_pay import pay_body
from tests.support.helpers import rpc_ok
from tests.support.stripe_webhooks import checkout, deliver, event, new_pi, session_obj

DEBTOR_IBAN = "DE89370400440532013000"
EXPORTED_IBAN = "GB82WEST12345698765432"
PENDING_IBAN = "FR1420041010050500013M02606"


@dataclass
class Seed:
    admin: dict
    kiosk: dict = field(default_factory=dict)  # kiosk id -> its token's headers
    atm_jobs: dict = field(default_factory=dict)  # name -> job id
    first_export: dict = field(default_factory=dict)
    checkout_version: int = 0


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seed_festival(c: httpx.Client, db, token, seed: Seed) -> None:
    """Bars bar-1 (2 orders, 12.00) and bar-2 (2 orders, 13.50); Beer 5 units 22.50; card
    FESTF006 blocked with 9.00 debt; refund of FESTD004 (13.00) exported, of FESTE005
    (23.00) pending."""
    admin, staff = seed.admin, bearer(token("staff", sub="staff-anna"))
    for product, name, price, deposit in [
        ("beer", "Beer", 450, False),
        ("cola", "Cola", 300, False),
        ("cup", "Cup deposit", 100, True),
    ]:
        rpc_ok(
            c,
            admin,
            "product_upsert",
            product_id=product,
            name=name,
            category="drinks",
            price=price,
            is_deposit=deposit,
        )
    for card, amount, method, checkpoint in [
        ("FESTA001", 5000, "cash", "cp-north"),
        ("FESTB002", 3000, "card", "cp-north"),
        ("FESTC003", 2000, "cash", "cp-south"),
        ("FESTD004", 1500, "cash", "cp-south"),
        ("FESTE005", 2500, "cash", "cp-south"),
        ("FESTF006", 0, None, None),
    ]:
        rpc_ok(c, staff, "card_issue", card_id=card)
        if amount:
            rpc_ok(
                c,
                staff,
                "checkpoint_recharge",
                card_id=card,
                amount=amount,
                payment_method=method,
                checkpoint_id=checkpoint,
            )
    # FESTF006 is recharged online through Stripe Checkout, spends, then the payment is refunded.
    session = checkout(c, "FESTF006", 1000)
    pi = new_pi()
    assert deliver(c, event("checkout.session.completed", session_obj(session, 1000, pi))).status_code == 200
    for card, pos, items in [
        ("FESTA001", "bar-1", [("beer", 2), ("cup", 1)]),
        ("FESTA001", "bar-1", [("cola", 1)]),
        ("FESTB002", "bar-2", [("beer", 1)]),
        ("FESTF006", "bar-2", [("beer", 2)]),
    ]:
        rpc_ok(
            c,
            staff,
            "bar_order",
            card_id=card,
            point_of_sale=pos,
            items=[{"product_id": p, "quantity": q} for p, q in items],
        )
    refunded = deliver(c, event("charge.refunded", {"object": "charge", "payment_intent": pi, "amount_refunded": 1000}))
    assert refunded.json()["outcome"] == "refunded with debt", refunded.text
    # The account refunds are paid from: configuration, not an API.
    db.execute("UPDATE core.settings SET value = to_jsonb('Festival Ltd'::text) WHERE key = 'cards.refund_debtor_name'")
    db.execute(
        "UPDATE core.settings SET value = to_jsonb(%s::text) WHERE key = 'cards.refund_debtor_iban'", [DEBTOR_IBAN]
    )
    rpc_ok(
        c, staff, "refund_request", card_id="FESTD004", name="Dana Doe", email="dana@example.org", iban=EXPORTED_IBAN
    )
    seed.first_export = rpc_ok(c, admin, "refund_export")
    assert seed.first_export["count"] == 1, seed.first_export
    rpc_ok(
        c, staff, "refund_request", card_id="FESTE005", name="Eve Example", email="eve@example.org", iban=PENDING_IBAN
    )


def seed_atm(c: httpx.Client, token, world_fake, seed: Seed) -> None:
    """Kiosk lobby: one completed payout (5.00), one whose payout is unknown (10.00, 40
    quarters: needs reconciliation), one paid and queued (2.50), one unpaid (7.50); fee 0.50."""
    rpc_ok(
        c,
        seed.admin,
        "atm_kiosk_register",
        kiosk_id="lobby",
        name="Lobby ATM",
        location="Main hall",
        fee_flat=50,
        max_amount=5000,
    )
    kiosk = seed.kiosk["lobby"] = bearer(token("kiosk", kiosk_id="lobby", sub="kiosk:lobby"))

    def paid(amount: int) -> dict:
        tx = rpc_ok(c, kiosk, "atm_transaction_create", amount=amount)
        body = pay_body(tx)
        world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
        ok(c.post("/atm/pay", json=body))
        return tx

    def claim_and_begin() -> dict:
        job = ok(c.post("/rpc/dispense_claim", json={}, headers=kiosk))
        ok(
            c.post(
                "/rpc/dispense_begin", json={"job_id": job["job_id"], "claim_token": job["claim_token"]}, headers=kiosk
            )
        )
        return job

    paid(500)
    job = claim_and_begin()
    ok(
        c.post(
            "/rpc/dispense_finish",
            headers=kiosk,
            json={"job_id": job["job_id"], "claim_token": job["claim_token"], "coins_paid": 20},
        )
    )
    seed.atm_jobs["completed"] = job["job_id"]
    paid(1000)
    job = claim_and_begin()
    ok(
        c.post(
            "/rpc/dispense_unknown",
            headers=kiosk,
            json={
                "job_id": job["job_id"],
                "claim_token": job["claim_token"],
                "evidence": {"reason": "power cut mid-payout"},
            },
        )
    )
    seed.atm_jobs["unknown"] = job["job_id"]
    paid(250)
    rpc_ok_read = ok(c.get("/rpc/atm_jobs", params={"status": "pending"}, headers=seed.admin))
    seed.atm_jobs["queued"] = rpc_ok_read[0]["job_id"]
    rpc_ok(c, kiosk, "atm_transaction_create", amount=750)


def seed_checkout(c: httpx.Client, token, seed: Seed) -> None:
    """co_front online with 3 orders waiting on the edge (oldest 10 min), 2 orders synced
    (9.90) and one refused (a float price); co_back never seen: offline."""
    for kiosk, name in [("co_front", "Front checkout"), ("co_back", "Back checkout")]:
        rpc_ok(c, seed.admin, "checkout_kiosk_register", kiosk_id=kiosk, name=name, location="Entrance")
        seed.kiosk[kiosk] = bearer(token("kiosk", kiosk_id=kiosk, sub="kiosk:" + kiosk))
    for sku, name, price in [("apple", "Apple", 120), ("bread", "Bread", 250)]:
        rpc_ok(c, seed.admin, "catalog_upsert", sku=sku, name=name, price=price, currency="EUR", active=True)
    seed.checkout_version = ok(c.get("/rpc/catalog"))["version"]
    front = seed.kiosk["co_front"]
    checkout_heartbeat(c, seed)
    ok(
        c.post(
            "/rpc/checkout_backlog",
            headers=front,
            json={"oldest_pending_at": iso(datetime.now(UTC) - timedelta(minutes=10))},
        )
    )

    def order(lines, method="card") -> dict:
        return {
            "idempotency_key": "ord-" + secrets.token_hex(6),
            "created_at": iso(datetime.now(UTC)),
            "payment_method": method,
            "currency": "EUR",
            "catalog_version": seed.checkout_version,
            "lines": lines,
        }

    results = ok(
        c.post(
            "/rpc/checkout_sync",
            headers=front,
            json={
                "orders": [
                    order(
                        [{"sku": "apple", "qty": 2, "unit_price": 120}, {"sku": "bread", "qty": 1, "unit_price": 250}]
                    ),
                    order([{"sku": "bread", "qty": 2, "unit_price": 250}], method="cash"),
                    order([{"sku": "apple", "qty": 1, "unit_price": 1.2}]),
                ]
            },
        )
    )["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted", "rejected"], results


def checkout_heartbeat(c: httpx.Client, seed: Seed) -> None:
    """co_front's edge says it is alive (online means a heartbeat within 20 s)."""
    ok(
        c.post(
            "/rpc/kiosk_heartbeat",
            headers=seed.kiosk["co_front"],
            json={"link_up": True, "pending_orders": 3, "app_version": "1.4.2"},
        )
    )


def seed_vending(c: httpx.Client, seed: Seed) -> None:
    """SNACK-1 of Acme at Central Station: two reads (the second an hour ago: 6 vends, 9.50),
    a refill between them with par levels, so the pick list brings Cola 33cl x3, P-CHIPS x2."""
    admin = seed.admin
    rpc_ok(c, admin, "company_create", company_id="acme", name="Acme Vending")
    rpc_ok(
        c,
        admin,
        "vending_product_upsert",
        company_id="acme",
        product_code="P-COLA",
        name="Cola 33cl",
        category="drinks",
    )
    rpc_ok(
        c,
        admin,
        "machine_register",
        case_serial="SNACK-1",
        company_id="acme",
        location="Central Station",
        model="Fixture Snack 1000",
        currency="EUR",
        decimals=2,
    )
    now = datetime.now(UTC)
    first = rpc_ok(
        c,
        admin,
        "dex_ingest",
        case_serial="SNACK-1",
        raw=dex_fixture("snack_read1.dex"),
        source="test",
        captured_at=iso(now - timedelta(days=1)),
    )
    assert first["status"] == "accepted", first
    rpc_ok(
        c,
        admin,
        "machine_planogram_set",
        case_serial="SNACK-1",
        slots=[
            {"selection": "10", "product_code": "P-COLA", "capacity": 20, "par_level": 18},
            {"selection": "11", "product_code": None, "capacity": 20, "par_level": 19},
        ],
    )
    rpc_ok(c, admin, "machine_refill", case_serial="SNACK-1", full=True)
    second = rpc_ok(
        c,
        admin,
        "dex_ingest",
        case_serial="SNACK-1",
        raw=dex_fixture("snack_read2.dex"),
        source="test",
        captured_at=iso(now - timedelta(hours=1)),
    )
    assert second["status"] == "accepted", second


def seed_all(server: str, db, token, world_fake) -> Seed:
    seed = Seed(admin=bearer(token("admin", sub="console-admin")))
    with httpx.Client(base_url=server, timeout=30) as c:
        seed_festival(c, db, token, seed)
        seed_atm(c, token, world_fake, seed)
        seed_checkout(c, token, seed)
        seed_vending(c, seed)
    return seed
