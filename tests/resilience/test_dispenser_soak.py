"""Soak: 200 paid jobs through one agent while the hopper misbehaves at random (jams, running
empty, power cuts, silence, corrupt checksums, lost and refused dispense commands, slow
replies, echo switching). Afterwards every coin the hopper paid is in the database, no
job got more than it bought, and every job ended completed, failed (with an alert) or
needs_reconciliation (here: never - the simulated counters always survive)."""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter

import pytest

from dispenser.simulator import RandomFaults
from tests.support.dispenser_rig import Rig, coins_dispensed_in_ledger, paid_jobs, queue_settings, wait_for
from tests.support.helpers import assert_ledger_invariants

pytestmark = pytest.mark.slow

N_JOBS = 200
TERMINAL = ("completed", "failed", "needs_reconciliation")


@pytest.fixture
def fast_queue(db):
    """Retries due at once (SQL's backoff is 10 s doubling) and 5 s leases (heartbeats come
    every 0.5 s), so the soak stays short and a stuck payout shows within seconds."""
    with queue_settings(db, atm_retry_base_seconds=0, atm_lease_seconds=5):
        yield


def test_soak_200_jobs_with_random_hopper_faults(migrated, db, tmp_path, fast_queue):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    started = time.monotonic()
    with Rig(migrated.url, tmp_path) as rig:
        kiosk = rig.kiosk()
        # (A counter of 0 is ambiguous after a power cut - see dispenser.recovery - so this
        # hopper has paid before.)
        sim = rig.sim(coin_seconds=0.004, event_counter=17)
        agent = rig.agent(
            kiosk,
            sim,
            agent={"fallback_claim_min": 0.3, "fallback_claim_max": 0.6, "hopper_retry_seconds": 0.1},
            hopper_cfg={"reply_timeout": 0.15, "stall_seconds": 1.0},
        )
        agent.wait_log("listening on")
        chaos = RandomFaults(sim, interval=0.1, seed=seed).start()
        jobs: list[int] = []
        try:
            # In waves, so notifications, fallback claims and faults interleave.
            for _ in range(10):
                amounts = Counter(25 * rng.randint(1, 12) for _ in range(N_JOBS // 10))
                for amount, n in amounts.items():
                    jobs += paid_jobs(db, kiosk.kiosk_id, n, amount=amount)
                time.sleep(0.3)

            def unfinished() -> int:
                return db.execute(
                    "SELECT count(*) FROM atm.dispense_jobs WHERE id = ANY(%s) AND status <> ALL(%s)",
                    [jobs, list(TERMINAL)],
                ).fetchone()[0]

            wait_for(
                lambda: unfinished() == 0,
                timeout=50,
                interval=0.2,
                message=f"all {N_JOBS} jobs in a final state (seed {seed})",
            )
        finally:
            chaos.stop()
        agent.stop()
        physical = sim.total_paid

    rows = db.execute(
        "SELECT id, status, quarters, coins_paid FROM atm.dispense_jobs WHERE id = ANY(%s)", [jobs]
    ).fetchall()
    assert len(rows) == N_JOBS
    by_status = Counter(r[1] for r in rows)
    faults = Counter(chaos.injected)
    context = f"seed {seed}; statuses {dict(by_status)}; faults {dict(faults)}"
    assert set(by_status) <= set(TERMINAL), context

    completed_quarters = sum(q for _, s, q, _ in rows if s == "completed")
    partial = sum(paid for _, s, _, paid in rows if s != "completed")
    assert all(paid <= q for _, _, q, paid in rows), "no job paid more than it bought"
    # The simulated hopper's counters always survive, so every payout here is knowable:
    # needs_reconciliation would mean the agent lost track of coins (a double payout, say).
    assert by_status["needs_reconciliation"] == 0, context
    assert physical == completed_quarters + partial, f"coins out of the hopper vs the database; {context}"
    assert coins_dispensed_in_ledger(db, kiosk.kiosk_id) == physical

    failed = [r[0] for r in rows if r[1] == "failed"]
    alerted = {
        r[0]
        for r in db.execute(
            "SELECT job_id FROM atm.alerts WHERE kind = 'dispense_failed' AND job_id = ANY(%s)", [failed]
        ).fetchall()
    }
    assert alerted == set(failed), "every failed job raised an alert"
    assert faults["jam"] + faults["power"] + faults["silence"] > 0, "the faults were really injected"

    # The journal has nothing left to report: every result was delivered.
    with sqlite3.connect(f"file:{kiosk.workdir / 'journal-a.sqlite3'}?mode=ro", uri=True) as j:
        open_states = Counter(s for (s,) in j.execute("SELECT state FROM attempts WHERE state <> 'delivered'"))
    assert open_states == Counter(), f"journal entries not delivered: {open_states}"
    assert_ledger_invariants(db)
    print(
        f"\nsoak: {dict(by_status)}, {physical} coins, faults {dict(faults)}, "
        f"{time.monotonic() - started:.1f}s, seed {seed}"
    )
