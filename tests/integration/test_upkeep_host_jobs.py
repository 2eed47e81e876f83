"""Host jobs of the upkeep schedule (commands on the database machine: the pgBackRest
backups, the restore drill): pg_cron's run_due never runs them; `kioskledger scheduler
--host-jobs` runs the due ones as real subprocesses, logs each run, and a failing command
raises the same alert as a failing SQL job, which the next success clears."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import threading

import psycopg
import pytest

from kioskledger.ops.host_jobs import run_command
from tests.support.alerts import active_alert, last_alert
from tests.support.upkeep import host_job, runs, scheduler_env, scheduler_process
from tests.support.waiting import wait_for

BACKUP_JOBS = {
    "backup_full": ("backup --type full", "7 days"),
    "backup_diff": ("backup --type diff", "1 day"),
    "backup_incr": ("backup --type incr", "1 hour"),
    "restore_drill": ("restore-drill", "1 day"),
}


@pytest.fixture
def job(db):
    name = "host_" + secrets.token_hex(3)
    yield name
    db.execute("DELETE FROM upkeep.jobs WHERE name = %s", [name])


def _scheduler_once(url: str, home) -> None:
    subprocess.run(
        [sys.executable, "-m", "kioskledger", "scheduler", "--once", "--host-jobs"],
        env=scheduler_env(url, home),
        check=True,
        timeout=60,
        capture_output=True,
    )


def test_backups_and_the_drill_are_scheduled_host_jobs_off_until_enabled(db):
    rows = db.execute("SELECT name, command, every::text, enabled FROM upkeep.jobs WHERE kind = 'host'").fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        name: (command, every.replace("1 hour", "01:00:00")) for name, (command, every) in BACKUP_JOBS.items()
    }
    assert not any(r[3] for r in rows)  # only a formation with a pgBackRest stanza has backups
    try:
        assert db.execute("SELECT upkeep.set_host_jobs(true)").fetchone()[0] == 4
        assert db.execute("SELECT upkeep.set_host_jobs(true)").fetchone()[0] == 0
        assert db.execute("SELECT bool_and(enabled) FROM upkeep.jobs WHERE kind = 'host'").fetchone()[0] is True
    finally:
        db.execute("SELECT upkeep.set_host_jobs(false)")


def test_run_due_never_runs_a_host_job(db, job):
    host_job(db, job, "backup --help")
    db.execute("CALL upkeep.run_due('test')")
    assert runs(db, job) == []
    assert db.execute("SELECT last_started_at FROM upkeep.jobs WHERE name = %s", [job]).fetchone()[0] is None
    # Nor does run_job, which runs SQL: a clear error, and nothing run or logged.
    with pytest.raises(psycopg.Error, match=r"INVALID_REQUEST: .* is a host job"):
        db.execute("SELECT upkeep.run_job(%s)", [job])
    assert runs(db, job) == []


@pytest.mark.parametrize("command", ["/bin/sh -c reboot", "psql -c '\\! reboot'", "stop", "run"])
def test_a_host_job_runs_only_backup_or_the_drill(db, command):
    with pytest.raises(psycopg.errors.CheckViolation):
        host_job(db, "host_bad", command)
    # The runner refuses them too, should a row get past the table.
    with pytest.raises(ValueError, match="not a host job command"):
        run_command(command, 10, threading.Event())


def test_the_scheduler_runs_a_due_host_job_and_logs_it(migrated, db, job, tmp_path):
    host_job(db, job, "backup --help")  # a real host job command, harmless: its usage on stdout
    _scheduler_once(migrated.url, tmp_path)
    [run] = runs(db, job)
    assert run["ok"] is True and run["runner"] == "scheduler" and run["error"] is None
    assert run["result"]["exit_code"] == 0 and "usage: kioskledger backup" in run["result"]["output"]
    assert float(run["duration_ms"]) > 0
    # Not due again within its interval.
    _scheduler_once(migrated.url, tmp_path)
    assert len(runs(db, job)) == 1
    status = db.execute("SELECT last_ok, kind FROM upkeep.job_status WHERE name = %s", [job]).fetchone()
    assert status == (True, "host")


def test_a_host_job_running_elsewhere_is_not_started_twice(migrated, db, job, tmp_path):
    host_job(db, job, "backup --help")
    # Another runner holds the job (the lock upkeep.run_job and host_job_begin take).
    with psycopg.connect(migrated.url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext('kioskledger.upkeep'), hashtext(%s))", [job])
        _scheduler_once(migrated.url, tmp_path)
        assert runs(db, job) == []
    _scheduler_once(migrated.url, tmp_path)
    assert [r["ok"] for r in runs(db, job)] == [True]


def test_a_failing_host_job_raises_the_alert_and_its_next_success_clears_it(migrated, db, job, tmp_path):
    # A real failure: a backup with no formation in this KL_HOME.
    host_job(db, job, "backup --type full", every="2 seconds")
    with (
        open(tmp_path / "scheduler.log", "w+") as log,
        scheduler_process(migrated.url, output=log, host_jobs=True, home=tmp_path) as proc,
    ):
        wait_for(lambda: runs(db, job, "scheduler"), timeout=30, message="the host job's first run")
        failed = runs(db, job)[0]
        assert failed["ok"] is False and failed["result"]["exit_code"] == 1
        assert "no formation in" in failed["error"]
        alert = active_alert(db, "upkeep", "job_failed", job)
        assert alert["severity"] == "critical" and alert["details"]["exit_code"] == 1
        assert "no formation in" in alert["details"]["error"] and job in alert["message"]
        # Fixed: the next run succeeds and clears the alert.
        db.execute("UPDATE upkeep.jobs SET command = 'backup --help' WHERE name = %s", [job])
        wait_for(lambda: runs(db, job)[-1]["ok"], timeout=30, message="the host job's next run")
        assert active_alert(db, "upkeep", "job_failed", job) is None
        assert last_alert(db, "upkeep", "job_failed", job)["resolved_by"] == "system:upkeep"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        log.seek(0)
        assert "host jobs" in log.read()


def test_a_claimed_host_job_is_locked_until_its_run_is_logged(migrated, db, job):
    host_job(db, job, "backup --help")
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    with psycopg.connect(migrated.url, autocommit=True) as runner:
        started = runner.execute("SELECT upkeep.host_job_begin(%s)", [job]).fetchone()[0]
        assert started is not None and runner.execute(held).fetchone()[0] == 1
        # The start is committed while the command runs; a second runner cannot claim it.
        assert db.execute("SELECT last_started_at FROM upkeep.jobs WHERE name = %s", [job]).fetchone()[0] == started
        assert db.execute("SELECT upkeep.host_job_begin(%s)", [job]).fetchone()[0] is None
        run = runner.execute(
            "SELECT upkeep.host_job_finish(%s, 'test', %s, 3, '', 'pgbackrest: boom')", [job, started]
        ).fetchone()[0]
        assert run["ok"] is False and run["error"] == "pgbackrest: boom" and run["result"]["exit_code"] == 3
        assert runner.execute(held).fetchone()[0] == 0  # released with the log
    # Logged and released, it is not due again within its interval.
    assert db.execute("SELECT upkeep.host_job_begin(%s)", [job]).fetchone()[0] is None
    assert db.execute(held).fetchone()[0] == 0
