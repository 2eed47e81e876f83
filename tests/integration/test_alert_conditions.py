"""Every alert condition of the sweep (core.alert_conditions): raised when the domain's state
shows the problem, with the company of what it is about, refreshed while it lasts, and
resolved by the sweep once the state no longer shows it."""

from __future__ import annotations

import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from tests.support.alerts import active_alert, last_alert, new_company, sweep
from tests.support.answers import dex_fixture
from tests.support.dispenser_rig import paid_jobs
from tests.support.helpers import call_as, issue_card, rid


def _cleared(db, domain, kind, subject) -> dict:
    assert active_alert(db, domain, kind, subject) is None
    alert = last_alert(db, domain, kind, subject)
    assert alert["status"] == "resolved" and alert["resolved_by"] == "system:sweep", alert
    return alert


def _atm_kiosk(db, company: str | None) -> str:
    kiosk = "alrt_" + secrets.token_hex(5)
    call_as(
        db, "admin", "SELECT api.atm_kiosk_register(%s, 'Alert ATM', NULL, NULL, 5000, %s, %s)", (kiosk, rid(), company)
    )
    return kiosk


def test_failed_payout_is_raised_for_the_kiosks_company_and_cleared_when_requeued(db):
    company = new_company(db)
    kiosk = _atm_kiosk(db, company)
    (job,) = paid_jobs(db, kiosk, 1)
    db.execute("UPDATE atm.dispense_jobs SET status = 'failed', last_error = 'jam' WHERE id = %s", [job])
    sweep(db)
    alert = active_alert(db, "atm", "payout_failed", f"job:{job}")
    assert alert["company_id"] == company and alert["severity"] == "critical" and alert["status"] == "open"
    assert alert["details"]["job_id"] == job and alert["details"]["last_error"] == "jam"
    assert "jam" in alert["message"]
    # Still failed: the same alert, refreshed, not a second one.
    sweep(db)
    again = active_alert(db, "atm", "payout_failed", f"job:{job}")
    assert again["id"] == alert["id"] and again["details"]["occurrences"] == 2
    # The scheduled retry puts it back in the queue: the problem is gone.
    db.execute("SELECT atm.retry_failed_jobs()")
    sweep(db)
    _cleared(db, "atm", "payout_failed", f"job:{job}")


def test_reconciliation_needed_until_a_person_reconciles(db):
    kiosk = _atm_kiosk(db, None)
    (job,) = paid_jobs(db, kiosk, 1)
    db.execute("UPDATE atm.dispense_jobs SET status = 'needs_reconciliation' WHERE id = %s", [job])
    sweep(db)
    alert = active_alert(db, "atm", "reconciliation_needed", f"job:{job}")
    assert alert["company_id"] is None and alert["severity"] == "critical"
    quarters = db.execute("SELECT quarters FROM atm.dispense_jobs WHERE id = %s", [job]).fetchone()[0]
    call_as(db, "admin", "SELECT api.dispense_reconcile(%s, %s, 'counted the hopper')", (job, quarters))
    sweep(db)
    _cleared(db, "atm", "reconciliation_needed", f"job:{job}")


def test_refund_due_until_settled(db):
    company = new_company(db)
    kiosk = _atm_kiosk(db, company)
    tx = db.execute("SELECT atm.transaction_create(%s, 250)", [kiosk]).fetchone()[0]
    pay = "SELECT atm.pay(%s, %s, %s, 'mined', %s, %s, NULL)"
    db.execute(
        pay, [tx["id"], "0xaa" + uuid.uuid4().hex, "wp-" + uuid.uuid4().hex, tx["payment_reference"], tx["total"]]
    )
    # A second payment for a paid transaction is owed back.
    db.execute(
        pay, [tx["id"], "0xbb" + uuid.uuid4().hex, "wp-" + uuid.uuid4().hex, tx["payment_reference"], tx["total"]]
    )
    refund = db.execute("SELECT id FROM atm.refunds WHERE transaction_id = %s", [tx["id"]]).fetchone()[0]
    sweep(db)
    alert = active_alert(db, "atm", "refund_due", f"refund:{refund}")
    assert alert["company_id"] == company and alert["details"]["reason"] == "already_paid"
    call_as(db, "admin", "SELECT api.atm_refund_settle(%s, 'cash', NULL, 'paid at the counter', %s)", (refund, rid()))
    sweep(db)
    _cleared(db, "atm", "refund_due", f"refund:{refund}")


