"""The dispenser agent end to end: a real agent process (`python -m dispenser run`) on the
kiosk's own login against the test database, driving a simulated ccTalk hopper over a
real pty. The hopper's `total_paid` is the physical truth: it must always equal what the
database says was paid, and never exceed the quarters that were bought."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.support.dispenser_rig import (
    Rig,
    claim_events,
    coins_dispensed_in_ledger,
    job,
    job_status,
    paid_jobs,
    queue_settings,
    transaction_status,
    wait_for,
)
from tests.support.helpers import assert_ledger_invariants


@pytest.fixture
def rig(migrated, tmp_path):
    with Rig(migrated.url, tmp_path) as r:
        yield r


def claimed_ids(agent) -> set[int]:
    return {int(m) for m in re.findall(r"claimed job (\d+)", agent.log)}


def test_happy_path_pays_exactly_the_quarters(rig, db):
    kiosk = rig.kiosk()
    sim = rig.sim()
    agent = rig.agent(kiosk, sim)
    agent.wait_log("listening on atm_kiosk_" + kiosk.kiosk_id)
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=500)

    wait_for(lambda: job_status(db, job_id) == "completed", message="job completed")
    j = job(db, job_id)
    assert (j["coins_paid"], j["quarters"], j["attempts"]) == (20, 20, 1)
    assert transaction_status(db, job_id) == "completed"
    assert sim.total_paid == 20 and sim.payouts() == [20]
    assert coins_dispensed_in_ledger(db, kiosk.kiosk_id) == 20
    agent.wait_log(rf"notified: job\(s\) {job_id}")
    assert_ledger_invariants(db)
    assert agent.stop() == 0, "SIGTERM ends the agent cleanly"


def test_jam_after_k_coins_then_the_retry_pays_only_the_remainder(rig, db):
    kiosk = rig.kiosk()
    sim = rig.sim()
    sim.jam_after(7)
    rig.agent(kiosk, sim)
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=500)

    wait_for(lambda: job_status(db, job_id) == "retry_wait", message="retry_wait after the jam")
    j = job(db, job_id)
    assert (j["coins_paid"], j["last_error"]) == (7, "jam")
    assert sim.total_paid == 7
    # The retry's backoff (SQL's) is moved rather than waited out; the fallback claim finds it.
    db.execute("UPDATE atm.dispense_jobs SET due_at = now() WHERE id = %s", [job_id])
    wait_for(lambda: job_status(db, job_id) == "completed", message="completed after the retry")
    assert sim.payouts() == [20, 13], "the retry asked the hopper for the remaining 13 only"
    assert sim.total_paid == 20 and job(db, job_id)["coins_paid"] == 20
    assert coins_dispensed_in_ledger(db, kiosk.kiosk_id) == 20
    assert_ledger_invariants(db)


def test_heartbeats_keep_a_payout_longer_than_the_lease_alive(rig, db):
    """A 2 s lease, a 4 s payout: dispense_progress (every 0.5 s here) extends the lease, and
    the agent's own expire_leases calls (every 1 s) never strand the job."""
    kiosk = rig.kiosk()
    sim = rig.sim(coin_seconds=0.1)
    with queue_settings(db, atm_lease_seconds=2):
        rig.agent(kiosk, sim)
        [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=1000)  # 40 coins, ~4 s
        wait_for(lambda: job_status(db, job_id) == "completed", timeout=20, message="completed")
    assert sim.total_paid == 40
    progress = db.execute(
        "SELECT coins_paid FROM atm.job_events WHERE job_id = %s AND old_status = 'dispensing' "
        "AND new_status = 'dispensing' ORDER BY id",
        [job_id],
    ).fetchall()
    assert len(progress) >= 4 and [c for (c,) in progress] == sorted(c for (c,) in progress), progress
    assert (
        db.execute(
            "SELECT count(*) FROM atm.job_events WHERE job_id = %s AND new_status = 'needs_reconciliation'", [job_id]
        ).fetchone()[0]
        == 0
    )


