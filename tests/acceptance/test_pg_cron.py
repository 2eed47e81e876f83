"""pg_cron runs the upkeep schedule inside Postgres: on a cluster that loads it, migrate
schedules one cron job that CALLs upkeep.run_due(), and within a tick (a minute with
Debian's pg_cron 1.4, which has no seconds) the jobs run with no process of ours alive:
a lease whose agent is gone expires, a failing job is logged and raises its alert."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from kioskledger.ops.local_cluster import has_pg_cron
from kioskledger.ops.migrate import migrate
from tests.support.alerts import active_alert
from tests.support.database import migrated_cluster
from tests.support.helpers import call_as, rid
from tests.support.upkeep import abandoned_jobs, job_status, make_all_due, runs
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
TICK_S = 75  # pg_cron 1.4 fires at each minute's start, plus the run itself


@pytest.fixture(scope="module")
def cron_db():
    assert has_pg_cron(), "pg_cron is not installed: `make test` installs postgresql-<ver>-cron (as root on Debian)"
    with migrated_cluster("kioskledger-cron-", "kl_cron", pg_cron=True) as db:
        yield db


def test_migrate_schedules_one_cron_job(cron_db):
    with psycopg.connect(cron_db.url, autocommit=True) as db:
        assert db.execute("SELECT upkeep.runner()").fetchone()[0] == "pg_cron"
        migrate(cron_db.url, force_sql=True)  # applying sql/ again replaces it, never adds one
        jobs = db.execute("SELECT jobname, command, database FROM cron.job").fetchall()
    assert jobs == [("kioskledger-upkeep", "CALL upkeep.run_due('pg_cron')", "kl_cron")]


def test_pg_cron_runs_the_jobs_with_nothing_else_alive(cron_db):
    with psycopg.connect(cron_db.url, autocommit=True) as db:
        kiosk = "cron_" + secrets.token_hex(4)
        call_as(db, "admin", "SELECT api.atm_kiosk_register(%s, 'Cron ATM', NULL, NULL, 5000, %s)", (kiosk, rid()))
        claimed, dispensing = abandoned_jobs(db, kiosk)
        db.execute(
            "INSERT INTO upkeep.jobs (name, command, every, description) "
            "VALUES ('cron_boom', 'SELECT missing_function()', '1 minute', 'fails')"
        )
        make_all_due(db)
        wait_for(lambda: runs(db, "cron_boom", "pg_cron"), timeout=TICK_S, interval=0.5, message="a pg_cron tick")
        wait_for(lambda: runs(db, "alert_sweep", "pg_cron"), timeout=10, message="the tick's sweep")
        assert job_status(db, dispensing) == "needs_reconciliation" and job_status(db, claimed) == "pending"
        expired = runs(db, "expire_leases", "pg_cron")[-1]
        assert expired["ok"] and expired["result"]["expired"] == {"requeued": 1, "needs_reconciliation": 1}
        failed = runs(db, "cron_boom", "pg_cron")[-1]
        assert failed["ok"] is False and "missing_function" in failed["error"]
        assert active_alert(db, "upkeep", "job_failed", "cron_boom")["severity"] == "critical"
        assert active_alert(db, "atm", "reconciliation_needed", f"job:{dispensing}")
        cron_status = db.execute("SELECT status FROM cron.job_run_details ORDER BY runid DESC LIMIT 1").fetchone()
        assert cron_status == ("succeeded",)