def test_payment_held_off_an_inactive_card_until_released(db):
    card = issue_card(db, balance=500)
    transfer = db.execute("SELECT max(id) FROM ledger.transfers").fetchone()[0]
    held = db.execute(
        "INSERT INTO cards.held_payments (card_id, payment_intent, reason, amount, currency, transfer_id) "
        "VALUES (%s, %s, 'card_blocked', 700, 'EUR', %s) RETURNING held_id",
        [card, "pi_" + uuid.uuid4().hex, transfer],
    ).fetchone()[0]
    sweep(db)
    alert = active_alert(db, "festival", "payment_on_inactive_card", f"held:{held}")
    assert alert["company_id"] is None and alert["details"]["card_id"] == card and alert["details"]["amount"] == 700
    # Stripe's charge.refunded releases the hold.
    db.execute("UPDATE cards.held_payments SET released = amount, resolved_at = now() WHERE held_id = %s", [held])
    sweep(db)
    _cleared(db, "festival", "payment_on_inactive_card", f"held:{held}")


def test_card_refunds_not_exported_in_time_until_the_export(db):
    card = issue_card(db, balance=1500)
    call_as(
        db,
        "staff",
        "SELECT api.refund_request(%s, 'Ann Holder', 'ann@example.org', 'DE89370400440532013000', %s)",
        (card, rid()),
    )
    sweep(db)
    assert active_alert(db, "festival", "refund_export_overdue", "card_refunds") is None  # filed today
    db.execute("UPDATE cards.refund_requests SET created_at = now() - interval '4 days' WHERE card_id = %s", [card])
    sweep(db)
    alert = active_alert(db, "festival", "refund_export_overdue", "card_refunds")
    assert alert["details"]["refunds"] >= 1
    db.execute("UPDATE core.settings SET value = '\"Festival Ops\"' WHERE key = 'cards.refund_debtor_name'")
    db.execute("UPDATE core.settings SET value = '\"DE02120300000000202051\"' WHERE key = 'cards.refund_debtor_iban'")
    call_as(db, "admin", "SELECT api.refund_export(%s)", (rid(),))
    sweep(db)
    _cleared(db, "festival", "refund_export_overdue", "card_refunds")


def test_a_refund_the_sepa_export_cannot_carry(db):
    card = issue_card(db, balance=900)
    call_as(
        db,
        "staff",
        "SELECT api.refund_request(%s, 'Bo Holder', 'bo@example.org', 'DE89370400440532013000', %s)",
        (card, rid()),
    )
    refund = db.execute(
        "UPDATE cards.refund_requests SET currency = 'CHF' WHERE card_id = %s RETURNING refund_id", [card]
    ).fetchone()[0]
    sweep(db)
    assert active_alert(db, "festival", "refund_not_exportable", f"refund:{refund}")["details"]["currency"] == "CHF"
    db.execute("UPDATE cards.refund_requests SET currency = 'EUR' WHERE refund_id = %s", [refund])
    sweep(db)
    _cleared(db, "festival", "refund_not_exportable", f"refund:{refund}")


def _checkout_kiosk(db, company: str) -> tuple[str, dict]:
    kiosk = "sco_" + secrets.token_hex(5)
    call_as(db, "admin", "SELECT api.checkout_kiosk_register(%s, 'Lane', NULL, %s, %s)", (kiosk, rid(), company))
    return kiosk, {"kiosk_id": kiosk, "sub": "kiosk:" + kiosk}


