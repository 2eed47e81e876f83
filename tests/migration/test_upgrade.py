"""Upgrade from the previous release with data: restore release 0.1.0's database
(tests/fixtures/release/release-0.1.0.sql, built by make_release_fixture.py beside it from that release's
own migrate and api), run today's migrate, and hold the result to what a fresh migrate
gives: the same schema (migrations/schema.sql), no row lost, the ledger's invariants, and
today's api working on the old rows."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from kioskledger.ops.migrate import migrate, versioned_migrations
from kioskledger.ops.schema import pg_tool
from tests.support.helpers import assert_ledger_invariants, assert_schema_is_snapshot, call_as, rid

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parents[1] / "fixtures" / "release" / "release-0.1.0.sql"
# Names the fixture script gave its data.
OLD_CARD, ATM_KIOSK, CHECKOUT_KIOSK = "OLDCARD1", "atm_hall", "shop_gate"
COMPANY, MACHINE = "fixture-vending", "OLD-VEND-1"
# Tables the fixture must fill, or it no longer tests an upgrade with data.
MUST_HAVE_ROWS = [
    "cards.cards",
    "cards.bar_orders",
    "cards.deposit_returns",
    "cards.refund_requests",
    "cards.stripe_payments",
    "atm.transactions",
    "atm.dispense_jobs",
    "checkout.orders",
    "checkout.order_lines",
    "checkout.refused_orders",
    "dex.captures",
    "dex.reads",
    "ledger.transfers",
    "ledger.postings",
    "ledger.balance_deltas",
    "core.idempotency_keys",
]

TABLES = """
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
 ORDER BY 1