def test_sigkill_mid_payout_then_restart_reconciles_from_the_hopper_counters(rig, db):
    """The agent dies; the hopper finishes the batch it was given. The restarted agent
    reads the counters, reports exactly that, and never dispenses again."""
    kiosk = rig.kiosk()
    sim = rig.sim(coin_seconds=0.04)
    agent = rig.agent(kiosk, sim)
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=1000)  # 40 quarters
    wait_for(lambda: sim.total_paid >= 8, message="payout under way")
    agent.kill()
    assert job_status(db, job_id) == "dispensing"
    wait_for(lambda: not sim.paying, message="the hopper finishing its batch alone")

    again = rig.agent(kiosk, sim)  # same journal
    wait_for(lambda: job_status(db, job_id) == "completed", message="completed after restart")
    again.wait_log(f"job {job_id}: recovered from the hopper's counters")
    assert sim.total_paid == 40 and sim.payouts() == [40], "never re-dispensed"
    assert job(db, job_id)["attempts"] == 1
    assert coins_dispensed_in_ledger(db, kiosk.kiosk_id) == 40
    assert_ledger_invariants(db)


def test_sigkill_with_power_loss_and_expired_lease_reconciles_then_pays_the_rest(rig, db):
    """The Pi loses power: agent and hopper both stop mid-payout; by the time it is back
    the lease has expired (needs_reconciliation). The hopper's surviving counters settle it:
    dispense_report reconciles the job with the coins that came out, then only the remainder
    is paid."""
    kiosk = rig.kiosk()
    sim = rig.sim(coin_seconds=0.04)
    agent = rig.agent(kiosk, sim)
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=1000)  # 40 quarters
    wait_for(lambda: sim.total_paid >= 6, message="payout under way")
    sim.power_off()
    agent.kill()
    paid_before = sim.total_paid
    assert 6 <= paid_before < 40
    db.execute("UPDATE atm.dispense_jobs SET lease_until = now() - interval '1 second' WHERE id = %s", [job_id])
    db.execute("SELECT atm.expire_leases()")
    assert job_status(db, job_id) == "needs_reconciliation"

    sim.power_on()
    again = rig.agent(kiosk, sim)
    wait_for(lambda: job_status(db, job_id) == "completed", message="completed after reconciliation")
    again.wait_log(rf"job {job_id}: reconciled with {paid_before} coins paid -> retry_wait")
    assert sim.total_paid == 40 and sim.payouts() == [40, 40 - paid_before]
    events = db.execute(
        "SELECT new_status, coins_paid, note FROM atm.job_events WHERE job_id = %s ORDER BY id", [job_id]
    ).fetchall()
    reconciled = [e for e in events if e[2] and e[2].startswith("reconciled: ")]
    assert len(reconciled) == 1 and reconciled[0][1] == paid_before and "event counter advanced" in reconciled[0][2]
    assert (
        db.execute("SELECT count(*) FROM atm.alerts WHERE job_id = %s AND resolved_at IS NULL", [job_id]).fetchone()[0]
        == 0
    )
    assert coins_dispensed_in_ledger(db, kiosk.kiosk_id) == 40
    assert_ledger_invariants(db)


