"""Losing the database server: a pg_auto_failover formation (monitor, primary, synchronous
standby) under HTTP write load.

The primary is killed the way a machine dies (SIGKILL to its keeper, postmaster and
backends) under bar orders and recharges, ATM pays with a real agent dispensing on a
simulated hopper, and a checkout edge selling offline-first and syncing; the standby is
promoted and the RPC server, which was given the formation's multi-host URI, follows it
without a restart. Clients retry 503s with the same request_id. On the promoted node: no
acknowledged write lost, none doubled, every acknowledged pay dispensed exactly once and
no coin over-paid, every order the edge recorded there once, the ledger's invariant
views empty. The old primary comes back as the standby. A planned switchover
costs clients nothing but retried 503s. A point-in-time restore gives back exactly the
transfers committed before its target.

One formation for the module (bring-up ~15 s with its first full backup).
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from kioskledger.ops import pitr
from kioskledger.ops.formation import new_formation
from kioskledger.ops.ha_commands import HA_DIRNAME
from kioskledger.ops.local_cluster import find_program
from kioskledger.ops.migrate import migrate
from kioskledger.ops.tokens import make_token
from tests.support.atm_load import AtmPayLoad
from tests.support.dispenser_rig import Rig, coins_dispensed_in_ledger, job_status, paid_jobs
from tests.support.edge_process import FAST, EdgeProcess
from tests.support.edge_sales import EdgeSales
from tests.support.fakes import world_fake as world
from tests.support.helpers import assert_ledger_invariants, call_as, open_account, rid, transfer
from tests.support.rpc_process import rpc_server
from tests.support.upkeep import runs, scheduler_env
from tests.support.waiting import wait_for
from tests.support.write_load import WriteLoad, ledger_mismatches, seed

pytestmark = pytest.mark.slow

# How soon writes must resume after the primary dies.
FAILOVER_TARGET_S = 15


@pytest.fixture(scope="module")
def formation(tmp_path_factory):
    missing = [p for p in ("pg_autoctl", "pgbackrest") if find_program(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (`kioskledger ensure-extensions` installs them as root)")
    # Not under pytest's base temp: that one is shared by every pytest run as this user,
    # which prunes old ones, and the postgres user must own the whole tree.
    f = new_formation(Path(tempfile.mkdtemp(prefix="kl-formation-")))
    try:
        f.up()
        migrate(f.uri())
        f.set_authenticator_password()
        yield f
    finally:
        # The keepers' logs outlive the formation, in pytest's temporary directory.
        if f.logs.exists():
            shutil.copytree(f.logs, tmp_path_factory.mktemp("formation-logs"), dirs_exist_ok=True)
        f.destroy()


@pytest.fixture(scope="module")
def jwt_secret():
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def served(formation, jwt_secret, world_fake, tmp_path_factory):
    env = formation.server_env(
        jwt_secret,
        RPC_POOL_MIN="4",
        RPC_POOL_MAX="16",
        RPC_READ_DATABASE_URL=formation.read_uri(),
        # Headroom for a loaded CI machine, where one write a second is not a given.
        RPC_READ_MAX_LAG_MS="3000",
        # /atm/pay checks proofs and payments against the World fake.
        WORLD_ID_API_BASE=world_fake.base,
        WORLD_ID_APP_ID=world.APP_ID,
        WORLD_APP_API_KEY=world.API_KEY,
        WORLD_ID_ACTION=world.ACTION,
        WORLD_PAY_RECIPIENT=world.RECIPIENT,
    )
    with open(tmp_path_factory.mktemp("rpc") / "server.log", "w") as log, rpc_server(env, output=log) as running:
        yield running.base, {"Authorization": "Bearer " + make_token(jwt_secret, "staff", {"sub": "ha-bar"})}


EDGE_KIOSK = "ha_edge_k1"
EDGE_LINES = [{"sku": "ha-bread", "qty": 2}, {"sku": "ha-eggs", "qty": 1}]


@pytest.fixture
def edge(formation, served, jwt_secret, tmp_path):
    """A checkout edge of a fresh kiosk selling through the served RPC, its first catalog in."""
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        for sku, price in (("ha-bread", 250), ("ha-eggs", 329)):
            call_as(conn, "admin", "SELECT api.catalog_upsert(%s, %s, %s, 'EUR', true, %s)", (sku, sku, price, rid()))
        call_as(conn, "admin", "SELECT api.company_create('ha-co', 'HA Co', %s)", (rid(),))
        call_as(conn, "admin", "SELECT api.checkout_kiosk_register(%s, 'HA', NULL, %s, 'ha-co')", (EDGE_KIOSK, rid()))
    token = make_token(jwt_secret, "kiosk", {"sub": f"kiosk:{EDGE_KIOSK}", "kiosk_id": EDGE_KIOSK})
    e = EdgeProcess(served[0], token, str(tmp_path / "edge.db"), **FAST).start()
    try:
        with e.client() as c:
            wait_for(lambda: c.get("/edge/status").json()["catalog"]["version"], message="the first catalog")
        yield e
    finally:
        e.kill()


def _cards(formation, n: int) -> list[str]:
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        return seed(conn, n)


def _check_ledger(formation, result) -> None:
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        assert ledger_mismatches(conn, result) == []
        assert_ledger_invariants(conn)


def test_formation_uri_names_every_node(formation):
    shown = formation.shown_uri()
    shown_hosts = shown.split("://", 1)[1].split("/", 1)[0].split(",")  # the primary first
    assert sorted(shown_hosts) == sorted(formation.hosts().split(",")), shown
    assert "target_session_attrs=read-write" in shown
    kinds = sorted(state for state, _ in formation.states().values())
    assert kinds == ["primary", "secondary"]
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        sync = conn.execute("SHOW synchronous_standby_names").fetchone()[0]
    # A commit is acknowledged only once the standby has it.
    assert sync.startswith("ANY 1 (pgautofailover_standby_"), sync


def test_primary_killed_under_load_loses_nothing(formation, served, jwt_secret, world_fake, edge, tmp_path):
    base, headers = served
    cards = _cards(formation, 4)
    t0 = time.monotonic()
    with Rig(formation.uri(), tmp_path / "atm") as rig:
        kiosk = rig.kiosk()
        sim = rig.sim()
        agent = rig.agent(kiosk, sim)
        agent.wait_log("listening on")
        claims = {"sub": f"kiosk:{kiosk.kiosk_id}", "kiosk_id": kiosk.kiosk_id}
        kiosk_headers = {"Authorization": "Bearer " + make_token(jwt_secret, "kiosk", claims)}
        old = formation.primary()
        with (
            WriteLoad(base, headers, cards) as load,
            AtmPayLoad(base, kiosk_headers, world_fake) as atm,
            EdgeSales(edge.base, EDGE_LINES, pause=0.2) as sales,
        ):
            # Every kind of client is under way before the kill: the hopper paying out too.
            wait_for(
                lambda: len(load.result.outcomes) > 20 and len(atm.result.pays) >= 2 and sim.total_paid > 0,
                timeout=60,
                message="the load, ATM pays and a payout under way",
            )
            loaded_at = time.monotonic()
            formation.kill(old)
            killed_at = time.monotonic()  # every process of the old primary is gone
            deadline = killed_at + FAILOVER_TARGET_S + 15
            while load.result.first_write_after(killed_at) is None and time.monotonic() < deadline:
                time.sleep(0.1)
            # ATM pays go on on the new primary too (each pay is three requests, paced).
            wait_for(lambda: atm.result.pays_sent_after(killed_at), timeout=45, message="an ATM pay after the kill")
            time.sleep(2)  # writes go on on the new primary
        result = load.result
        resumed = result.first_write_after(killed_at)
        print(
            f"failover: writes resumed {resumed}s after the kill; retried {result.retried_statuses}; "
            f"ATM pays {len(atm.result.pays)} (retried {atm.result.retried_statuses}); edge sales {len(sales.orders)}"
        )
        assert resumed is not None and resumed < FAILOVER_TARGET_S, resumed
        assert result.gave_up == [] and result.errors == [] and result.replay_mismatches == []
        assert result.replays > 0 and len(result.outcomes) > 50
        new = formation.primary()
        assert new is not old
        _check_ledger(formation, result)
        stopped_at = time.monotonic()
        _check_atm(formation, atm.result, killed_at, kiosk.kiosk_id, sim, agent)
        dispensed_at = time.monotonic()
    _check_edge(formation, edge, sales)
    print(
        f"phases: agent up and load under way {loaded_at - t0:.1f}s, kill to load stopped {stopped_at - killed_at:.1f}s, "
        f"ATM jobs all paid {dispensed_at - stopped_at:.1f}s later, edge drained {time.monotonic() - dispensed_at:.1f}s later"
    )
    # The old primary's machine comes back: it rejoins as the standby. It rewinds and
    # replays all the load's WAL first: once, with another test worker busy, over 60 s.
    formation.rejoin(old)
    formation.wait_healthy(120)
    assert formation.states()[old.name][0] == "secondary"


def _check_atm(formation, atm, killed_at, kiosk_id, sim, agent) -> None:
    """Every acknowledged pay has exactly one job, paid out in full by the agent, which
    re-LISTENed on the new primary: coins paid == quarters owed, none over-paid."""
    assert atm.gave_up == [] and atm.errors == [] and atm.replay_mismatches == []
    assert atm.replays > 0 and atm.pays_sent_after(killed_at)
    agent.wait_log("listening on", count=2, timeout=30)
    owed = {p.transaction_id: (p.job_id, p.quarters) for p in atm.pays}
    assert len(owed) == len(atm.pays)
    with psycopg.connect(formation.uri(), autocommit=True) as db:

        def jobs():
            return db.execute(
                "SELECT transaction_id::text, id, quarters, coins_paid, status::text FROM atm.dispense_jobs"
                " WHERE kiosk_id = %s",
                [kiosk_id],
            ).fetchall()

        wait_for(
            lambda: {r[4] for r in jobs()} == {"completed"} and sim.total_paid >= sum(q for _, q in owed.values()),
            timeout=90,
            message="every acknowledged ATM pay dispensed",
        )
        rows = jobs()
        assert len(rows) == len(owed), "one job per acknowledged pay, none for anything else"
        assert {r[0]: (r[1], r[2], r[3]) for r in rows} == {tx: (j, q, q) for tx, (j, q) in owed.items()}
        quarters = sum(q for _, q in owed.values())
        assert sim.total_paid == quarters, f"hopper paid {sim.total_paid} coins for {quarters} owed"
        assert coins_dispensed_in_ledger(db, kiosk_id) == quarters
        assert sorted(sim.payouts()) == sorted(q for _, q in owed.values())  # no job paid out twice
        assert_ledger_invariants(db)


def _check_edge(formation, edge, sales) -> None:
    """Every order the edge recorded (it never waited for the central) is on the new
    primary exactly once, booked."""
    assert sales.errors == [] and len(sales.orders) > 10
    with edge.client() as c:
        wait_for(lambda: c.get("/edge/status").json()["pending_orders"] == 0, timeout=60, message="the edge's backlog")
        local = c.get("/edge/orders", params={"limit": 1000}).json()["orders"]
    assert len(local) == len(sales.orders) and {o["sync_state"] for o in local} == {"synced"}
    assert {o["central_status"] for o in local} <= {"accepted", "duplicate"}
    with psycopg.connect(formation.uri(), autocommit=True) as db:
        stored = db.execute(
            "SELECT idempotency_key, total FROM checkout.orders WHERE kiosk_id = %s", [EDGE_KIOSK]
        ).fetchall()
        assert len(stored) == len(local), "every order exactly once"
        assert dict(stored) == {o["idempotency_key"]: o["total"] for o in sales.orders}
        assert db.execute("SELECT count(*) FROM checkout.unbooked_orders").fetchone()[0] == 0


def test_switchover_costs_only_retried_503s(formation, served):
    base, headers = served
    formation.wait_healthy(60)
    cards = _cards(formation, 3)
    old = formation.primary()
    with WriteLoad(base, headers, cards) as load:
        time.sleep(1)
        started = time.monotonic()
        formation.switchover()
        formation.wait_healthy(60)
        took = time.monotonic() - started
        time.sleep(1.5)
    result = load.result
    print(f"switchover took {took:.1f}s; retried {result.retried_statuses}")
    assert formation.primary() is not old
    assert result.gave_up == [] and result.errors == [] and result.replay_mismatches == []
    assert set(result.retried_statuses) <= {"503 DATABASE_UNAVAILABLE"}, result.retried_statuses
    _check_ledger(formation, result)


def test_catalogue_listener_follows_the_primary(formation, served):
    """After the failover and the switchover the listener is on the current primary: a
    new api function becomes callable through the NOTIFY a migrate sends."""
    base, _ = served
    name = "ha_probe_" + secrets.token_hex(3)
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        conn.execute(f"CREATE FUNCTION api.{name}() RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT '1'::jsonb $$")
        conn.execute(f"COMMENT ON FUNCTION api.{name}() IS 'test only'")
        conn.execute(f"GRANT EXECUTE ON FUNCTION api.{name}() TO anon")
        conn.execute("NOTIFY kioskledger_reload")
    deadline = time.monotonic() + 10
    while httpx.get(f"{base}/rpc/{name}", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the catalogue listener did not hear the NOTIFY on the new primary"
        time.sleep(0.1)


def test_dispenser_agent_follows_the_primary(formation, tmp_path):
    """The agent's LISTEN and work connections use the formation's multi-host DSN (as
    kiosk-provision writes it). The primary dies while the hopper pays a job out: the
    count waits in the agent's journal and is reported to the new primary; the agent
    LISTENs again there and pays out new jobs. Every coin paid is one in the ledger, none
    paid twice."""
    formation.wait_healthy(60)
    with Rig(formation.uri(), tmp_path) as rig:
        kiosk = rig.kiosk()
        assert formation.hosts() in kiosk.dsn and "target_session_attrs=read-write" in kiosk.dsn
        sim = rig.sim(coin_seconds=0.05)
        agent = rig.agent(kiosk, sim)
        agent.wait_log("listening on")
        with psycopg.connect(formation.uri(), autocommit=True) as db:
            [during] = paid_jobs(db, kiosk.kiosk_id, 1, amount=1000)  # 40 coins, ~2 s
        wait_for(lambda: sim.total_paid >= 3, message="payout under way")
        old = formation.primary()
        formation.kill(old)
        agent.wait_log("listening on", count=2, timeout=30)
        after = wait_for(
            lambda: _paid_jobs_now(formation, kiosk.kiosk_id), timeout=30, message="jobs on the new primary"
        )
        with psycopg.connect(formation.uri(), autocommit=True) as db:
            jobs = [during, *after]
            wait_for(lambda: all(job_status(db, j) == "completed" for j in jobs), timeout=30, message="all paid")
            assert sim.total_paid == 60 and coins_dispensed_in_ledger(db, kiosk.kiosk_id) == 60
            assert sorted(sim.payouts()) == [10, 10, 40]  # nothing paid out twice
            assert_ledger_invariants(db)
        agent.wait_log(rf"job {during}: (reported|reconciled with) 40 coins paid -> completed")
    formation.rejoin(old)
    formation.wait_healthy(60)


def _paid_jobs_now(formation, kiosk_id: str) -> list[int] | None:
    try:
        with psycopg.connect(formation.uri(), autocommit=True) as db:
            return paid_jobs(db, kiosk_id, 2, amount=250)
    except psycopg.OperationalError:
        return None


def test_reads_come_from_the_standby_while_it_keeps_up(formation, served):
    base, headers = served
    formation.wait_healthy(60)
    name = "ha_where_" + secrets.token_hex(3)
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        conn.execute(
            f"CREATE FUNCTION api.{name}() RETURNS jsonb LANGUAGE sql STABLE "
            "AS $$ SELECT jsonb_build_object('standby', pg_is_in_recovery()) $$"
        )
        conn.execute(f"COMMENT ON FUNCTION api.{name}() IS 'test only: which server answers'")
        conn.execute(f"GRANT EXECUTE ON FUNCTION api.{name}() TO anon")
        conn.execute("NOTIFY kioskledger_reload")
    wait_for(lambda: httpx.get(f"{base}/rpc/{name}", timeout=5).status_code == 200, message="the new function")
    cards = _cards(formation, 2)
    card = cards[0]
    # Writes keep the standby's replay recent (within RPC_READ_MAX_LAG_MS).
    with WriteLoad(base, headers, cards) as load:
        # After the failover and the switchover the read pool's connections may be on
        # the primary: it drops them (one a second) until it finds the standby.
        wait_for(lambda: httpx.get(f"{base}/rpc/{name}", timeout=5).json()["standby"], timeout=15, message="a read")
        answers = [httpx.get(f"{base}/rpc/{name}", timeout=5) for _ in range(20)]
        balance = httpx.get(f"{base}/rpc/card_balance", params={"card_id": card}, timeout=5)
    assert [a.status_code for a in answers] == [200] * 20
    from_standby = sum(a.json()["standby"] for a in answers)
    # The rest the primary answered (a moment with no recent commit): right, only not offloaded.
    assert from_standby >= 10, f"{from_standby} of 20 reads came from the standby"
    assert balance.status_code == 200 and balance.json()["balance"] > 0
    assert load.result.errors == [] and load.result.gave_up == []


def _scheduled_backup(formation) -> dict:
    """The upkeep schedule's backup_incr host job, run by `kioskledger scheduler --host-jobs`
    as `make run-ha` runs it (its KL_HOME's .pgdata-ha is this formation): its logged run."""
    home = formation.base / "kl-home"
    home.mkdir(exist_ok=True)
    if not (home / HA_DIRNAME).exists():
        (home / HA_DIRNAME).symlink_to(formation.base)
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        conn.execute(
            "UPDATE upkeep.jobs SET enabled = (name = 'backup_incr'), last_started_at = NULL WHERE kind = 'host'"
        )
        subprocess.run(
            [sys.executable, "-m", "kioskledger", "scheduler", "--once", "--host-jobs"],
            env=scheduler_env(formation.uri(), home),
            check=True,
            timeout=120,
            capture_output=True,
        )
        return runs(conn, "backup_incr")[-1]


def test_point_in_time_restore(formation):
    formation.wait_healthy(60)
    before_backup = pitr.backup_info(formation).count("incr backup")
    run = _scheduled_backup(formation)
    assert run["ok"] is True, run
    # A real pgBackRest backup, the one the drill below restores from.
    assert pitr.backup_info(formation).count("incr backup") == before_backup + 1
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        a, b = open_account(conn, lower_bound=None), open_account(conn)
        before = [rid() for _ in range(3)]
        for key in before:
            transfer(conn, [(a, -100), (b, 100)], key)
        time.sleep(0.2)
        target = conn.execute("SELECT clock_timestamp()::text").fetchone()[0]
        time.sleep(0.2)
        after = [rid() for _ in range(3)]
        for key in after:
            transfer(conn, [(a, -100), (b, 100)], key)
    pitr.archive_now(formation)
    # The primary archives with zstd (it compresses every segment itself); the drill reads them back.
    segments = [p.name for p in (formation.backrest_repo / "archive").rglob("*") if re.match(r"[0-9A-F]{24}-", p.name)]
    assert segments and all(name.endswith(".zst") for name in segments), segments[:5]
    drill = pitr.restore_drill(formation, target, before + after)
    print(drill)
    assert drill.ok, drill
    assert drill.present == before and drill.missing == after
