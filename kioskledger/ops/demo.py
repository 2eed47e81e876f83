"""`kioskledger demo` / `make demo`: a small, believable data set in all four businesses, so
that the operator console of a fresh `make run` has something on every page.

Everything is made through the api.* functions, as the owner acting as the role the real
caller has (staff terminals, kiosks, the payments principal behind POST /atm/pay, admins),
never by writing business tables: the demo data obeys every rule real data does. It is made
in one transaction (all or nothing) and only once: the demo ATM kiosk is the marker.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import psycopg
from psycopg.conninfo import conninfo_to_dict

from kioskledger.protocol import call

MARKER_KIOSK = "demo_atm"
COMPANY = "demo"
ADMIN = {"sub": "kioskledger-demo"}
STAFF = {"sub": "demo-staff"}
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


class NotLocal(Exception):
    """The database is not on this machine and --force was not given."""


def is_local(url: str) -> bool:
    """True when every host of `url` is this machine (a loopback address or a Unix socket)."""
    hosts = (conninfo_to_dict(url).get("host") or "").split(",")
    return all(h.strip() in LOCAL_HOSTS or h.strip().startswith("/") for h in hosts)


class _Seeder:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.steps = 0

    def api(self, role: str, function: str, claims: dict | None = None, **args):
        """api.<function>(name => value, ...) as `role`, as the RPC would call it."""
        self.steps += 1
        names = ", ".join(f"{k} => %s" for k in args)
        values = [json.dumps(v) if isinstance(v, list | dict) else v for v in args.values()]
        return call(self.conn, role, f"SELECT api.{function}({names})", values, claims=claims or ADMIN)

    def rid(self, what: str) -> str:
        return f"demo:{what}"


def _kiosk(kiosk_id: str) -> dict:
    return {"sub": "kiosk:" + kiosk_id, "kiosk_id": kiosk_id}


def seed_festival(s: _Seeder) -> None:
    """Three products, six cards recharged at two checkpoints, orders at three bars, and a
    refund request for a card that leaves with money on it."""
    for product, name, price, deposit in [
        ("beer", "Beer", 450, False),
        ("cola", "Cola", 300, False),
        ("water", "Water", 200, False),
        ("cup", "Cup deposit", 100, True),
    ]:
        s.api(
            "admin",
            "product_upsert",
            product_id=product,
            name=name,
            category="drinks",
            price=price,
            is_deposit=deposit,
            request_id=s.rid("product:" + product),
        )
    cards = [
        ("DEMO0001", 5000, "cash", "cp-north"),
        ("DEMO0002", 3000, "card", "cp-north"),
        ("DEMO0003", 2000, "cash", "cp-south"),
        ("DEMO0004", 4000, "card", "cp-south"),
        ("DEMO0005", 1500, "cash", "cp-north"),
        ("DEMO0006", 2500, "cash", "cp-south"),
    ]
    for card, amount, method, checkpoint in cards:
        s.api("staff", "card_issue", STAFF, card_id=card, request_id=s.rid("card:" + card))
        s.api(
            "staff",
            "checkpoint_recharge",
            STAFF,
            card_id=card,
            amount=amount,
            payment_method=method,
            checkpoint_id=checkpoint,
            request_id=s.rid("recharge:" + card),
        )
    orders = [
        ("DEMO0001", "bar-1", [("beer", 2), ("cup", 2)]),
        ("DEMO0002", "bar-1", [("cola", 1), ("cup", 1)]),
        ("DEMO0003", "bar-2", [("beer", 1)]),
        ("DEMO0004", "bar-2", [("beer", 3), ("water", 1)]),
        ("DEMO0005", "bar-3", [("water", 2)]),
        ("DEMO0001", "bar-3", [("cola", 2)]),
        ("DEMO0004", "bar-1", [("beer", 1)]),
    ]
    for n, (card, bar, items) in enumerate(orders):
        s.api(
            "staff",
            "bar_order",
            {**STAFF, "point_of_sale": bar},
            card_id=card,
            items=[{"product_id": p, "quantity": q} for p, q in items],
            point_of_sale=bar,
            request_id=s.rid(f"order:{n}"),
        )
    s.api(
        "staff",
        "refund_request",
        STAFF,
        card_id="DEMO0006",
        name="Robin Demo",
        email="robin@example.org",
        iban="DE89370400440532013000",
        request_id=s.rid("refund:DEMO0006"),
    )


def seed_atm(s: _Seeder) -> None:
    """The lobby ATM: one payout completed (5.00), one whose payout is unknown (10.00: needs
    reconciliation), one paid and queued for the hopper (2.50), one waiting for payment (7.50)."""
    s.api(
        "admin",
        "atm_kiosk_register",
        kiosk_id=MARKER_KIOSK,
        name="Demo lobby ATM",
        location="Main hall",
        fee_flat=50,
        max_amount=5000,
        request_id=s.rid("atm_kiosk"),
        company_id=COMPANY,
    )
    kiosk = _kiosk(MARKER_KIOSK)

    def paid(amount: int, n: int) -> dict:
        tx = s.api("kiosk", "atm_transaction_create", kiosk, amount=amount, request_id=s.rid(f"atm_tx:{n}"))
        # What POST /atm/pay passes on once World ID and the World App payment are verified.
        s.api(
            "payments",
            "atm_pay",
            {},
            transaction_id=tx["id"],
            nullifier_hash=f"0x{0xDE70 + n:x}",
            world_payment_id=f"demo-payment-{n}",
            payment_status="mined",
            payment_reference=tx["payment_reference"],
            paid_amount=tx["total"],
            request_id=s.rid(f"atm_pay:{n}"),
        )
        return tx

    def claim_and_begin() -> dict:
        job = s.api("kiosk", "dispense_claim", kiosk)
        s.api("kiosk", "dispense_begin", kiosk, job_id=job["job_id"], claim_token=job["claim_token"])
        return job

    paid(500, 1)
    job = claim_and_begin()
    s.api("kiosk", "dispense_finish", kiosk, job_id=job["job_id"], claim_token=job["claim_token"], coins_paid=20)
    paid(1000, 2)
    job = claim_and_begin()
    s.api(
        "kiosk",
        "dispense_unknown",
        kiosk,
        job_id=job["job_id"],
        claim_token=job["claim_token"],
        evidence={"reason": "power cut mid-payout"},
    )
    paid(250, 3)
    s.api("kiosk", "atm_transaction_create", kiosk, amount=750, request_id=s.rid("atm_tx:4"))


def seed_checkout(s: _Seeder, now: datetime) -> None:
    """The front checkout: alive, two orders synced (one card, one cash), one waiting on its edge."""
    kiosk_id = "demo_checkout"
    s.api(
        "admin",
        "checkout_kiosk_register",
        kiosk_id=kiosk_id,
        name="Demo front checkout",
        location="Entrance",
        request_id=s.rid("checkout_kiosk"),
        company_id=COMPANY,
    )
    for sku, name, price in [("apple", "Apple", 120), ("bread", "Bread", 250), ("milk", "Milk 1l", 140)]:
        s.api(
            "admin",
            "catalog_upsert",
            sku=sku,
            name=name,
            price=price,
            currency="EUR",
            active=True,
            request_id=s.rid("sku:" + sku),
        )
    kiosk = _kiosk(kiosk_id)
    version = s.api("kiosk", "catalog", kiosk)["version"]
    s.api("kiosk", "kiosk_heartbeat", kiosk, link_up=True, pending_orders=1, app_version="1.4.2")
    s.api("kiosk", "checkout_backlog", kiosk, oldest_pending_at=now - timedelta(minutes=2))
    orders = [
        ("card", [("apple", 2, 120), ("bread", 1, 250)], 25),
        ("cash", [("milk", 2, 140)], 10),
    ]
    s.api(
        "kiosk",
        "checkout_sync",
        kiosk,
        orders=[
            {
                "idempotency_key": f"demo-order-{n}",
                "created_at": (now - timedelta(minutes=minutes)).isoformat(),
                "payment_method": method,
                "currency": "EUR",
                "catalog_version": version,
                "lines": [{"sku": sku, "qty": qty, "unit_price": price} for sku, qty, price in lines],
            }
            for n, (method, lines, minutes) in enumerate(orders)
        ],
    )


def _dex(name: str) -> str:
    return (resources.files("kioskledger.ops") / "demo_dex" / name).read_text()


def seed_vending(s: _Seeder, now: datetime) -> None:
    """A snack machine at the station read three times; refilled after the first read. The
    reads (demo_dex/) are copies of tests/fixtures/dex/snack_read1..3.dex (see its README):
    6 vends between the first two reads, one more and a returning fault in the third."""
    serial = "DEMO-SNACK-1"
    products = [("P-COLA", "Cola 33cl", "drinks"), ("P-CHIPS", "Chips", "snacks"), ("P-GUM", "Chewing gum", "snacks")]
    for code, name, category in products:
        s.api(
            "admin",
            "vending_product_upsert",
            company_id=COMPANY,
            product_code=code,
            name=name,
            category=category,
            request_id=s.rid("vending_product:" + code),
        )
    s.api(
        "admin",
        "machine_register",
        case_serial=serial,
        company_id=COMPANY,
        location="Central Station",
        model="Fixture Snack 1000",
        currency="EUR",
        decimals=2,
        request_id=s.rid("machine"),
    )
    reads = [("snack_read1.dex", timedelta(hours=26)), ("snack_read2.dex", timedelta(hours=5))]
    reads.append(("snack_read3.dex", timedelta(hours=1)))
    for n, (name, ago) in enumerate(reads):
        s.api(
            "admin",
            "dex_ingest",
            case_serial=serial,
            raw=_dex(name),
            source="demo",
            request_id=s.rid(f"dex:{n}"),
            captured_at=now - ago,
        )
        if n == 0:
            s.api(
                "admin",
                "machine_planogram_set",
                case_serial=serial,
                slots=[
                    {"selection": "10", "product_code": "P-COLA", "capacity": 20, "par_level": 18},
                    {"selection": "11", "product_code": "P-CHIPS", "capacity": 20, "par_level": 19},
                ],
                request_id=s.rid("planogram"),
            )
            s.api("admin", "machine_refill", case_serial=serial, request_id=s.rid("refill"), full=True)


def seed(url: str, *, force: bool = False) -> str:
    """Fill the database at `url` with the demo data set; what happened, in one line."""
    if not force and not is_local(url):
        raise NotLocal("refusing to put demo data in a database on another machine (--force to do it anyway)")
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM kiosk.kiosks WHERE kiosk_id = %s", [MARKER_KIOSK]).fetchone():
            return "demo data already there"
        s = _Seeder(conn)
        with conn.transaction():
            now = conn.execute("SELECT now()").fetchone()[0].astimezone(UTC)
            s.api("admin", "company_create", company_id=COMPANY, name="Demo Company", request_id=s.rid("company"))
            seed_festival(s)
            seed_atm(s)
            seed_checkout(s, now)
            seed_vending(s, now)
            sweep = conn.execute("SELECT active, raised FROM core.alert_sweep()").fetchone()
    return f"demo data made: {s.steps} api calls in four businesses; alert sweep: {sweep[0]} active, {sweep[1]} raised"
