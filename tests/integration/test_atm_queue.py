"""The dispense queue under concurrency, over direct kiosk logins, and the DBA functions.
What the queue must rule out: double claims, stranded jobs, over-dispensing retries."""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path

import psycopg
import pytest

from kioskledger.ops.provision import provision_kiosk
from tests.conftest import JWT_SECRET
from tests.support.dispenser_rig import paid_jobs
from tests.support.helpers import assert_ledger_invariants, call_as, rid


def register(db, max_amount=100000) -> str:
    kiosk_id = "q" + secrets.token_hex(5)
    call_as(
        db, "admin", "SELECT api.atm_kiosk_register(%s, 'Queue ATM', NULL, 0, %s, %s)", (kiosk_id, max_amount, rid())
    )
    return kiosk_id


def as_kiosk(conn, kiosk_id, sql, params=()):
    return call_as(conn, "kiosk", sql, params, claims={"sub": "kiosk:" + kiosk_id, "kiosk_id": kiosk_id})


def test_sixteen_claimers_take_each_of_200_jobs_once(migrated, db):
    kiosk_id = register(db)
    jobs = paid_jobs(db, kiosk_id, 200)
    claimed: list[int] = []
    lock = threading.Lock()
    errors = []

    def claimer():
        try:
            with psycopg.connect(migrated.url, autocommit=True) as conn:
                while (job := as_kiosk(conn, kiosk_id, "SELECT api.dispense_claim()")) is not None:
                    with lock:
                        claimed.append(job["job_id"])
        except BaseException as err:  # noqa: BLE001 - asserted below
            errors.append(err)

    threads = [threading.Thread(target=claimer) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(claimed) == sorted(jobs), "every job claimed exactly once"
    assert db.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()[0] == 0


def test_the_claim_uses_the_partial_index(db):
    kiosk_id = register(db)
    paid_jobs(db, kiosk_id, 50)
    db.execute("ANALYZE atm.dispense_jobs")
    plan = db.execute(
        """EXPLAIN (FORMAT JSON) SELECT x.id FROM atm.dispense_jobs x
                          WHERE x.kiosk_id = %s AND x.status IN ('pending', 'retry_wait') AND x.due_at <= now()
                          ORDER BY x.due_at, x.id LIMIT 1 FOR UPDATE SKIP LOCKED""",
        [kiosk_id],
    ).fetchone()[0]
    assert "dispense_jobs_due" in json.dumps(plan)


def test_every_claim_is_in_the_history_with_its_claimant(db):
    """Each claim appends its own job_events row in the claim's transaction (a state change
    and its event commit together or not at all), retries included."""
    kiosk_id = register(db)
    [job] = paid_jobs(db, kiosk_id, 1)

    def events():
        return db.execute(
            "SELECT old_status, new_status, actor FROM atm.job_events WHERE job_id = %s ORDER BY id", [job]
        ).fetchall()

    c1 = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
    assert events()[-1] == ("pending", "claimed", "kiosk:" + kiosk_id)
    db.execute("UPDATE atm.dispense_jobs SET lease_until = now() - interval '1 s' WHERE id = %s", [job])
    call_as(db, "admin", "SELECT api.dispense_expire_leases()")
    c2 = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
    assert c2["claim_token"] != c1["claim_token"]
    assert [(e[0], e[1]) for e in events()] == [
        (None, "pending"),
        ("pending", "claimed"),
        ("claimed", "pending"),
        ("pending", "claimed"),
    ]


def test_the_claim_heartbeat_writes_the_kiosk_row_at_most_once_a_second(db):
    kiosk_id = register(db)
    paid_jobs(db, kiosk_id, 3)
    assert as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()") is not None
    seen = db.execute("SELECT last_seen_at, xmin::text FROM kiosk.kiosks WHERE kiosk_id = %s", [kiosk_id]).fetchone()
    assert seen[0] is not None
    assert as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()") is not None
    assert (
        db.execute("SELECT last_seen_at, xmin::text FROM kiosk.kiosks WHERE kiosk_id = %s", [kiosk_id]).fetchone()
        == seen
    ), "a second claim within the second leaves the row alone"
    db.execute("UPDATE kiosk.kiosks SET last_seen_at = now() - interval '5 s' WHERE kiosk_id = %s", [kiosk_id])
    assert as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()") is not None
    assert db.execute(
        "SELECT last_seen_at > now() - interval '1 s' FROM kiosk.kiosks WHERE kiosk_id = %s", [kiosk_id]
    ).fetchone()[0]
    # An empty queue still counts as a heartbeat.
    db.execute("UPDATE kiosk.kiosks SET last_seen_at = now() - interval '5 s' WHERE kiosk_id = %s", [kiosk_id])
    assert as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()") is None
    assert db.execute(
        "SELECT last_seen_at > now() - interval '1 s' FROM kiosk.kiosks WHERE kiosk_id = %s", [kiosk_id]
    ).fetchone()[0]


def test_partial_dispense_retries_only_the_remainder(db):
    kiosk_id = register(db)
    [job] = paid_jobs(db, kiosk_id, 1, amount=500)
    c = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
    as_kiosk(db, kiosk_id, "SELECT api.dispense_begin(%s, %s)", (job, c["claim_token"]))
    short = as_kiosk(db, kiosk_id, "SELECT api.dispense_finish(%s, %s, 12, 'jam')", (job, c["claim_token"]))
    assert short["status"] == "retry_wait" and short["remaining"] == 8
    db.execute("UPDATE atm.dispense_jobs SET due_at = now() WHERE id = %s", [job])
    retry = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
    assert retry["job_id"] == job and retry["remaining"] == 8
    as_kiosk(db, kiosk_id, "SELECT api.dispense_begin(%s, %s)", (job, retry["claim_token"]))
    with pytest.raises(psycopg.Error, match="CONFLICT"):
        as_kiosk(db, kiosk_id, "SELECT api.dispense_finish(%s, %s, 20, NULL)", (job, c["claim_token"]))  # the old token
    for call in (
        "api.dispense_finish(%s, NULL, 20, NULL)",
        "api.dispense_progress(%s, NULL, 20)",
        "api.dispense_unknown(%s, NULL, '{}')",
    ):
        with pytest.raises(psycopg.Error, match="INVALID_REQUEST: claim_token is required"):
            as_kiosk(db, kiosk_id, "SELECT " + call, (job,))  # no token is no way around the check
    done = as_kiosk(db, kiosk_id, "SELECT api.dispense_finish(%s, %s, 20, NULL)", (job, retry["claim_token"]))
    assert done["status"] == "completed"
    dispensed = db.execute(
        """SELECT sum(p.amount) FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
                               WHERE a.kind = 'atm_coins_dispensed' AND a.owner_ref = %s""",
        [kiosk_id],
    ).fetchone()[0]
    assert dispensed == 20 * 25, "the ledger saw exactly the coins the hopper paid"
    float_left = db.execute(
        "SELECT ledger.balance_of(id) FROM ledger.accounts WHERE kind = 'atm_coin_float' AND owner_ref = %s", [kiosk_id]
    ).fetchone()[0]
    assert float_left == 0
    assert_ledger_invariants(db)


def test_max_attempts_fail_with_an_alert_and_ops_notify(migrated, db):
    kiosk_id = register(db)
    [job] = paid_jobs(db, kiosk_id, 1, amount=100)
    with psycopg.connect(migrated.url, autocommit=True) as listener:
        listener.execute("LISTEN atm_ops")
        for attempt in range(3):
            db.execute("UPDATE atm.dispense_jobs SET due_at = now() WHERE id = %s", [job])
            c = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
            as_kiosk(db, kiosk_id, "SELECT api.dispense_begin(%s, %s)", (job, c["claim_token"]))
            res = as_kiosk(
                db, kiosk_id, "SELECT api.dispense_finish(%s, %s, %s, 'empty')", (job, c["claim_token"], attempt)
            )
        assert res["status"] == "failed" and res["coins_paid"] == 2
        notes = list(listener.notifies(timeout=5, stop_after=1))
    assert [n.payload for n in notes] == [str(job)]
    assert db.execute("SELECT kind FROM atm.alerts WHERE job_id = %s", [job]).fetchall() == [("dispense_failed",)]
    tx_status = db.execute(
        "SELECT t.status FROM atm.transactions t JOIN atm.dispense_jobs j ON j.transaction_id = t.id WHERE j.id = %s",
        [job],
    ).fetchone()[0]
    assert tx_status == "failed"
    # The DBA re-queues failed jobs (safe: the hopper's count is known); only the remainder is due.
    assert db.execute("SELECT atm.retry_failed_jobs('0')").fetchone()[0] >= 1
    again = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
    assert again["job_id"] == job and again["remaining"] == 2


def test_a_dispensing_job_whose_lease_expired_is_never_redispensed(db):
    """An expired lease must neither strand a dispensing job forever nor re-run a payout that may have happened."""
    kiosk_id = register(db)
    [job] = paid_jobs(db, kiosk_id, 1)
    c = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
    as_kiosk(db, kiosk_id, "SELECT api.dispense_begin(%s, %s)", (job, c["claim_token"]))
    db.execute("UPDATE atm.dispense_jobs SET lease_until = now() - interval '1 s' WHERE id = %s", [job])
    assert db.execute("SELECT atm.expire_leases()").fetchone()[0]["needs_reconciliation"] >= 1
    db.execute("SELECT atm.retry_failed_jobs('0')")  # the DBA's re-queue never touches it either
    assert (
        db.execute("SELECT status FROM atm.dispense_jobs WHERE id = %s", [job]).fetchone()[0] == "needs_reconciliation"
    )
    assert as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()") is None
    health = call_as(db, "admin", "SELECT api.atm_kiosk_health(%s)", (kiosk_id,))
    assert health["status"] == "attention" and health["needs_reconciliation"] == 1
    settled = call_as(db, "admin", "SELECT api.dispense_reconcile(%s, 4, 'counter read by technician')", (job,))
    assert settled["status"] == "retry_wait" and settled["remaining"] == 6


def test_cleanup_expired_transactions_twice_writes_no_duplicate_events(db):
    kiosk_id = register(db)
    tx = db.execute("SELECT atm.transaction_create(%s, 100)", [kiosk_id]).fetchone()[0]
    db.execute("UPDATE atm.transactions SET expires_at = now() - interval '1 s' WHERE id = %s", [tx["id"]])
    assert db.execute("SELECT atm.cleanup_expired_transactions()").fetchone()[0] >= 1
    assert db.execute("SELECT atm.cleanup_expired_transactions()").fetchone()[0] == 0
    events = db.execute(
        "SELECT new_status FROM atm.transaction_events WHERE transaction_id = %s ORDER BY id", [tx["id"]]
    ).fetchall()
    assert events == [("pending",), ("expired",)]


def test_kiosk_health_counts_without_fan_out(db):
    """Counts come from one aggregate per kiosk: joining jobs with transactions would multiply them."""
    kiosk_id = register(db)
    paid_jobs(db, kiosk_id, 7)
    as_kiosk(db, kiosk_id, "SELECT api.kiosk_heartbeat()")
    c = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
    as_kiosk(db, kiosk_id, "SELECT api.dispense_begin(%s, %s)", (c["job_id"], c["claim_token"]))
    h = db.execute(
        "SELECT pending, dispensing, status FROM atm.kiosk_health WHERE kiosk_id = %s", [kiosk_id]
    ).fetchone()
    assert h == (6, 1, "backlogged")
    db.execute("UPDATE kiosk.kiosks SET last_seen_at = now() - interval '3 minutes' WHERE kiosk_id = %s", [kiosk_id])
    assert db.execute("SELECT status FROM atm.kiosk_health WHERE kiosk_id = %s", [kiosk_id]).fetchone()[0] == "offline"
    summary = db.execute(
        "SELECT transactions, paid, amount, fees FROM atm.transaction_summary WHERE kiosk_id = %s", [kiosk_id]
    ).fetchone()
    assert summary == (7, 7, 7 * 250, 0)


def test_provisioned_login_is_the_kiosk_identity(migrated, db, tmp_path: Path):
    """A kiosk's direct connection is its own login role; it cannot pose as another kiosk."""
    other = register(db)
    paid_jobs(db, other, 2)
    cfg = provision_kiosk(migrated.url, JWT_SECRET, "Provisioned " + secrets.token_hex(3), tmp_path, max_amount=1000)
    text = cfg.read_text()
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"
    dsn = text.split('dsn = "')[1].split('"')[0]
    kiosk_id = text.split('kiosk_id = "')[1].split('"')[0]
    with psycopg.connect(dsn, autocommit=True) as agent:
        assert agent.execute("SELECT api.dispense_claim()").fetchone()[0] is None
        # Forged claims and SET ROLE do not change who it is.
        agent.execute("SELECT set_config('request.jwt.claims', %s, false)", [json.dumps({"kiosk_id": other})])
        assert agent.execute("SELECT api.dispense_claim()").fetchone()[0] is None
        assert agent.execute("SELECT api.kiosk_heartbeat()").fetchone()[0]["kiosk_id"] == kiosk_id
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            agent.execute("SET ROLE kiosk")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            agent.execute("SELECT * FROM atm.dispense_jobs")
    assert (
        db.execute(
            "SELECT count(*) FROM atm.dispense_jobs WHERE kiosk_id = %s AND status = 'pending'", [other]
        ).fetchone()[0]
        == 2
    )


def test_kiosk_provision_cli(migrated, tmp_path: Path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, DATABASE_URL=migrated.url, JWT_SECRET=JWT_SECRET)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kioskledger",
            "kiosk-provision",
            "CLI Made ATM",
            "--out",
            str(tmp_path),
            "--max-amount",
            "2000",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    cfg = tmp_path / "dispenser-cli_made_atm.toml"
    assert str(cfg) in out.stdout
    dsn = cfg.read_text().split('dsn = "')[1].split('"')[0]
    with psycopg.connect(dsn, autocommit=True) as agent:
        assert agent.execute("SELECT api.kiosk_heartbeat()").fetchone()[0]["kiosk_id"] == "cli_made_atm"


def test_an_unknown_payout_is_parked_at_once_with_its_evidence(db):
    kiosk_id = register(db)
    [job] = paid_jobs(db, kiosk_id, 1, amount=500)
    c = as_kiosk(db, kiosk_id, "SELECT api.dispense_claim()")
    token = c["claim_token"]
    evidence = json.dumps({"why": "event counter is 9; expected 7 or 8"})
    with pytest.raises(psycopg.Error, match=r"CONFLICT: job .* is claimed, not dispensing"):
        as_kiosk(db, kiosk_id, "SELECT api.dispense_unknown(%s, %s, %s)", (job, token, evidence))
    as_kiosk(db, kiosk_id, "SELECT api.dispense_begin(%s, %s)", (job, token))
    for bad in ("[]", '"text"', json.dumps({"x": "y" * 8000})):
        with pytest.raises(psycopg.Error, match="INVALID_REQUEST: evidence must be a JSON object"):
            as_kiosk(db, kiosk_id, "SELECT api.dispense_unknown(%s, %s, %s)", (job, token, bad))
    with pytest.raises(psycopg.Error, match="CONFLICT"):
        as_kiosk(db, kiosk_id, "SELECT api.dispense_unknown(%s, %s, %s)", (job, secrets.token_hex(16), evidence))
    other = register(db)
    with pytest.raises(psycopg.Error):
        as_kiosk(db, other, "SELECT api.dispense_unknown(%s, %s, %s)", (job, token, evidence))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        call_as(db, "staff", "SELECT api.dispense_unknown(%s, %s, %s)", (job, token, evidence))
    assert db.execute("SELECT status FROM atm.dispense_jobs WHERE id = %s", [job]).fetchone()[0] == "dispensing", (
        "refused calls changed nothing"
    )

    parked = as_kiosk(db, kiosk_id, "SELECT api.dispense_unknown(%s, %s, %s)", (job, token, evidence))
    assert (parked["status"], parked["coins_paid"]) == ("needs_reconciliation", 0)
    assert (
        db.execute("SELECT count(*) FROM atm.alerts WHERE job_id = %s AND resolved_at IS NULL", [job]).fetchone()[0]
        == 1
    )
    # A repeat (lost answer) appends the evidence and changes no state.
    again = as_kiosk(db, kiosk_id, "SELECT api.dispense_unknown(%s, %s, %s)", (job, token, evidence))
    assert again["status"] == "needs_reconciliation"
    notes = db.execute(
        "SELECT old_status, new_status, note FROM atm.job_events WHERE job_id = %s AND note LIKE "
        "'payout unknown%%' ORDER BY id",
        [job],
    ).fetchall()
    assert [(n[0], n[1]) for n in notes] == [
        ("dispensing", "needs_reconciliation"),
        ("needs_reconciliation", "needs_reconciliation"),
    ]
    assert "event counter is 9" in notes[0][2]
    # Reconciliation settles it, as for an expired lease.
    done = call_as(db, "admin", "SELECT api.dispense_reconcile(%s, 20, 'counted the coin bin')", (job,))
    assert done["status"] == "completed"
    assert_ledger_invariants(db)