def test_checkout_kiosk_offline_beyond_the_threshold_until_it_is_back(db):
    company = new_company(db)
    kiosk, claims = _checkout_kiosk(db, company)
    sweep(db)
    assert active_alert(db, "checkout", "kiosk_offline", kiosk) is None  # just registered
    db.execute("UPDATE kiosk.kiosks SET created_at = now() - interval '1 hour' WHERE kiosk_id = %s", [kiosk])
    sweep(db)
    alert = active_alert(db, "checkout", "kiosk_offline", kiosk)
    assert alert["company_id"] == company and alert["details"]["last_seen_at"] is None
    call_as(db, "kiosk", "SELECT api.kiosk_heartbeat(true, 0, 'v1')", claims=claims)
    sweep(db)
    _cleared(db, "checkout", "kiosk_offline", kiosk)


def test_checkout_backlog_too_old_until_it_drains(db):
    company = new_company(db)
    kiosk, claims = _checkout_kiosk(db, company)
    oldest = datetime.now(UTC) - timedelta(hours=1)
    call_as(db, "kiosk", "SELECT api.kiosk_heartbeat(true, 7, 'v1')", claims=claims)
    call_as(db, "kiosk", "SELECT api.checkout_backlog(%s)", (oldest,), claims=claims)
    sweep(db)
    alert = active_alert(db, "checkout", "backlog_age", kiosk)
    assert alert["company_id"] == company and alert["details"]["oldest_pending_at"] is not None
    call_as(db, "kiosk", "SELECT api.checkout_backlog(NULL)", claims=claims)
    call_as(db, "kiosk", "SELECT api.kiosk_heartbeat(true, 0, 'v1')", claims=claims)
    sweep(db)
    _cleared(db, "checkout", "backlog_age", kiosk)


def test_refused_checkout_order_until_marked_resolved(db):
    company = new_company(db)
    kiosk, claims = _checkout_kiosk(db, company)
    bad = {
        "idempotency_key": "order-" + uuid.uuid4().hex[:10],
        "created_at": datetime.now(UTC).isoformat(),
        "payment_method": "barter",
        "currency": "EUR",
        "catalog_version": 1,
        "lines": [],
    }
    result = call_as(db, "kiosk", "SELECT api.checkout_sync(%s)", (Jsonb([bad]),), claims=claims)
    assert result["results"][0]["status"] == "rejected", result
    refused = db.execute("SELECT id FROM checkout.refused_orders WHERE kiosk_id = %s", [kiosk]).fetchone()[0]
    sweep(db)
    alert = active_alert(db, "checkout", "refused_order", f"refused:{refused}")
    assert alert["company_id"] == company and alert["details"]["idempotency_key"] == bad["idempotency_key"]
    db.execute("UPDATE checkout.refused_orders SET resolved_at = now() WHERE id = %s", [refused])
    sweep(db)
    _cleared(db, "checkout", "refused_order", f"refused:{refused}")


def _machine(db, company: str) -> str:
    serial = "ALR-" + uuid.uuid4().hex[:10]
    call_as(
        db,
        "admin",
        "SELECT api.machine_register(%s, %s, 'Hall', 'Fixture Snack 1000', 'EUR', 2, %s)",
        (serial, company, rid()),
    )
    return serial


def _ingest(db, serial: str, fixture: str, captured_at: datetime | None = None) -> dict:
    return call_as(
        db,
        "admin",
        "SELECT api.dex_ingest(%s, %s, 'test', %s, %s)",
        (serial, dex_fixture(fixture), rid(), captured_at),
    )


def test_machine_faults_until_every_one_is_resolved(db):
    company = new_company(db)
    serial = _machine(db, company)
    _ingest(db, serial, "faults_read1.dex")
    sweep(db)
    alert = active_alert(db, "dex", "machine_fault", serial)
    assert alert["company_id"] == company
    codes = {f["code"] for f in alert["details"]["faults"]}
    assert {"CJ06", "CJ07"} <= codes and "0" not in codes, codes
    for (error_id,) in db.execute(
        "SELECT e.id FROM dex.machine_errors e JOIN dex.machines m ON m.id = e.machine_id "
        "WHERE m.case_serial = %s AND e.resolved_at IS NULL",
        [serial],
    ).fetchall():
        call_as(db, "admin", "SELECT api.machine_error_resolve(%s, 'fixed', %s)", (error_id, rid()))
    sweep(db)
    _cleared(db, "dex", "machine_fault", serial)


