"""The agent across Postgres outages, on the crash-safe outage cluster: it restarts and stops
Postgres under a running agent, which the shared session cluster must not see."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from tests.support.dispenser_rig import Rig, job, job_status, paid_jobs, wait_for
from tests.support.helpers import assert_ledger_invariants

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_cluster(outage_db):
    return outage_db.cluster, outage_db.url


@pytest.fixture
def rig(own_cluster, tmp_path):
    with Rig(own_cluster[1], tmp_path) as r:
        yield r


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def test_postgres_restarted_while_the_agent_waits_it_reconnects_and_claims(own_cluster, rig):
    cluster, url = own_cluster
    kiosk = rig.kiosk()
    sim = rig.sim()
    # No fallback claim for 30 s: the job below can only be found through the re-established
    # LISTEN (or the claim made right after reconnecting).
    agent = rig.agent(kiosk, sim, agent={"fallback_claim_min": 30.0, "fallback_claim_max": 30.0})
    agent.wait_log("listening on")

    cluster.restart("immediate")
    agent.wait_log("listen connection: .*next attempt in")
    agent.wait_log("listening on", count=2, timeout=30)

    with connect(url) as db:
        [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=250)
        wait_for(lambda: job_status(db, job_id) == "completed", timeout=15, message="completed after the restart")
        agent.wait_log(rf"notified: job\(s\) {job_id}\b")
        assert sim.total_paid == 10
        assert_ledger_invariants(db)


def test_a_result_waits_in_the_journal_while_postgres_is_down(own_cluster, rig):
    cluster, url = own_cluster
    kiosk = rig.kiosk()
    sim = rig.sim(coin_seconds=0.05)
    agent = rig.agent(kiosk, sim)
    with connect(url) as db:
        [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=750)  # 30 coins, ~1.5 s
    wait_for(lambda: sim.total_paid >= 3, message="payout under way")
    cluster.stop("immediate")
    try:
        agent.wait_log(f"job {job_id}: hopper paid 30 of 30", timeout=20)
        journal = kiosk.workdir / "journal-a.sqlite3"

        def journaled():
            # The agent logs the hopper's count, then journals it: wait for the journal.
            with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as j:
                rows = j.execute("SELECT state, coins_paid FROM attempts WHERE job_id = ?", (job_id,)).fetchall()
            return rows == [("result", 30)]

        wait_for(journaled, timeout=10, message="the count waiting in the journal")
    finally:
        cluster.start()

    with connect(url) as db:
        wait_for(lambda: job_status(db, job_id) == "completed", timeout=20, message="delivered after reconnect")
        assert job(db, job_id)["coins_paid"] == 30 and sim.total_paid == 30 and sim.payouts() == [30]
        assert_ledger_invariants(db)
    agent.wait_log(f"job {job_id}: (reported|reconciled with) 30 coins paid -> completed")
