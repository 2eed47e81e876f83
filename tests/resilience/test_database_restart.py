"""The server across a Postgres restart and while Postgres is down.

After a restart every idle pooled connection is dead: the pool must not hand those out
(each would cost a client a 503), /health must not say unreachable while the database is
up, and the catalogue listener must LISTEN again within about two seconds. With Postgres
down, a request must answer 503 quickly instead of hanging.

Uses the outage cluster, since it restarts and stops Postgres under a running server.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from kioskledger.ops.tokens import make_token
from kioskledger.protocol import RELOAD_CHANNEL
from tests.support.database import server_env
from tests.support.rpc_process import rpc_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def idle_server(outage_db):
    secret = secrets.token_urlsafe(32)
    env = server_env(outage_db, secret, RPC_POOL_MIN="6", RPC_POOL_MAX="12")
    with rpc_server(env) as running:
        yield running.base, outage_db, {"Authorization": "Bearer " + make_token(secret, "admin")}


def _whoami(base, hdr, timeout=30) -> httpx.Response:
    return httpx.post(base + "/rpc/whoami", headers=hdr, timeout=timeout)


def test_no_503_burst_after_a_restart(idle_server):
    base, db, hdr = idle_server
    assert _whoami(base, hdr).status_code == 200
    time.sleep(0.5)  # the pool fills up to its minimum: every connection idle
    db.cluster.restart("immediate")
    db.cluster.wait_ready()
    statuses = [_whoami(base, hdr).status_code for _ in range(10)]
    assert statuses == [200] * 10, f"dead idle connections were handed out: {statuses}"
    health = httpx.get(base + "/health", timeout=10)
    assert health.status_code == 200, health.text


def test_listener_listens_again_right_after_a_restart(idle_server):
    base, db, hdr = idle_server
    db.cluster.restart("immediate")
    db.cluster.wait_ready()
    time.sleep(2.5)  # within this, the listener has its connection and LISTENs again
    name = "test_after_restart_" + secrets.token_hex(3)
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(f"CREATE FUNCTION api.{name}() RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT '1'::jsonb $$")
        conn.execute(f"COMMENT ON FUNCTION api.{name}() IS 'test only'")
        conn.execute(f"GRANT EXECUTE ON FUNCTION api.{name}() TO admin")
        # Only the notification says so (the catalogue version is unchanged): the listener's job.
        conn.execute(f"NOTIFY {RELOAD_CHANNEL}")
    started = time.monotonic()
    wait_for(
        lambda: httpx.get(f"{base}/rpc/{name}", headers=hdr, timeout=5).status_code == 200,
        timeout=3,
        message="the reload NOTIFY after a restart",
    )
    assert time.monotonic() - started < 3


def test_database_down_answers_503_quickly(idle_server):
    base, db, hdr = idle_server
    assert _whoami(base, hdr).status_code == 200
    db.cluster.stop("immediate")
    try:

        def timed():
            started = time.monotonic()
            resp = _whoami(base, hdr)
            return resp, time.monotonic() - started

        # More requests than the pool held idle connections, all at once.
        with ThreadPoolExecutor(16) as ex:
            answers = list(ex.map(lambda _: timed(), range(16)))
        for resp, took in answers:
            assert resp.status_code == 503 and resp.json()["code"] == "DATABASE_UNAVAILABLE", resp.text
            assert "same request_id" in resp.json()["hint"]
            assert took < 3, f"a request waited {took:.1f}s for a database that is down"
    finally:
        db.cluster.start()
    wait_for(lambda: _whoami(base, hdr, timeout=5).status_code == 200, timeout=30, message="recovery")
