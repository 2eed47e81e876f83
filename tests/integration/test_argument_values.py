"""Values no function can use - a \\u0000 inside JSON, JSON nested hundreds deep, an
interval that overflows, text longer than an index row holds, an infinite timestamp -
are a 400 naming the argument, and change nothing; never a 500."""

from __future__ import annotations

import secrets

import orjson
import pytest

from tests.support.helpers import rid


def assert_bad_argument(resp, argument: str):
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "INVALID_REQUEST", body
    assert body["details"] == {"argument": argument}, body
    return body


def nested(depth: int):
    return orjson.loads("[" * depth + "]" * depth)


@pytest.fixture(scope="module")
def admin(token):
    return {"Authorization": "Bearer " + token("admin", sub="values-admin")}


@pytest.fixture(scope="module")
def checkout_kiosk(server, admin, token):
    import httpx

    kiosk_id = "values_" + secrets.token_hex(3)
    resp = httpx.post(
        server + "/rpc/checkout_kiosk_register",
        json={"kiosk_id": kiosk_id, "name": "values", "location": "test", "request_id": rid()},
        headers=admin,
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": "Bearer " + token("kiosk", sub=f"kiosk:{kiosk_id}", kiosk_id=kiosk_id)}


def transfer(client, admin, **overrides):
    args = {"postings": [], "kind": "test", "request_id": rid(), "metadata": {}}
    return client.post("/rpc/ledger_transfer", json={**args, **overrides}, headers=admin)


@pytest.mark.parametrize(
    "value", [{"note": "a\u0000b"}, {"a\u0000": 1}, [{"deep": ["x", "\u0000"]}]], ids=["value", "key", "nested"]
)
def test_a_nul_inside_a_jsonb_argument_is_400_naming_it(client, admin, value):
    assert_bad_argument(transfer(client, admin, metadata=value), "metadata")
    assert_bad_argument(transfer(client, admin, postings=value), "postings")


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client, admin):
    # The JSON text "\\u0000" is a backslash and "u0000": a fine string, refused only by
    # the transfer's own rules (no postings), not as a NUL.
    body = transfer(client, admin, metadata={"note": "\\u0000"}).json()
    assert body["details"] != {"argument": "metadata"}, body


@pytest.mark.parametrize("depth", [33, 300])
def test_json_nested_too_deep_is_400_naming_the_argument(client, admin, depth):
    assert_bad_argument(transfer(client, admin, metadata={"a": nested(depth - 1)}), "metadata")


def test_an_interval_that_overflows_is_400_naming_it(client, admin):
    for value in ("999999999999 years", "not an interval"):
        assert_bad_argument(
            client.post("/rpc/machines_summary", json={"recent_within": value}, headers=admin), "recent_within"
        )
        assert_bad_argument(
            client.get("/rpc/machines_summary", params={"recent_within": value}, headers=admin), "recent_within"
        )
    assert client.post("/rpc/machines_summary", json={"recent_within": "1 day"}, headers=admin).status_code == 200


def accounts(db) -> int:
    return db.execute("SELECT count(*) FROM ledger.accounts").fetchone()[0]


def test_text_too_long_is_400_and_opens_nothing(client, admin, db):
    before = accounts(db)
    args = {"kind": "values_test", "currency": "EUR", "lower_bound": 0}
    # Over the text limit: refused before the database, naming the argument.
    resp = client.post(
        "/rpc/ledger_account_open",
        json={**args, "owner_ref": secrets.token_hex(4500), "request_id": rid()},
        headers=admin,
    )
    assert_bad_argument(resp, "owner_ref")
    # Under it, but more than an index row holds (SQLSTATE 54000): still the client's 400.
    resp = client.post(
        "/rpc/ledger_account_open",
        json={**args, "owner_ref": secrets.token_hex(2000), "request_id": rid()},
        headers=admin,
    )
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST", resp.text
    assert "index" not in resp.text, "no internals in the answer"
    assert accounts(db) == before


@pytest.mark.parametrize("value", ["infinity", "-infinity", " +Infinity "])
def test_an_infinite_backlog_timestamp_is_400_and_the_dashboard_keeps_working(client, admin, checkout_kiosk, value):
    hb = client.post("/rpc/kiosk_heartbeat", json={"link_up": True, "pending_orders": 3}, headers=checkout_kiosk)
    assert hb.status_code == 200, hb.text
    resp = client.post("/rpc/checkout_backlog", json={"oldest_pending_at": value}, headers=checkout_kiosk)
    assert_bad_argument(resp, "oldest_pending_at")
    assert client.get("/rpc/dashboard_kiosks", headers=admin).status_code == 200
    assert client.get("/rpc/dashboard_overview", headers=admin).status_code == 200
    ok = client.post(
        "/rpc/checkout_backlog", json={"oldest_pending_at": "2026-01-01T00:00:00Z"}, headers=checkout_kiosk
    )
    assert ok.status_code == 200, ok.text


def test_non_finite_numbers_are_not_json(client, admin):
    for text in (b'{"lower_bound": NaN}', b'{"lower_bound": Infinity}', b'{"lower_bound": 1e400}'):
        resp = client.post("/rpc/ledger_account_open", content=text, headers=admin)
        assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST", resp.text


def test_the_backlog_table_holds_only_finite_times(db, checkout_kiosk):
    # Callers other than the RPC (a kiosk agent on SQL) meet the table's own check.
    import psycopg

    (kiosk_id,) = db.execute("SELECT kiosk_id FROM kiosk.kiosks WHERE kind = 'checkout' LIMIT 1").fetchone()
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO checkout.edge_backlog (kiosk_id, oldest_pending_at) VALUES (%s, 'infinity') "
            "ON CONFLICT (kiosk_id) DO UPDATE SET oldest_pending_at = excluded.oldest_pending_at",
            (kiosk_id,),
        )


def test_the_smallest_integer_of_each_type_is_a_value_like_any_other(client, admin):
    """Bound client-side, -9223372036854775808 is the literal ` -9223372036854775808`: cast
    unparenthesised, `-9223372036854775808::bigint` negates an overflowing bigint (found by
    tests/integration/test_schemathesis.py)."""
    for send in (
        lambda: client.get("/rpc/ledger_account", params={"id": -(2**63)}, headers=admin),
        lambda: client.post("/rpc/ledger_account", json={"id": -(2**63)}, headers=admin),
    ):
        resp = send()
        assert resp.status_code == 404, resp.text
    resp = client.post("/rpc/card_history", json={"card_id": "NOCARD01", "limit": -(2**31)}, headers=admin)
    assert_bad_argument(resp, "limit")
