"""The local dispense journal (SQLite, synchronous=FULL): what the agent must not forget
across a crash, a power cut or a database outage.

One row per attempt (job id + claim token). Before every dispense command the row holds
the hopper's event counter and the coins already paid by this attempt, so after a crash
the hopper's own counters tell exactly what the interrupted command paid. States:

  in_flight  the motor may have run; resolve from the hopper's counters (agent.recover)
  result     the job's running total is known; waiting to be reported to Postgres
  unknown    the counters cannot tell what was paid: left for a human, with the evidence
  delivered  reported (kept a while for audit)
  rejected   Postgres refused the report (kept, with why)
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    job_id             INTEGER NOT NULL,
    claim_token        TEXT    NOT NULL,
    quarters           INTEGER NOT NULL,
    base_paid          INTEGER NOT NULL,   -- the job's coins_paid when claimed
    requested          INTEGER NOT NULL,   -- coins this attempt asks the hopper for
    state              TEXT    NOT NULL CHECK (state IN ('in_flight', 'result', 'unknown', 'delivered', 'rejected')),
    counter_before     INTEGER,            -- hopper event counter before the current dispense command
    paid_before_batch  INTEGER NOT NULL DEFAULT 0,   -- coins this attempt paid before that command
    batch              INTEGER,            -- coins asked by that command
    coins_paid         INTEGER,            -- the job's running total to report
    error_code         TEXT,
    evidence           TEXT,               -- JSON: the counters read, and how the count was established
    created_at         REAL    NOT NULL,
    updated_at         REAL    NOT NULL,
    PRIMARY KEY (job_id, claim_token)
);
CREATE INDEX IF NOT EXISTS attempts_open ON attempts (state) WHERE state IN ('in_flight', 'result');
"""


@dataclass(frozen=True)
class Attempt:
    job_id: int
    claim_token: str
    quarters: int
    base_paid: int
    requested: int
    state: str
    counter_before: int | None
    paid_before_batch: int
    batch: int | None
    coins_paid: int | None
    error_code: str | None
    evidence: dict | None
    created_at: float
    updated_at: float


class JournalLocked(RuntimeError):
    pass


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One agent per journal (and so per hopper): a second one would misread the counters.
        self._lock_fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise JournalLocked(f"{self.path} is in use by another agent") from None
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()
        os.close(self._lock_fd)

    def _write(self, sql: str, params: tuple) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(sql, params)
            if cur.rowcount != 1:
                raise RuntimeError(f"journal: expected one row, changed {cur.rowcount}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # -- writes (each one durable before it returns) ---------------------------------------

    def start(
        self, job_id: int, claim_token: str, quarters: int, base_paid: int, requested: int, counter_before: int
    ) -> None:
        """Before dispense_begin: the job, and the hopper's counter before any coin moves."""
        now = time.time()
        self._write(
            "INSERT INTO attempts (job_id, claim_token, quarters, base_paid, requested, state, counter_before,"
            " paid_before_batch, batch, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'in_flight', ?, 0, ?, ?, ?)",
            (job_id, claim_token, quarters, base_paid, requested, counter_before, min(requested, 255), now, now),
        )

    def before_batch(
        self, job_id: int, claim_token: str, counter_before: int, paid_before_batch: int, batch: int
    ) -> None:
        """Before each dispense command: its counter, and what this attempt paid so far."""
        self._write(
            "UPDATE attempts SET counter_before = ?, paid_before_batch = ?, batch = ?, updated_at = ?"
            " WHERE job_id = ? AND claim_token = ? AND state = 'in_flight'",
            (counter_before, paid_before_batch, batch, time.time(), job_id, claim_token),
        )

    def record_result(
        self, job_id: int, claim_token: str, coins_paid: int, error_code: str | None, evidence: dict | None = None
    ) -> None:
        self._write(
            "UPDATE attempts SET state = 'result', coins_paid = ?, error_code = ?, evidence = ?, updated_at = ?"
            " WHERE job_id = ? AND claim_token = ? AND state = 'in_flight'",
            (coins_paid, error_code, _json(evidence), time.time(), job_id, claim_token),
        )

    def record_unknown(self, job_id: int, claim_token: str, evidence: dict) -> None:
        self._write(
            "UPDATE attempts SET state = 'unknown', evidence = ?, updated_at = ?"
            " WHERE job_id = ? AND claim_token = ? AND state = 'in_flight'",
            (_json(evidence), time.time(), job_id, claim_token),
        )

    def mark(
        self, job_id: int, claim_token: str, state: str, note: str | None = None, from_state: str = "result"
    ) -> None:
        """result | unknown -> delivered | rejected."""
        self._write(
            "UPDATE attempts SET state = ?, evidence = json_set(coalesce(evidence, '{}'), '$.delivery', ?),"
            " updated_at = ? WHERE job_id = ? AND claim_token = ? AND state = ?",
            (state, note, time.time(), job_id, claim_token, from_state),
        )

    def prune(self, older_than_seconds: float = 30 * 86400) -> int:
        cur = self.db.execute(
            "DELETE FROM attempts WHERE state = 'delivered' AND updated_at < ?", (time.time() - older_than_seconds,)
        )
        return cur.rowcount

    # -- reads -------------------------------------------------------------------------

    def in_state(self, *states: str) -> list[Attempt]:
        marks = ",".join("?" * len(states))
        rows = self.db.execute(f"SELECT * FROM attempts WHERE state IN ({marks}) ORDER BY created_at, job_id", states)
        return [_attempt(r) for r in rows.fetchall()]

    def get(self, job_id: int, claim_token: str) -> Attempt | None:
        row = self.db.execute(
            "SELECT * FROM attempts WHERE job_id = ? AND claim_token = ?", (job_id, claim_token)
        ).fetchone()
        return _attempt(row) if row else None

    def all(self) -> list[Attempt]:
        return [_attempt(r) for r in self.db.execute("SELECT * FROM attempts ORDER BY created_at, job_id").fetchall()]


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _attempt(row: tuple) -> Attempt:
    values = list(row)
    values[11] = json.loads(values[11]) if values[11] else None
    return Attempt(*values)