"""


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute(TABLES).fetchall()]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def restore(url: str, dump: Path) -> None:
    res = pg_tool(
        "psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump), check=False, capture_output=True, text=True
    )
    assert res.returncode == 0, f"restoring {dump.name} failed:\n{res.stderr}"


@pytest.fixture(scope="module")
def upgrade(template_db):
    """The release's database, restored into an empty database and migrated by today's code."""
    db = template_db.empty("upgrade_0_1_0")
    restore(db.url, FIXTURE)
    before = row_counts(db.url)
    result = migrate(db.url)
    yield db, before, result
    db.drop()


@pytest.fixture
def conn(upgrade):
    with psycopg.connect(upgrade[0].url, autocommit=True) as c:
        yield c


def test_the_upgrade_applies_every_migration_and_todays_sql(upgrade, conn):
    _, before, result = upgrade
    assert result.sql_applied, "the release's sql/ differs from today's: it must be re-applied"
    recorded = {m for (m,) in conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()}
    assert recorded == {m.id for m in versioned_migrations()}
    assert before["public._yoyo_migration"] + len(result.migrations_applied) == len(recorded)


def test_the_upgraded_schema_is_the_snapshot(upgrade):
    assert_schema_is_snapshot(upgrade[0].url, "release 0.1.0, upgraded")


def test_no_row_is_lost(upgrade):
    db, before, _ = upgrade
    assert not [t for t in MUST_HAVE_ROWS if not before.get(t)], "the fixture must fill these tables"
    after = row_counts(db.url)
    # A migration may add rows (a new setting, say); none may lose any, nor a table.
    lost = {t: (n, after.get(t)) for t, n in before.items() if after.get(t) is None or after[t] < n}
    assert lost == {}, f"tables that lost rows in the upgrade (before, after): {lost}"


def test_the_ledger_invariants_hold(conn):
    assert_ledger_invariants(conn)


def test_a_bar_order_on_an_old_card(conn):
    balance = call_as(conn, "anon", "SELECT api.card_balance(%s)", (OLD_CARD,))["balance"]
    price = conn.execute("SELECT price FROM cards.products WHERE product_id = 'beer'").fetchone()[0]
    order = call_as(
        conn,
        "staff",
        "SELECT api.bar_order(%s, %s, %s, 'bar-0')",
        (OLD_CARD, Jsonb([{"product_id": "beer", "quantity": 1}]), rid()),
    )
    assert (order["previous_balance"], order["new_balance"]) == (balance, balance - price)
    history = call_as(conn, "staff", "SELECT api.card_history(%s, 100)", (OLD_CARD,))
    assert len(history) > 3, "the card's old movements are in its history"
    assert_ledger_invariants(conn)


def test_the_atm_queue_carries_on(conn):
    kiosk = {"sub": "kiosk:" + ATM_KIOSK, "kiosk_id": ATM_KIOSK}
    done = conn.execute("SELECT transaction_id FROM atm.dispense_jobs WHERE status = 'completed'").fetchone()[0]
    status = call_as(conn, "anon", "SELECT api.atm_transaction_status(%s)", (done,))
    assert status["dispense"]["status"] == "completed"
    # The job the release left pending is claimed and paid out by today's api.
    job = call_as(conn, "kiosk", "SELECT api.dispense_claim()", (), kiosk)
    assert job is not None
    call_as(conn, "kiosk", "SELECT api.dispense_begin(%s, %s)", (job["job_id"], job["claim_token"]), kiosk)
    done = call_as(
        conn,
        "kiosk",
        "SELECT api.dispense_finish(%s, %s, %s, NULL)",
        (job["job_id"], job["claim_token"], job["quarters"]),
        kiosk,
    )
    assert done["status"] == "completed"
    # The stranded one is settled by an admin.
    stranded = conn.execute(
        "SELECT id, coins_paid FROM atm.dispense_jobs WHERE status = 'needs_reconciliation'"
    ).fetchone()
    settled = call_as(
        conn, "admin", "SELECT api.dispense_reconcile(%s, %s, 'counted after the upgrade')", (stranded[0], stranded[1])
    )
    assert settled["status"] in ("completed", "retry_wait")
    # Kiosks from before companies are seen by admins only, until one is assigned.
    operator = {"sub": "op:after-upgrade", "company_id": COMPANY}
    with pytest.raises(psycopg.Error, match="KIOSK_NOT_FOUND"):
        call_as(conn, "operator", "SELECT api.atm_kiosk_health(%s)", (ATM_KIOSK,), operator)
    call_as(conn, "admin", "SELECT api.kiosk_assign_company(%s, %s, 'assign-atm')", (ATM_KIOSK, COMPANY))
    health = call_as(conn, "operator", "SELECT api.atm_kiosk_health(%s)", (ATM_KIOSK,), operator)
    assert health["kiosk_id"] == ATM_KIOSK


def test_the_checkout_fleet_carries_on(conn):
    operator = {"sub": "op:after-upgrade", "company_id": COMPANY}
    assert call_as(conn, "operator", "SELECT api.dashboard_kiosks()", (), operator) == []
    call_as(conn, "admin", "SELECT api.kiosk_assign_company(%s, %s, 'assign-shop')", (CHECKOUT_KIOSK, COMPANY))
    orders = call_as(conn, "operator", "SELECT api.checkout_orders(%s, NULL, 1000)", (CHECKOUT_KIOSK,), operator)
    stored = conn.execute("SELECT count(*) FROM checkout.orders WHERE kiosk_id = %s", [CHECKOUT_KIOSK]).fetchone()[0]
    assert len(orders) == stored > 0
    catalog = call_as(conn, "anon", "SELECT api.catalog()", ())
    order = {
        "idempotency_key": "after-upgrade-0001",
        "created_at": "2026-01-01T12:00:00Z",
        "payment_method": "card",
        "currency": "EUR",
        "catalog_version": catalog["version"],
        "lines": [{"sku": "bread", "qty": 2, "unit_price": 250}],
    }
    kiosk = {"sub": "kiosk:" + CHECKOUT_KIOSK, "kiosk_id": CHECKOUT_KIOSK}
    answer = call_as(conn, "kiosk", "SELECT api.checkout_sync(%s)", (Jsonb([order]),), kiosk)
    assert answer["results"][0]["status"] == "accepted", answer
    assert call_as(conn, "operator", "SELECT api.dashboard_overview()", (), operator)["kiosks"] == 1
    assert_ledger_invariants(conn)


def test_the_vending_telemetry_reads(conn):
    operator = {"sub": "op:after-upgrade", "company_id": COMPANY}
    details = call_as(conn, "operator", "SELECT api.machine_details(%s)", (MACHINE,), operator)
    assert details["slots"] and details["recent_captures"]
    summary = call_as(conn, "operator", "SELECT api.machines_summary()", (), operator)
    assert [m["case_serial"] for m in summary["machines"]] == [MACHINE]