def test_an_unknowable_payout_is_parked_with_its_evidence_and_never_repaid(rig, db):
    """The agent dies mid-payout and, while it is down, the hopper's event counter moves by
    more than the one command we gave (a service engineer's test payout, say). The restarted
    agent cannot tell what our command paid: it reports that at once (dispense_unknown) with
    the hopper's evidence, the job goes to needs_reconciliation with an alert, and no coin
    is paid again."""
    kiosk = rig.kiosk()
    sim = rig.sim(coin_seconds=0.04)
    agent = rig.agent(kiosk, sim)
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=1000)  # 40 quarters
    wait_for(lambda: sim.total_paid >= 6, message="payout under way")
    agent.kill()
    wait_for(lambda: not sim.paying, message="the hopper finishing its batch alone")
    sim.state.event_counter = (sim.state.event_counter + 1) % 256 or 1  # someone else's command
    paid = sim.total_paid

    again = rig.agent(kiosk, sim)
    wait_for(lambda: job_status(db, job_id) == "needs_reconciliation", message="parked for reconciliation")
    again.wait_log(rf"job {job_id}: reported an unknown payout with its evidence -> needs_reconciliation")
    note = db.execute(
        "SELECT note FROM atm.job_events WHERE job_id = %s AND new_status = 'needs_reconciliation'", [job_id]
    ).fetchone()[0]
    assert note.startswith("payout unknown, evidence from the kiosk: ") and "event counter is" in note
    assert (
        db.execute("SELECT count(*) FROM atm.alerts WHERE job_id = %s AND resolved_at IS NULL", [job_id]).fetchone()[0]
        == 1
    )
    assert db.execute("SELECT lease_until FROM atm.dispense_jobs WHERE id = %s", [job_id]).fetchone()[0] is None
    assert sim.total_paid == paid and sim.payouts() == [40], "nothing paid after the unknown"
    assert_ledger_invariants(db)


def test_sigkill_of_an_agent_with_the_built_in_simulator(rig, db, tmp_path):
    """`--hopper sim`: the simulator lives in the agent process, so SIGKILL is a power cut
    for both. Its counters survive in its state file; the restarted agent (and simulator)
    pay only what is still owed."""
    kiosk = rig.kiosk()
    state = tmp_path / "builtin-hopper.json"
    hopper_cfg = {"sim_state_file": str(state), "sim_coin_seconds": 0.04}
    agent = rig.agent(kiosk, "sim", hopper_cfg=hopper_cfg)
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=1000)

    def coins_out() -> int:
        try:
            return json.loads(state.read_text())["total_paid"]
        except (OSError, ValueError):
            return 0

    wait_for(lambda: coins_out() >= 5, message="payout under way")
    agent.kill()
    paid_before = coins_out()
    again = rig.agent(kiosk, "sim", hopper_cfg=hopper_cfg)
    wait_for(lambda: job_status(db, job_id) in ("retry_wait", "completed"), message="the interrupted attempt reported")
    db.execute("UPDATE atm.dispense_jobs SET due_at = now() WHERE id = %s AND status = 'retry_wait'", [job_id])
    wait_for(lambda: job_status(db, job_id) == "completed", message="completed")
    again.wait_log(f"job {job_id}: recovered from the hopper's counters: this attempt paid {paid_before} ")
    assert coins_out() == 40 and job(db, job_id)["coins_paid"] == 40
    assert_ledger_invariants(db)


def test_two_kiosks_never_see_each_others_jobs(rig, db):
    k1, k2 = rig.kiosk(), rig.kiosk()
    s1, s2 = rig.sim(), rig.sim()
    a1, a2 = rig.agent(k1, s1), rig.agent(k2, s2)
    a1.wait_log("listening on")
    a2.wait_log("listening on")
    jobs1 = paid_jobs(db, k1.kiosk_id, 3, amount=250)
    jobs2 = paid_jobs(db, k2.kiosk_id, 4, amount=100)
    wait_for(lambda: all(job_status(db, j) == "completed" for j in jobs1 + jobs2), message="all completed")
    assert (s1.total_paid, s2.total_paid) == (3 * 10, 4 * 4)
    assert claimed_ids(a1) == set(jobs1) and claimed_ids(a2) == set(jobs2)
    notified1 = {int(x) for m in re.findall(r"notified: job\(s\) ([\d,]+)", a1.log) for x in m.split(",")}
    assert notified1 and notified1 <= set(jobs1), "a kiosk's channel carries only its own jobs"
    assert_ledger_invariants(db)


