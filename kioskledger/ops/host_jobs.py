"""The host jobs of the upkeep schedule: commands on the database machine (pgBackRest
backups, the restore drill) that pg_cron cannot run.

A host job's row in upkeep.jobs (kind 'host') holds the arguments of the `kioskledger`
subcommand `backup` or `restore-drill`, e.g. `backup --type incr`; it runs as
`python -m kioskledger ...` without a shell. Only those subcommands: the table's CHECK says
so and this runner checks again, so a row cannot make it run anything else. The SQL side (sql/85_upkeep/30_host_jobs.sql)
says what is due, claims a job (its advisory lock, held by this session while the command
runs: one runner per job), and logs the run - exit code, the tails of stdout and stderr - so
a failure raises the `upkeep/job_failed` alert and the next success clears it.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

import psycopg

log = logging.getLogger("kioskledger.scheduler")

TAIL_CHARS = 2000
# What a host job may run (as upkeep.jobs' CHECK jobs_host_command): never `psql`, whose
# `\!` runs a shell, nor `run` or `stop`.
HOST_COMMANDS = ("backup", "restore-drill")


@dataclass
class Outcome:
    exit_code: int | None
    output: str
    error: str


def run_command(command: str, timeout_s: float, stopping: threading.Event) -> Outcome:
    """`kioskledger <command>` in a child process; stopped (and a failure) when it runs
    past `timeout_s` or the scheduler is stopping."""
    args = shlex.split(command)
    if not args or args[0] not in HOST_COMMANDS:
        raise ValueError(f"not a host job command (only {', '.join(HOST_COMMANDS)})")
    argv = [sys.executable, "-m", "kioskledger", *args]
    # Its own process group: stopping it stops what it started in that group too (the
    # pgbackrest it runs), not only the Python process.
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    reason = None
    waited = 0.0
    while True:
        try:
            out, err = proc.communicate(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            waited += 1.0
            if stopping.is_set() or waited >= timeout_s:
                reason = "the scheduler stopped" if stopping.is_set() else f"timed out after {timeout_s:.0f} s"
                _signal_group(proc, signal.SIGTERM)
                try:
                    out, err = proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                    out, err = proc.communicate()
                break
    err = err or ""
    if reason:
        err = f"{err}\nkioskledger {command}: {reason}"
    return Outcome(proc.returncode if reason is None else None, (out or "")[-TAIL_CHARS:], err[-TAIL_CHARS:])


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class HostJobs:
    """Runs the due host jobs one after the other (two backups of one stanza cannot run at
    once), on a connection of its own: a backup that takes minutes holds no SQL job back."""

    def __init__(self, connect, stopping: threading.Event, runner: str = "scheduler"):
        self.connect = connect
        self.stopping = stopping
        self.runner = runner

    def run_due(self) -> list[dict]:
        """Every due host job once; the runs logged."""
        done = []
        with self.connect() as conn:
            for name, command, timeout_s in conn.execute("SELECT * FROM upkeep.host_jobs_due()").fetchall():
                if self.stopping.is_set():
                    break
                started = conn.execute("SELECT upkeep.host_job_begin(%s)", [name]).fetchone()[0]
                if started is None:  # another runner has it, or it ran meanwhile
                    continue
                log.info("host job %s: kioskledger %s", name, command)
                try:
                    outcome = run_command(command, timeout_s, self.stopping)
                except (OSError, ValueError) as err:  # not started (a bad quote, no interpreter): logged as failed
                    outcome = Outcome(None, "", f"kioskledger {command}: {err}")
                run = self._finish(conn, name, started, outcome)
                seconds = float(run["duration_ms"]) / 1000
                if run["ok"]:
                    log.info("host job %s: ok in %.1f s", name, seconds)
                else:
                    log.warning("host job %s: FAILED in %.1f s: %s", name, seconds, run["error"][-500:])
                done.append(run)
        return done

    def _finish(self, conn: psycopg.Connection, name: str, started, outcome: Outcome) -> dict:
        query = "SELECT upkeep.host_job_finish(%s, %s, %s, %s, %s, %s)"
        args = [name, self.runner, started, outcome.exit_code, outcome.output, outcome.error]
        try:
            return conn.execute(query, args).fetchone()[0]
        except psycopg.OperationalError:
            # The session went (a failover during a backup): its lock went with it; the run
            # is still logged, on the new primary.
            with self.connect() as fresh:
                return fresh.execute(query, args).fetchone()[0]
