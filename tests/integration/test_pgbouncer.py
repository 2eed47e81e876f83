"""The RPC server behind a real PgBouncer in transaction mode.

The pool goes through PgBouncer: requests, idempotent replays and error mapping work as
direct. The catalogue listener through PgBouncer loses its LISTEN (the session it ran in
is handed to other clients), so the server polls the catalogue version and still sees a
migrate within seconds; with RPC_LISTEN_DATABASE_URL pointing at Postgres itself it hears
the NOTIFY at once.
"""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kioskledger.ops.migrate import versioned_migrations
from kioskledger.ops.tokens import make_token
from kioskledger.protocol import RELOAD_CHANNEL
from tests.support.database import server_env
from tests.support.pgbouncer import pgbouncer, through
from tests.support.rpc_process import rpc_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

SECRET = secrets.token_urlsafe(32)
ADMIN = {"Authorization": "Bearer " + make_token(SECRET, "admin", {"sub": "bouncer-admin"})}


@pytest.fixture(scope="module")
def bouncer(migrated):
    with pgbouncer(migrated.url, migrated.rpc_url) as port:
        yield port


@pytest.fixture(scope="module")
def bounced(migrated, bouncer):
    """Everything through PgBouncer, the listener too."""
    env = server_env(migrated, SECRET, RPC_DATABASE_URL=through(migrated.rpc_url, bouncer))
    with rpc_server(env) as running:
        yield running.base


@pytest.fixture(scope="module")
def bounced_listening_direct(migrated, bouncer):
    """The pool through PgBouncer, the listener straight to Postgres."""
    env = server_env(
        migrated,
        SECRET,
        RPC_DATABASE_URL=through(migrated.rpc_url, bouncer),
        RPC_LISTEN_DATABASE_URL=migrated.rpc_url,
    )
    with rpc_server(env) as running:
        yield running.base


def _post(base, name, body, headers=ADMIN) -> httpx.Response:
    return httpx.post(f"{base}/rpc/{name}", json=body, headers=headers, timeout=10)


def _account(base, lower_bound=0) -> int:
    resp = _post(
        base,
        "ledger_account_open",
        {"kind": "test", "owner_ref": None, "currency": "EUR", "lower_bound": lower_bound, "request_id": _rid()},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["id"]


def _rid() -> str:
    return "req-" + uuid.uuid4().hex


def _add_function(db, name: str) -> None:
    db.execute(f"CREATE FUNCTION api.{name}() RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT '1'::jsonb $$")
    db.execute(f"COMMENT ON FUNCTION api.{name}() IS 'test only'")
    db.execute(f"GRANT EXECUTE ON FUNCTION api.{name}() TO admin")


def _migrate_style(db) -> str:
    """What `kioskledger migrate` does after changing sql/: a new version, then NOTIFY."""
    digest = "test-" + secrets.token_hex(8)
    db.execute("UPDATE core.repeatable_sql SET sha256 = %s, applied_at = now()", [digest])
    db.execute(f"NOTIFY {RELOAD_CHANNEL}")
    return digest


def _status(base, name) -> int:
    return httpx.get(f"{base}/rpc/{name}", headers=ADMIN, timeout=5).status_code


def test_idempotent_replay_through_pgbouncer(bounced):
    args = {"kind": "test", "owner_ref": None, "currency": "EUR", "lower_bound": 0, "request_id": _rid()}
    first = _post(bounced, "ledger_account_open", args)
    again = _post(bounced, "ledger_account_open", args)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    other = _post(bounced, "ledger_account_open", {**args, "currency": "USD"})
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_MISMATCH"


def test_concurrent_calls_through_pgbouncer_all_answer(bounced):
    # The server's connections meet PgBouncer's server connections in any pairing: a
    # statement prepared through one may be missing (or already there) through another.
    # The server notices and sends query strings; no request may fail on the way.
    def open_account(_):
        return _post(
            bounced,
            "ledger_account_open",
            {"kind": "test", "owner_ref": None, "currency": "EUR", "lower_bound": 0, "request_id": _rid()},
        )

    for _ in range(3):
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(open_account, range(48)))
        assert [a.status_code for a in answers] == [200] * 48, [a.text for a in answers if a.status_code != 200]
        assert len({a.json()["id"] for a in answers}) == 48


def test_errors_map_through_pgbouncer(bounced):
    card, house = _account(bounced), _account(bounced, lower_bound=None)
    postings = [{"account_id": card, "amount": -500}, {"account_id": house, "amount": 500}]
    declined = _post(bounced, "ledger_transfer", {"postings": postings, "kind": "test", "request_id": _rid()})
    assert declined.status_code == 402 and declined.json()["code"] == "INSUFFICIENT_FUNDS", declined.text
    missing = httpx.get(f"{bounced}/rpc/ledger_account", params={"id": 2**40}, headers=ADMIN, timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "ACCOUNT_NOT_FOUND", missing.text
    anon = _post(bounced, "ledger_account", {"id": card}, headers={})
    assert anon.status_code in (401, 405), anon.text
    assert anon.json()["code"] in ("UNAUTHENTICATED", "METHOD_NOT_ALLOWED")


def test_a_migrate_reaches_a_server_behind_pgbouncer(bounced, db):
    name = "test_bounced_" + secrets.token_hex(3)
    _add_function(db, name)
    digest = _migrate_style(db)
    wait_for(lambda: _status(bounced, name) == 200, timeout=10, message="the new function behind PgBouncer")
    health = httpx.get(bounced + "/health", timeout=10).json()
    assert health["catalogue"]["sql_sha256"] == digest
    assert health["catalogue"]["migration"] == max(m.id for m in versioned_migrations())
    # A function a migrate drops is then unknown (404), not a call to a missing function (500).
    db.execute(f"DROP FUNCTION api.{name}()")
    _migrate_style(db)
    seen = []
    wait_for(lambda: seen.append(_status(bounced, name)) or seen[-1] == 404, timeout=10, message="the dropped function")
    assert 500 not in seen, seen


def test_a_direct_listener_hears_the_notify_at_once(bounced_listening_direct, db):
    name = "test_direct_" + secrets.token_hex(3)
    _add_function(db, name)
    db.execute(f"NOTIFY {RELOAD_CHANNEL}")  # the version unchanged: only the notification tells
    wait_for(lambda: _status(bounced_listening_direct, name) == 200, timeout=2.5, message="the NOTIFY")
