"""A write that lands on a read-only server (a primary demoted to standby under a pooled
connection, mid-failover) is a retryable 503, and the pool drops that connection, so the
next request reconnects and finds a server that takes writes. A GET stays a read.

The server is made read-only for the pool's role in this module's database only
(default_transaction_read_only), which is what a standby answers a write with: 25006.
"""

from __future__ import annotations

import secrets

import httpx
import psycopg
import pytest

from kioskledger.ops.tokens import make_token
from tests.support.database import server_env
from tests.support.helpers import rid
from tests.support.rpc_process import rpc_server


@pytest.fixture(scope="module")
def read_only_server(migrated):
    def role_setting(sql: str) -> None:
        with psycopg.connect(migrated.url, autocommit=True) as conn:
            conn.execute(f'ALTER ROLE authenticator IN DATABASE "{migrated.name}" {sql}')

    role_setting("SET default_transaction_read_only = on")
    secret = secrets.token_urlsafe(32)
    try:
        with rpc_server(server_env(migrated, secret, RPC_POOL_MIN="1", RPC_POOL_MAX="1")) as running:
            yield running.base, {"Authorization": "Bearer " + make_token(secret, "staff")}, role_setting
    finally:
        role_setting("RESET default_transaction_read_only")


def test_a_write_on_a_read_only_server_is_a_retryable_503_and_the_connection_is_dropped(read_only_server):
    base, headers, role_setting = read_only_server
    card = "RO" + secrets.token_hex(3).upper()
    body = {"card_id": card, "request_id": rid()}
    resp = httpx.post(f"{base}/rpc/card_issue", json=body, headers=headers, timeout=10)
    assert resp.status_code == 503, resp.text
    assert resp.json()["code"] == "DATABASE_UNAVAILABLE" and "same request_id" in resp.json()["hint"]
    # Reads still answer on it.
    balance = httpx.get(f"{base}/rpc/card_balance", params={"card_id": card}, timeout=10)
    assert balance.status_code == 404, balance.text

    role_setting("RESET default_transaction_read_only")  # "the primary is back": new connections write
    # The pool holds one connection, opened read-only before the reset; a kept read-only
    # connection would answer 503 to every retry. Dropped, the retry after it writes.
    statuses = []
    while not statuses or statuses[-1] == 503:
        assert len(statuses) < 3, statuses
        resp = httpx.post(f"{base}/rpc/card_issue", json=body, headers=headers, timeout=10)
        statuses.append(resp.status_code)
    assert statuses[-1] == 200, resp.text
    balance = httpx.get(f"{base}/rpc/card_balance", params={"card_id": card}, timeout=10)
    assert balance.status_code == 200 and balance.json()["balance"] == 0
