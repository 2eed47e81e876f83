"""Upkeep and the alert stream across a Postgres restart: the scheduler process reconnects
and goes on running the schedule, and the server's one alert listener LISTENs again, so a
new stream hears the next change without waiting for its keep-alive poll.

Uses the outage cluster, since it restarts Postgres under running programs.
"""

from __future__ import annotations

import secrets
import time

import httpx
import psycopg
import pytest

from kioskledger.ops.tokens import make_token
from tests.support.alerts import raise_alert
from tests.support.database import server_env
from tests.support.rpc_process import rpc_server
from tests.support.sse import alerts_until
from tests.support.upkeep import make_all_due, runs, scheduler_process
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def test_the_scheduler_reconnects_after_a_restart(outage_db, tmp_path):
    with psycopg.connect(outage_db.url, autocommit=True) as db:
        make_all_due(db)
    with open(tmp_path / "scheduler.log", "w+") as log, scheduler_process(outage_db.url, tick=0.3, output=log) as proc:
        with psycopg.connect(outage_db.url, autocommit=True) as db:
            wait_for(lambda: runs(db, "rollup_balances", "scheduler"), timeout=20, message="a first run")
        outage_db.cluster.restart("immediate")
        outage_db.cluster.wait_ready()
        with psycopg.connect(outage_db.url, autocommit=True) as db:
            before = len(runs(db, "rollup_balances", "scheduler"))
            make_all_due(db)
            wait_for(lambda: len(runs(db, "rollup_balances", "scheduler")) > before, timeout=30, message="a run after")
        assert proc.poll() is None, "the scheduler died with the database"
        log.seek(0)
        assert "reconnecting" in log.read()


def test_the_alert_listener_listens_again_after_a_restart(outage_db):
    secret = secrets.token_urlsafe(32)
    # Keep-alives (and their polls) far apart: only the NOTIFY can deliver in time.
    env = server_env(outage_db, secret, RPC_EVENTS_KEEPALIVE_MS="60000")
    headers = {"Authorization": "Bearer " + make_token(secret, "admin", {"sub": "ops"})}
    with rpc_server(env) as server:
        outage_db.cluster.restart("immediate")
        outage_db.cluster.wait_ready()
        with psycopg.connect(outage_db.url, autocommit=True) as db:
            wait_for(
                lambda: db.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kioskledger-rpc-alerts' "
                    "AND query LIKE 'LISTEN%%'"
                ).fetchone()[0],
                timeout=15,
                message="the alert listener back",
            )
        with (
            httpx.Client(base_url=server.base, timeout=httpx.Timeout(10, read=20)) as client,
            client.stream("GET", "/events", headers=headers) as resp,
        ):
            assert resp.status_code == 200
            with psycopg.connect(outage_db.url, autocommit=True) as db:
                alert_id = raise_alert(db, None)
            started = time.monotonic()
            alerts_until(resp, lambda fs: any(f.alert["id"] == alert_id for f in fs), timeout=15)
            assert time.monotonic() - started < 5
