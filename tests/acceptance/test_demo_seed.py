"""`make demo` (kioskledger demo): on a fresh database it fills every business the console
shows, through the api functions; a second run adds nothing; a remote database is refused."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from kioskledger.ops.cli import _empty_hint
from kioskledger.ops.demo import NotLocal, is_local, seed
from tests.support.helpers import assert_ledger_invariants, call_as

COUNT_TABLES = """
SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cron')
   AND n.nspname NOT LIKE 'pg_toast%'
"""


def row_counts(conn) -> dict[str, int]:
    return dict(conn.execute(q).fetchone() for (q,) in conn.execute(COUNT_TABLES).fetchall())


def admin(conn, query: str):
    return call_as(conn, "admin", "SELECT api." + query)


@pytest.fixture(scope="module")
def seeded(migrated):
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        assert _empty_hint(migrated.url) is not None
        before = row_counts(conn)
        first = seed(migrated.url)
        yield migrated.url, first, before


def test_festival_sales_at_three_bars(seeded, db):
    totals = {t["point_of_sale"]: (t["orders"], t["sales"]) for t in admin(db, "festival_sales_per_hour()")["totals"]}
    # bar-1: 2 beer + cola + 1 beer (450*3 + 300); bar-2: 4 beer + water; bar-3: 2 water + 2 cola.
    assert totals == {"bar-1": (3, 1650), "bar-2": (2, 2000), "bar-3": (2, 1000)}
    cards = db.execute("SELECT count(*) FROM cards.cards WHERE card_id LIKE 'DEMO%'").fetchone()[0]
    assert cards == 6


def test_atm_jobs_in_every_state_the_console_shows(seeded, db):
    jobs = {j["status"]: j["amount"] for j in admin(db, "atm_jobs()")}
    assert jobs == {"needs_reconciliation": 1000, "pending": 250}
    done = admin(db, "atm_jobs(status => 'completed')")
    assert [j["amount"] for j in done] == [500]
    day = admin(db, "atm_transactions()")
    assert day["summary"]["transactions"] == 4 and day["summary"]["paid"] == 3
    assert sorted(t["status"] for t in day["transactions"]) == ["completed", "paid", "paid", "pending"]


def test_checkout_kiosk_synced_and_alive(seeded, db):
    overview = admin(db, "dashboard_overview()")
    assert overview["kiosks"] == 1 and overview["orders_today"] == 2
    assert overview["revenue_today"] == {"EUR": 770}  # 2*120 + 250 card, 2*140 cash
    (kiosk,) = admin(db, "dashboard_kiosks()")
    assert kiosk["kiosk_id"] == "demo_checkout" and kiosk["app_version"] == "1.4.2" and kiosk["last_seen_at"]


def test_vending_machine_with_three_reads(seeded, db):
    (machine,) = admin(db, "machines_summary()")["machines"]
    assert machine["case_serial"] == "DEMO-SNACK-1" and machine["reads"] == 3 and machine["has_recent_data"]
    assert {s["product_name"] for s in machine["slots"]} == {"Cola 33cl", "Chips", "Chewing gum"}


def test_alerts_raised_for_the_console(seeded, db):
    kinds = {(a["domain"], a["kind"]) for a in admin(db, "alerts()")["alerts"]}
    assert ("atm", "reconciliation_needed") in kinds and ("dex", "machine_fault") in kinds


def test_ledger_balances_and_the_hint_goes(seeded, db):
    assert_ledger_invariants(db)
    assert _empty_hint(seeded[0]) is None


def test_a_second_run_changes_nothing(seeded, db):
    url, first, before = seeded
    assert first.startswith("demo data made")
    after_first = row_counts(db)
    assert after_first != before
    out = subprocess.run(
        [sys.executable, "-m", "kioskledger", "demo"],
        env=dict(os.environ, DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "demo data already there"
    assert row_counts(db) == after_first


def test_a_database_elsewhere_is_refused_without_force():
    assert is_local("postgresql://kl@127.0.0.1:5432/kioskledger")
    assert is_local("host=/var/run/postgresql dbname=kioskledger")
    assert not is_local("postgresql://kl@db.example.com/kioskledger")
    assert not is_local("postgresql://kl@127.0.0.1:5432,db2.example.com:5432/kioskledger")
    with pytest.raises(NotLocal):
        seed("postgresql://kl@db.example.com:1/kioskledger")
