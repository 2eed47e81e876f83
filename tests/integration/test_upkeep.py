"""Scheduled upkeep: every run logged, a failing job an alert (cleared by its next success),
one runner per job at a time, due jobs only, and the scheduler process that runs the
schedule where pg_cron does not - lease expiry included, with no agent alive."""

from __future__ import annotations

import secrets
import signal

import psycopg
import pytest

from tests.support.alerts import active_alert, last_alert
from tests.support.helpers import call_as, rid
from tests.support.upkeep import abandoned_jobs, job_status, make_all_due, runs, scheduler_process
from tests.support.waiting import wait_for

JOBS = {
    "expire_leases",
    "retry_failed_jobs",
    "cleanup_expired_transactions",
    "rollup_balances",
    "idempotency_cleanup",
    "alert_sweep",
    "alert_prune",
    "accounts_cleanup",
}


@pytest.fixture
def failing_job(db):
    name = "boom_" + secrets.token_hex(3)
    db.execute(
        "INSERT INTO upkeep.jobs (name, command, every, description) VALUES (%s, 'SELECT 1 / 0 AS x', '1 hour', 'fails')",
        [name],
    )
    yield name
    db.execute("DELETE FROM upkeep.jobs WHERE name = %s", [name])


def test_every_maintenance_job_is_scheduled(db):
    rows = dict(db.execute("SELECT name, enabled FROM upkeep.jobs").fetchall())
    assert set(rows) >= JOBS and all(rows[j] for j in JOBS)
    # pg_cron is not loaded in the test cluster: the scheduler process is the runner here.
    assert db.execute("SELECT upkeep.runner()").fetchone()[0] == "scheduler"


def test_a_run_is_logged_with_what_it_did_and_how_long(db):
    db.execute(
        "INSERT INTO core.idempotency_expired (scope, principal, key, created_at) VALUES "
        "('t', 'admin:x', %s, now() - interval '2 years')",
        [rid()],
    )
    run = db.execute("SELECT upkeep.run_job('idempotency_cleanup', 'dba')").fetchone()[0]
    assert run["ok"] is True and run["runner"] == "dba" and run["error"] is None
    assert run["result"]["pruned"] >= 1 and "forgotten" in run["result"]
    assert run["duration_ms"] >= 0 and run["finished_at"] >= run["started_at"]
    assert runs(db, "idempotency_cleanup")[-1]["id"] == run["id"]
    status = db.execute(
        "SELECT last_ok, last_runner FROM upkeep.job_status WHERE name = 'idempotency_cleanup'"
    ).fetchone()
    assert status == (True, "dba")


def test_accounts_cleanup_forgets_stale_login_failures(db):
    stale, recent = rid() + "@stale.example", rid() + "@recent.example"
    db.execute(
        "INSERT INTO accounts.login_failures (email, failures, last_failed_at) VALUES "
        "(%s, 3, now() - interval '2 days'), (%s, 1, now())",
        [stale, recent],
    )
    run = db.execute("SELECT upkeep.run_job('accounts_cleanup', 'dba')").fetchone()[0]
    assert run["ok"] is True and run["error"] is None
    assert run["result"]["forgotten"]["login_failures"] >= 1 and "refresh_tokens" in run["result"]["forgotten"]
    assert runs(db, "accounts_cleanup")[-1]["id"] == run["id"]
    left = db.execute("SELECT email FROM accounts.login_failures WHERE email IN (%s, %s)", [stale, recent]).fetchall()
    assert left == [(recent,)]


def test_a_failing_job_is_logged_and_raises_an_alert_its_next_success_clears(db, failing_job):
    run = db.execute("SELECT upkeep.run_job(%s)", [failing_job]).fetchone()[0]
    assert run["ok"] is False and run["error"].startswith("22012: division by zero") and run["result"] is None
    alert = active_alert(db, "upkeep", "job_failed", failing_job)
    assert alert["severity"] == "critical" and alert["company_id"] is None
    assert alert["details"]["sqlstate"] == "22012" and failing_job in alert["message"]
    db.execute("SELECT upkeep.run_job(%s)", [failing_job])
    assert active_alert(db, "upkeep", "job_failed", failing_job)["details"]["occurrences"] == 2
    db.execute("UPDATE upkeep.jobs SET command = 'SELECT 1 AS x' WHERE name = %s", [failing_job])
    assert db.execute("SELECT upkeep.run_job(%s)", [failing_job]).fetchone()[0]["ok"] is True
    assert active_alert(db, "upkeep", "job_failed", failing_job) is None
    assert last_alert(db, "upkeep", "job_failed", failing_job)["resolved_by"] == "system:upkeep"
    assert [r["ok"] for r in runs(db, failing_job)] == [False, False, True]


