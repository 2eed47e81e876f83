"""Helpers for the dispenser tests: provisioned kiosks with fast agent settings, the agent
as a real subprocess (so it can be SIGKILLed), bounded waits."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from contextlib import contextmanager
from pathlib import Path

import psycopg

from kioskledger.ops.provision import provision_kiosk
from tests.conftest import JWT_SECRET
from tests.support.agent_config import FAST_AGENT, FAST_HOPPER, write_toml
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


class Kiosk:
    """A provisioned ATM kiosk (its own login role) and a config for its agent."""

    def __init__(self, owner_url: str, workdir: Path, name: str | None = None):
        import secrets

        name = name or "Dispenser test " + secrets.token_hex(4)
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        provisioned = provision_kiosk(owner_url, JWT_SECRET, name, workdir, max_amount=100_000)
        raw = tomllib.loads(provisioned.read_text())
        self.kiosk_id: str = raw["kiosk_id"]
        self.dsn: str = raw["dsn"]
        self.provisioned = provisioned

    def config(self, tag: str = "a", agent: dict | None = None, hopper: dict | None = None) -> Path:
        """A config for one agent of this kiosk (own journal per tag)."""
        data = {
            "kiosk_id": self.kiosk_id,
            "dsn": self.dsn,
            "hopper": {**FAST_HOPPER, **(hopper or {})},
            "agent": {**FAST_AGENT, "journal": str(self.workdir / f"journal-{tag}.sqlite3"), **(agent or {})},
        }
        return write_toml(self.workdir / f"agent-{tag}.toml", data)


class AgentProcess:
    """`python -m dispenser run` as a subprocess, logging at debug level to a file."""

    def __init__(self, config: Path, hopper_device: str, log_path: Path):
        self.config, self.hopper_device, self.log_path = config, hopper_device, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> AgentProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "a") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dispenser",
                    "--log-level",
                    "debug",
                    "run",
                    "--config",
                    str(self.config),
                    "--hopper",
                    self.hopper_device,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log))

    def wait_log(self, pattern: str, count: int = 1, timeout: float = 20.0) -> None:
        wait_for(lambda: self.count(pattern) >= count or self._died(), timeout, message=f"log {pattern!r}")
        assert not self._died() or self.count(pattern) >= count, f"agent exited:\n{self.log[-3000:]}"

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"agent did not stop on SIGTERM:\n{self.log[-3000:]}") from None


def job(db: psycopg.Connection, job_id: int) -> dict:
    row = db.execute("SELECT to_jsonb(j) FROM atm.dispense_jobs j WHERE id = %s", [job_id]).fetchone()
    return row[0]


def job_status(db: psycopg.Connection, job_id: int) -> str:
    return db.execute("SELECT status FROM atm.dispense_jobs WHERE id = %s", [job_id]).fetchone()[0]


def transaction_status(db: psycopg.Connection, job_id: int) -> str:
    return db.execute(
        "SELECT t.status FROM atm.transactions t JOIN atm.dispense_jobs j ON j.transaction_id = t.id WHERE j.id = %s",
        [job_id],
    ).fetchone()[0]


def claim_events(db: psycopg.Connection, job_id: int) -> int:
    return db.execute(
        "SELECT count(*) FROM atm.job_events WHERE job_id = %s AND new_status = 'claimed'", [job_id]
    ).fetchone()[0]


def coins_dispensed_in_ledger(db: psycopg.Connection, kiosk_id: str) -> int:
    """What the ledger moved from the kiosk's coin float to dispensed, in coins."""
    cents = db.execute(
        """SELECT coalesce(sum(p.amount), 0) FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
                           WHERE a.kind = 'atm_coins_dispensed' AND a.owner_ref = %s""",
        [kiosk_id],
    ).fetchone()[0]
    return int(cents) // 25


class Rig:
    """Kiosks, simulated hoppers (in this process, so they outlive a killed agent) and agent
    subprocesses for one test; everything is stopped at the end."""

    def __init__(self, owner_url: str, workdir: Path):
        self.owner_url, self.workdir = owner_url, workdir
        self.sims: list = []
        self.agents: list[AgentProcess] = []

    def kiosk(self) -> Kiosk:
        return Kiosk(self.owner_url, self.workdir / f"kiosk{len(self.agents)}-{time.monotonic_ns()}")

    def sim(self, **kw):
        from dispenser.simulator import HopperSimulator

        s = HopperSimulator(**{"coin_seconds": 0.005, **kw})
        s.start()
        self.sims.append(s)
        return s

    def agent(
        self, kiosk: Kiosk, hopper, tag: str = "a", agent: dict | None = None, hopper_cfg: dict | None = None
    ) -> AgentProcess:
        """hopper: a simulator (its pty is passed with --hopper) or the string "sim"."""
        device = hopper if isinstance(hopper, str) else hopper.path
        cfg = kiosk.config(tag, agent=agent, hopper=hopper_cfg)
        proc = AgentProcess(cfg, device, kiosk.workdir / f"agent-{tag}.log").start()
        self.agents.append(proc)
        return proc

    def close(self) -> None:
        errors = []
        for a in self.agents:
            try:
                a.stop()
            except AssertionError as err:
                errors.append(err)
        for s in self.sims:
            s.close()
        if errors:
            raise errors[0]

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def queue_settings(db: psycopg.Connection, **settings):
    """Temporarily change core.settings (e.g. atm_lease_seconds=2 for atm.lease_seconds)."""
    from psycopg.types.json import Jsonb

    keys = {k.replace("atm_", "atm.", 1): v for k, v in settings.items()}
    old = dict(db.execute("SELECT key, value FROM core.settings WHERE key = ANY(%s)", [list(keys)]).fetchall())
    assert set(old) == set(keys), f"unknown settings: {set(keys) - set(old)}"
    try:
        for key, value in keys.items():
            db.execute("UPDATE core.settings SET value = %s WHERE key = %s", [Jsonb(value), key])
        yield
    finally:
        for key, value in old.items():
            db.execute("UPDATE core.settings SET value = %s WHERE key = %s", [Jsonb(value), key])


def paid_jobs(db, kiosk_id, n, amount=250) -> list[int]:
    """n paid transactions (facts as the RPC would pass them) -> their job ids."""
    rows = db.execute(
        """
        WITH t AS (SELECT atm.transaction_create(%s, %s) AS j FROM generate_series(1, %s))
        SELECT (atm.pay((j ->> 'id')::uuid, '0x' || md5(j ->> 'id'), 'wp-' || (j ->> 'id'), 'mined',
                        j ->> 'payment_reference', (j ->> 'total')::bigint, NULL) ->> 'job_id')::bigint FROM t
        """,
        (kiosk_id, amount, n),
    ).fetchall()
    return [r[0] for r in rows]
