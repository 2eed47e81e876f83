"""Upkeep in tests: a job stranded by an agent that went away, the runs a runner logged,
the scheduler process."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

import psycopg

from tests.support.dispenser_rig import paid_jobs


def abandoned_jobs(db: psycopg.Connection, kiosk_id: str) -> tuple[int, int]:
    """Two jobs whose agent stopped heartbeating: one claimed (never started), one mid-payout,
    both with leases that ran out a minute ago."""
    claimed, dispensing = paid_jobs(db, kiosk_id, 2)
    db.execute(
        "UPDATE atm.dispense_jobs SET status = 'claimed', claim_token = gen_random_uuid(), attempts = 1, "
        "lease_until = now() - interval '1 minute' WHERE id = %s",
        [claimed],
    )
    db.execute(
        "UPDATE atm.dispense_jobs SET status = 'dispensing', claim_token = gen_random_uuid(), attempts = 1, "
        "coins_paid = 3, lease_until = now() - interval '1 minute' WHERE id = %s",
        [dispensing],
    )
    return claimed, dispensing


def job_status(db: psycopg.Connection, job_id: int) -> str:
    return db.execute("SELECT status FROM atm.dispense_jobs WHERE id = %s", [job_id]).fetchone()[0]


def runs(db: psycopg.Connection, job: str, runner: str | None = None) -> list[dict]:
    rows = db.execute(
        "SELECT to_jsonb(r) FROM upkeep.runs r WHERE r.job = %s AND (%s::text IS NULL OR r.runner = %s) ORDER BY r.id",
        [job, runner, runner],
    ).fetchall()
    return [r[0] for r in rows]


def scheduler_env(url: str, home=None) -> dict:
    env = dict(os.environ, KL_NO_DOTENV="1", DATABASE_URL=url)
    env.pop("UPKEEP_HOST_JOBS", None)
    if home is not None:
        env["KL_HOME"] = str(home)
    return env


def host_job(db: psycopg.Connection, name: str, command: str, every: str = "1 hour") -> None:
    """An enabled host job, due now."""
    db.execute(
        "INSERT INTO upkeep.jobs (name, kind, command, every, description) VALUES (%s, 'host', %s, %s, 'a test')",
        [name, command, every],
    )


def make_all_due(db: psycopg.Connection) -> None:
    db.execute("UPDATE upkeep.jobs SET last_started_at = NULL")


@contextmanager
def scheduler_process(url: str, tick: float = 0.5, output=subprocess.DEVNULL, host_jobs: bool = False, home=None):
    """`kioskledger scheduler` on `url` (never the developer's .env), stopped with SIGTERM;
    with `host_jobs`, running them too, from `home` (KL_HOME: where a formation would be)."""
    env = scheduler_env(url, home)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kioskledger",
            "scheduler",
            "--tick",
            str(tick),
            *(["--host-jobs"] if host_jobs else []),
        ],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