def test_the_upkeep_alert_is_visible_through_the_api(db, failing_job):
    db.execute("SELECT upkeep.run_job(%s)", [failing_job])
    alerts = call_as(db, "admin", "SELECT api.alerts('open', 'upkeep')")["alerts"]
    assert any(a["subject"] == failing_job and a["kind"] == "job_failed" for a in alerts)


def test_a_second_runner_of_a_job_skips_it(migrated, db):
    make_all_due(db)
    with psycopg.connect(migrated.url) as first:  # holds its run open: the job is "running"
        assert first.execute("SELECT upkeep.run_job('rollup_balances', 'first')").fetchone()[0]["ok"] is True
        skipped = db.execute("SELECT upkeep.run_job('rollup_balances', 'second')").fetchone()[0]
        assert skipped == {"job": "rollup_balances", "skipped": "running"}
        first.commit()
    # Once the first committed, the job is not due again for its interval.
    late = db.execute("SELECT upkeep.run_job('rollup_balances', 'second', true)").fetchone()[0]
    assert late == {"job": "rollup_balances", "skipped": "not_due"}
    assert [r["runner"] for r in runs(db, "rollup_balances")][-1] == "first"


def test_run_due_runs_each_due_job_once(db):
    make_all_due(db)
    before = db.execute("SELECT coalesce(max(id), 0) FROM upkeep.runs").fetchone()[0]
    db.execute("CALL upkeep.run_due('test')")
    db.execute("CALL upkeep.run_due('test')")  # nothing is due again within its interval
    ran = db.execute("SELECT job FROM upkeep.runs WHERE id > %s AND runner = 'test'", [before]).fetchall()
    assert sorted(r[0] for r in ran) == sorted(JOBS)
    db.execute("UPDATE upkeep.jobs SET enabled = false WHERE name = 'alert_prune'")
    try:
        make_all_due(db)
        db.execute("CALL upkeep.run_due('test2')")
        ran = {r[0] for r in db.execute("SELECT job FROM upkeep.runs WHERE runner = 'test2'").fetchall()}
        assert ran == JOBS - {"alert_prune"}
    finally:
        db.execute("UPDATE upkeep.jobs SET enabled = true WHERE name = 'alert_prune'")


def test_prune_keeps_what_is_recent(db):
    old = db.execute(
        "SELECT core.alert_raise('upkeep', 'old_problem', %s, NULL, 'info', 'old', '{}')", [rid()]
    ).fetchone()[0]
    recent = db.execute(
        "SELECT core.alert_raise('upkeep', 'old_problem', %s, NULL, 'info', 'recent', '{}')", [rid()]
    ).fetchone()[0]
    db.execute(
        "UPDATE core.alerts SET status = 'resolved', resolved_at = now() - interval '100 days' WHERE id = %s", [old]
    )
    db.execute("UPDATE core.alerts SET status = 'resolved', resolved_at = now() WHERE id = %s", [recent])
    result = db.execute("SELECT upkeep.run_job('alert_prune')").fetchone()[0]["result"]
    assert result["alerts"] >= 1
    left = {r[0] for r in db.execute("SELECT id FROM core.alerts WHERE id IN (%s, %s)", [old, recent]).fetchall()}
    assert left == {recent}
    assert db.execute("SELECT count(*) FROM core.alert_events WHERE alert_id = %s", [old]).fetchone()[0] == 0


def test_the_scheduler_expires_leases_with_no_agent_running(migrated, db, tmp_path):
    kiosk = "upk_" + secrets.token_hex(4)
    call_as(db, "admin", "SELECT api.atm_kiosk_register(%s, 'Upkeep ATM', NULL, NULL, 5000, %s)", (kiosk, rid()))
    claimed, dispensing = abandoned_jobs(db, kiosk)
    make_all_due(db)
    with open(tmp_path / "scheduler.log", "w+") as log, scheduler_process(migrated.url, output=log) as proc:
        wait_for(lambda: job_status(db, dispensing) == "needs_reconciliation", timeout=20, message="lease expiry")
        assert job_status(db, claimed) == "pending"
        assert runs(db, "expire_leases", "scheduler")[-1]["result"]["expired"]["needs_reconciliation"] >= 1
        # The same schedule as pg_cron's: every job ran, by the scheduler.
        wait_for(lambda: all(runs(db, job, "scheduler") for job in JOBS), timeout=20, message="every job ran")
        # The stranded payout is an alert, raised by the scheduled sweep.
        wait_for(
            lambda: active_alert(db, "atm", "reconciliation_needed", f"job:{dispensing}"),
            timeout=20,
            message="the sweep's alert",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        log.seek(0)
        assert "scheduler connected" in log.read()