def test_machine_without_recent_data_until_it_reports(db):
    company = new_company(db)
    serial = _machine(db, company)
    sweep(db)
    assert active_alert(db, "dex", "no_recent_data", serial) is None  # just registered
    db.execute("UPDATE dex.machines SET created_at = now() - interval '2 days' WHERE case_serial = %s", [serial])
    sweep(db)
    assert active_alert(db, "dex", "no_recent_data", serial)["company_id"] == company
    _ingest(db, serial, "ams_style.dex", captured_at=datetime.now(UTC))
    sweep(db)
    _cleared(db, "dex", "no_recent_data", serial)


def test_crc_mismatch_until_a_file_that_checks_out(db):
    company = new_company(db)
    serial = _machine(db, company)
    assert _ingest(db, serial, "g85_corrupt_lost_byte.dex")["crc_status"] == "mismatch"
    sweep(db)
    alert = active_alert(db, "dex", "crc_mismatch", serial)
    assert alert["company_id"] == company and alert["details"]["capture_id"] > 0
    assert _ingest(db, serial, "ams_style.dex")["crc_status"] != "mismatch"
    sweep(db)
    _cleared(db, "dex", "crc_mismatch", serial)


def test_an_acknowledged_alert_stays_acknowledged_while_it_lasts_and_clears_with_its_condition(db):
    kiosk = _atm_kiosk(db, None)
    (job,) = paid_jobs(db, kiosk, 1)
    db.execute("UPDATE atm.dispense_jobs SET status = 'failed' WHERE id = %s", [job])
    sweep(db)
    alert = active_alert(db, "atm", "payout_failed", f"job:{job}")
    call_as(db, "admin", "SELECT api.alert_acknowledge(%s, %s)", (alert["id"], rid()), claims={"sub": "ops-ann"})
    sweep(db)
    still = active_alert(db, "atm", "payout_failed", f"job:{job}")
    assert still["status"] == "acknowledged" and still["acknowledged_by"] == "ops-ann"
    db.execute("SELECT atm.retry_failed_jobs()")
    sweep(db)
    assert _cleared(db, "atm", "payout_failed", f"job:{job}")["acknowledged_by"] == "ops-ann"


def test_sweeps_and_people_acting_at_once_never_deadlock(migrated, db):
    kiosk = _atm_kiosk(db, None)
    jobs = paid_jobs(db, kiosk, 6)
    db.execute("UPDATE atm.dispense_jobs SET status = 'failed' WHERE id = ANY(%s)", [jobs])
    sweep(db)
    alert_ids = [active_alert(db, "atm", "payout_failed", f"job:{j}")["id"] for j in jobs]
    barrier = threading.Barrier(8)

    def sweeper(_):
        with psycopg.connect(migrated.url, autocommit=True) as conn:
            barrier.wait()
            for _ in range(5):
                sweep(conn)

    def person(i):
        with psycopg.connect(migrated.url, autocommit=True) as conn:
            barrier.wait()
            for alert_id in alert_ids[i % 2 :: 2]:
                call_as(conn, "admin", "SELECT api.alert_acknowledge(%s, %s)", (alert_id, rid()))
                call_as(conn, "admin", "SELECT api.alert_resolve(%s, %s)", (alert_id, rid()))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: (sweeper if i < 4 else person)(i), range(8)))  # raises what any raised
    # Each alert was resolved by a person; a sweep raises a new one (the job is still failed).
    sweep(db)
    for job, alert_id in zip(jobs, alert_ids, strict=True):
        assert last_alert(db, "atm", "payout_failed", f"job:{job}")["id"] != alert_id
    ids = [r[0] for r in db.execute("SELECT id FROM core.alert_events ORDER BY created_at, id").fetchall()]
    assert ids == sorted(ids)  # event ids in commit order
