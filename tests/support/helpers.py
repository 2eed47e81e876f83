"""Shared test helpers: calling api functions as a request role, ledger invariants."""

from __future__ import annotations

import uuid

import psycopg
from psycopg.types.json import Jsonb

from kioskledger import protocol


def rid() -> str:
    return "req-" + uuid.uuid4().hex


def call_as(conn: psycopg.Connection, role: str, sql: str, params=(), claims: dict | None = None):
    """Run one statement as `role` with `claims`, in its own transaction, like the RPC does."""
    return protocol.call(conn, role, sql, params, claims if claims is not None else {"sub": f"test-{role}"})


def open_account(conn, currency="EUR", lower_bound=0, kind="test", owner_ref=None) -> int:
    res = call_as(
        conn,
        "admin",
        "SELECT api.ledger_account_open(%s, %s, %s, %s, %s)",
        (kind, owner_ref, currency, lower_bound, rid()),
    )
    return res["id"]


def transfer(conn, legs: list[tuple[int, int]], request_id: str | None = None, kind="test_transfer"):
    postings = Jsonb([{"account_id": a, "amount": n} for a, n in legs])
    return call_as(conn, "admin", "SELECT api.ledger_transfer(%s, %s, %s)", (postings, kind, request_id or rid()))


def assert_ledger_invariants(conn: psycopg.Connection) -> None:
    imbalances = conn.execute("SELECT * FROM ledger.imbalances").fetchall()
    drift = conn.execute("SELECT * FROM ledger.balance_drift").fetchall()
    assert imbalances == [], f"transfers that do not sum to zero: {imbalances}"
    assert drift == [], f"accounts whose balance differs from their postings: {drift}"
    dangling = conn.execute("SELECT * FROM ledger.dangling_postings").fetchall()
    assert dangling == [], f"postings without their transfer or account: {dangling}"


def new_card_id() -> str:
    return uuid.uuid4().hex[:8].upper()


# The refund code card_issue handed out for each card issued here (it is shown only once).
REFUND_CODES: dict[str, str] = {}


def issue_card(conn, balance: int = 0, card_id: str | None = None) -> str:
    """A fresh card, recharged with `balance` at a test checkpoint; its refund code is
    REFUND_CODES[card] (see refund_code)."""
    card = card_id or new_card_id()
    issued = call_as(conn, "staff", "SELECT api.card_issue(%s, %s)", (card, rid()))
    if "refund_code" in issued:
        REFUND_CODES[card.upper()] = issued["refund_code"]
    if balance:
        res = call_as(
            conn, "staff", "SELECT api.checkpoint_recharge(%s, %s, 'cash', 'cp-test', %s)", (card, balance, rid())
        )
        assert res["new_balance"] == balance, res
    return card


def refund_code(card: str) -> str:
    """The refund code the card got when issue_card issued it."""
    return REFUND_CODES[card.upper()]


def ensure_product(conn, product_id: str, price: int, is_deposit: bool = False) -> str:
    call_as(
        conn,
        "admin",
        "SELECT api.product_upsert(%s, %s, 'test', %s, %s, %s)",
        (product_id, product_id, price, is_deposit, rid()),
    )
    return product_id


def card_balance(conn, card: str) -> int:
    return call_as(conn, "anon", "SELECT api.card_balance(%s)", (card,))["balance"]


def assert_schema_is_snapshot(url: str, what: str = "migrated database") -> None:
    """The database's schema is migrations/schema.sql, normalized the way `make schema` writes it."""
    from kioskledger.ops import schema

    diff = schema.schema_diff(schema.SNAPSHOT.read_text(), schema.dump_schema(url), actual_name=what)
    assert not diff, f"{schema.HINT}\n\n{diff}"


def rpc_ok(client, headers: dict, function: str, /, **args):
    """POST /rpc/<function> with these arguments and a fresh request_id; the answer, or fail."""
    r = client.post(f"/rpc/{function}", json={**args, "request_id": rid()}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
