"""The server against a database that goes away and comes back; statement timeout.

Uses the outage cluster, since it stops Postgres under a running server.
"""

from __future__ import annotations

import secrets
import time

import httpx
import psycopg
import pytest

from kioskledger.ops.tokens import make_token
from tests.support.database import server_env
from tests.support.rpc_process import rpc_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lonely_server(outage_db):
    with psycopg.connect(outage_db.url, autocommit=True) as conn:
        conn.execute("""CREATE FUNCTION api.test_slow() RETURNS jsonb LANGUAGE sql STABLE SECURITY DEFINER
                        AS $$ SELECT to_jsonb(pg_sleep(2)::text) $$""")
        conn.execute("COMMENT ON FUNCTION api.test_slow() IS 'test only: sleeps 2 s'")
        conn.execute("GRANT EXECUTE ON FUNCTION api.test_slow() TO anon")
    secret = secrets.token_urlsafe(32)
    with rpc_server(server_env(outage_db, secret, RPC_STATEMENT_TIMEOUT_MS="300")) as running:
        yield running.base, outage_db.cluster, make_token(secret, "admin")


def test_statement_timeout_cancels_a_slow_call(lonely_server):
    base, _, _ = lonely_server
    started = time.monotonic()
    resp = httpx.get(base + "/rpc/test_slow", timeout=10)
    assert time.monotonic() - started < 1.8, "cancelled by the 300 ms statement timeout, not after 2 s"
    assert resp.status_code == 504 and resp.json()["code"] == "TIMEOUT"
    assert "pg_sleep" not in resp.text


def test_database_down_is_503_and_recovers(lonely_server):
    base, cluster, token = lonely_server
    hdr = {"Authorization": "Bearer " + token}
    assert httpx.post(base + "/rpc/whoami", headers=hdr).status_code == 200
    cluster.stop("immediate")
    try:
        resp = httpx.post(base + "/rpc/whoami", headers=hdr, timeout=30)
        assert resp.status_code == 503, resp.text
        assert resp.json()["code"] == "DATABASE_UNAVAILABLE"
        health = httpx.get(base + "/health", timeout=30)
        assert health.status_code == 503 and health.json()["code"] == "DATABASE_UNAVAILABLE"
    finally:
        cluster.start()
    wait_for(
        lambda: httpx.post(base + "/rpc/whoami", headers=hdr, timeout=5).status_code == 200,
        timeout=30,
        message="the pool reconnects once Postgres is back",
    )