def test_a_second_agent_on_the_same_login_never_claims_a_held_job(rig, db):
    kiosk = rig.kiosk()
    slow_a, slow_b = rig.sim(coin_seconds=0.08), rig.sim(coin_seconds=0.08)
    a, b = rig.agent(kiosk, slow_a, tag="a"), rig.agent(kiosk, slow_b, tag="b")
    a.wait_log("listening on")
    b.wait_log("listening on")
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=1000)  # 40 coins, ~3 s
    wait_for(lambda: job_status(db, job_id) == "dispensing", message="dispensing")
    holder, other = (a, b) if job_id in claimed_ids(a) else (b, a)
    assert job_id in claimed_ids(holder)
    # While the holder dispenses, the other agent keeps claiming (fallback timer) and gets nothing.
    empty_before = other.count("claim: no job due")
    other.wait_log("claim: no job due", count=empty_before + 2, timeout=10)
    assert job_status(db, job_id) == "dispensing", "still held while the other agent claimed"
    wait_for(lambda: job_status(db, job_id) == "completed", message="completed")
    assert job_id not in claimed_ids(other)
    assert claim_events(db, job_id) == 1
    assert slow_a.total_paid + slow_b.total_paid == 40

    # Many jobs, two agents: each job claimed exactly once, every coin accounted for.
    more = paid_jobs(db, kiosk.kiosk_id, 6, amount=100)
    wait_for(lambda: all(job_status(db, j) == "completed" for j in more), message="all completed", timeout=40)
    assert all(claim_events(db, j) == 1 for j in more)
    assert not (claimed_ids(a) & claimed_ids(b))
    assert slow_a.total_paid + slow_b.total_paid == 40 + 6 * 4
    assert_ledger_invariants(db)


def test_listen_connection_terminated_the_fallback_poll_still_finds_the_job(rig, db):
    kiosk = rig.kiosk()
    sim = rig.sim()
    # The LISTEN connection stays down for 30 s after it breaks: only the fallback claim
    # (every 0.5-1 s here) can find the job in time.
    agent = rig.agent(kiosk, sim, agent={"reconnect_min": 30.0, "reconnect_max": 30.0})
    agent.wait_log("listening on")
    role = "kiosk_" + kiosk.kiosk_id

    def listen_backends() -> int:
        return db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s "
            "AND application_name = 'kioskledger-dispenser-listen'",
            [role],
        ).fetchone()[0]

    assert listen_backends() == 1
    killed = db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s "
        "AND application_name = 'kioskledger-dispenser-listen'",
        [role],
    ).fetchall()
    assert killed == [(True,)]
    agent.wait_log("listen connection: .*next attempt in")
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=250)
    wait_for(lambda: job_status(db, job_id) == "completed", timeout=10, message="completed via the fallback claim")
    assert listen_backends() == 0, "LISTEN was still down: the fallback claim found the job"
    assert not re.search(rf"notified: job\(s\) {job_id}\b", agent.log)
    assert sim.total_paid == 10


def test_the_journal_records_the_counter_before_the_payout(rig, db):
    """What a crash would need is on disk: the attempt with the hopper's event counter."""
    kiosk = rig.kiosk()
    sim = rig.sim()
    agent = rig.agent(kiosk, sim)
    [job_id] = paid_jobs(db, kiosk.kiosk_id, 1, amount=75)
    wait_for(lambda: job_status(db, job_id) == "completed", message="completed")
    journal = kiosk.workdir / "journal-a.sqlite3"
    wait_for(lambda: _journal_rows(journal, job_id), message="journal row delivered")
    [(state, counter_before, coins_paid, evidence)] = _journal_rows(journal, job_id)
    assert (state, counter_before, coins_paid) == ("delivered", 0, 3)
    assert json.loads(evidence)["delivery"] == "finish: completed"
    agent.stop()


def _journal_rows(path, job_id):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT state, counter_before, coins_paid, evidence FROM attempts WHERE job_id = ? AND state = 'delivered'",
            (job_id,),
        ).fetchall()
