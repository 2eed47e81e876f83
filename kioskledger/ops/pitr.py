"""Backups and the point-in-time restore drill, with pgBackRest.

`backup` takes a full, differential or incremental backup of the formation (pgBackRest
finds whichever node is primary). `restore_drill` restores the repository to a point in
time into a scratch cluster beside the formation, starts it, and checks what a restore
must give back: a ledger whose invariant views are empty, and the transfers committed
before the target (the caller may name some that must be there and some that must not).
The scratch cluster never archives into the shared repository (`--archive-mode=off`),
so a drill leaves the formation's backups and WAL as they were.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from .formation import HOST, Formation, FormationError
from .local_cluster import SUPERUSER, _run_as_owner, find_bindir, free_port

BACKUP_TYPES = ("full", "diff", "incr")

# Each a view that lists what breaks a ledger invariant: empty on a sound ledger.
INVARIANT_VIEWS = ("ledger.imbalances", "ledger.balance_drift", "ledger.dangling_postings")


def backup(formation: Formation, kind: str = "incr") -> str:
    """One backup of `kind`; pgBackRest makes the first one full whatever is asked."""
    if kind not in BACKUP_TYPES:
        raise ValueError(f"backup type must be one of {BACKUP_TYPES}")
    formation.backrest("backup", f"--type={kind}")
    return formation.backrest("info").stdout


def archive_now(formation: Formation) -> None:
    """Make any moment before now reachable by a restore: a commit stamped now (recovery
    to a time stops at the first commit after it, and fails when the archived WAL ends
    before one), then a WAL switch, waiting until the segment is in the repository."""
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        conn.execute("SELECT txid_current()")  # an xid, so its commit is logged with its time
    formation.backrest("check")


@dataclass
class DrillResult:
    target: str
    restore_s: float
    recovery_s: float
    violations: dict[str, int]
    last_transfer_at: datetime | None
    transfers: int
    present: list[str] = field(default_factory=list)  # request_ids asked for and found
    missing: list[str] = field(default_factory=list)  # asked for and not found

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def __str__(self) -> str:
        lines = [
            f"restored to {self.target}: restore {self.restore_s:.1f}s, recovery {self.recovery_s:.1f}s",
            f"  {self.transfers} ledger transfers, the last committed at {self.last_transfer_at}",
        ]
        lines += [f"  {view}: {n} rows" for view, n in self.violations.items()]
        lines.append("  invariants: " + ("hold" if self.ok else "BROKEN"))
        return "\n".join(lines)


def restore_drill(formation: Formation, target: str, probe_keys: list[str] = (), keep: bool = False) -> DrillResult:
    """Restore to `target` (a timestamp with time zone) in a scratch cluster and check it.
    `probe_keys`: request_ids of ledger transfers to look for."""
    scratch = formation.base / "scratch" / f"drill-{int(time.time() * 1000)}"
    port = free_port()
    started = time.monotonic()
    formation.backrest(
        "restore",
        f"--pg1-path={scratch}",
        "--type=time",
        f"--target={target}",
        "--target-action=promote",
        "--archive-mode=off",
    )
    restored = time.monotonic()
    # Its own port, and no synchronous standby to wait for (its commits would hang).
    settings = {"port": str(port), "synchronous_standby_names": "", "listen_addresses": HOST}
    with open(scratch / "postgresql.auto.conf", "a") as conf:
        conf.write("".join(f"{k} = '{v}'\n" for k, v in settings.items()))
    bindir = find_bindir()
    log = scratch / "drill.log"
    res = _run_as_owner(
        [str(bindir / "pg_ctl"), "start", "-w", "-t", "120", "-D", str(scratch), "-l", str(log)],
        capture_output=True,
        text=True,
    )
    try:
        if res.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise FormationError(f"the restored cluster did not start:\n{res.stdout}{res.stderr}\n{tail}")
        url = f"postgresql://{SUPERUSER}:{formation.password}@{HOST}:{port}/kioskledger"
        with psycopg.connect(url, autocommit=True) as conn:
            _wait_promoted(conn)
            recovered = time.monotonic()
            violations = {v: conn.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in INVARIANT_VIEWS}
            transfers, last_at = conn.execute("SELECT count(*), max(created_at) FROM ledger.transfers").fetchone()
            found = {
                key
                for (key,) in conn.execute(
                    # Transfers are keyed <caller's principal>:<request_id>.
                    "SELECT k FROM unnest(%s::text[]) k WHERE EXISTS (SELECT FROM ledger.transfers t "
                    "WHERE right(t.idempotency_key, length(k) + 1) = ':' || k)",
                    [list(probe_keys)],
                )
            }
        return DrillResult(
            target=target,
            restore_s=restored - started,
            recovery_s=recovered - restored,
            violations=violations,
            last_transfer_at=last_at,
            transfers=transfers,
            present=[k for k in probe_keys if k in found],
            missing=[k for k in probe_keys if k not in found],
        )
    finally:
        _run_as_owner(
            [str(bindir / "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", str(scratch)],
            capture_output=True,
            text=True,
        )
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)


def _wait_promoted(conn: psycopg.Connection, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
        if time.monotonic() > deadline:
            raise FormationError("the restored cluster is still recovering")
        time.sleep(0.1)


def backup_info(formation: Formation) -> str:
    return formation.backrest("info").stdout
