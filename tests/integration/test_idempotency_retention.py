"""A request_id whose idempotency record the retention cleanup removed: a retry with it is
a clear 409 REQUEST_ID_EXPIRED that changes nothing - never a 500 from the ledger's unique
transfer key, and never the money moved a second time."""

from __future__ import annotations

import pytest

from tests.support.helpers import (
    assert_ledger_invariants,
    card_balance,
    ensure_product,
    issue_card,
    open_account,
    rid,
)


@pytest.fixture
def staff(token):
    return {"Authorization": "Bearer " + token("staff", sub="retention-staff")}


def forget_all_keys(db):
    with db.transaction():
        db.execute("SELECT core.idempotency_cleanup('0')")


def assert_expired(resp):
    assert resp.status_code == 409, resp.text
    body = resp.json()
    assert body["code"] == "REQUEST_ID_EXPIRED" and body["hint"], body
    assert "Idempotent-Replayed" not in resp.headers


def balances(db, *ids):
    return [db.execute("SELECT ledger.balance_of(%s)", (i,)).fetchone()[0] for i in ids]


def ledger_transfer(client, headers, src, dst, key):
    return client.post(
        "/rpc/ledger_transfer",
        headers=headers,
        json={
            "postings": [{"account_id": src, "amount": -300}, {"account_id": dst, "amount": 300}],
            "kind": "retention_test",
            "request_id": key,
        },
    )


def test_ledger_transfer_retried_after_cleanup_is_409_and_books_once(client, admin_headers, db):
    src, dst = open_account(db, lower_bound=None), open_account(db)
    key = rid()
    assert ledger_transfer(client, admin_headers, src, dst, key).status_code == 200
    forget_all_keys(db)
    assert_expired(ledger_transfer(client, admin_headers, src, dst, key))
    assert balances(db, src, dst) == [-300, 300]
    # Still refused on the next try (the refusal stores nothing), and a new key works.
    assert_expired(ledger_transfer(client, admin_headers, src, dst, key))
    assert ledger_transfer(client, admin_headers, src, dst, rid()).status_code == 200
    assert balances(db, src, dst) == [-600, 600]
    assert_ledger_invariants(db)


def test_keys_cleaned_before_tombstones_existed_still_get_a_409_not_a_500(client, admin_headers, db):
    # A database whose keys were cleaned by the earlier cleanup has no record of them: the
    # ledger's transfer key is what remains, and it answers the same 409.
    src, dst = open_account(db, lower_bound=None), open_account(db)
    key = rid()
    assert ledger_transfer(client, admin_headers, src, dst, key).status_code == 200
    forget_all_keys(db)
    with db.transaction():
        db.execute("DELETE FROM core.idempotency_expired")
    assert_expired(ledger_transfer(client, admin_headers, src, dst, key))
    assert balances(db, src, dst) == [-300, 300]


def test_bar_order_retried_after_cleanup_is_409_and_charges_once(client, staff, db):
    ensure_product(db, "ret-beer", 450)
    card = issue_card(db, balance=1000)
    body = {"card_id": card, "items": [{"product_id": "ret-beer", "quantity": 1}], "point_of_sale": "bar-ret"}
    key = rid()
    assert client.post("/rpc/bar_order", headers=staff, json={**body, "request_id": key}).status_code == 200
    assert card_balance(db, card) == 550
    forget_all_keys(db)
    assert_expired(client.post("/rpc/bar_order", headers=staff, json={**body, "request_id": key}))
    assert card_balance(db, card) == 550
    assert_ledger_invariants(db)


def test_another_caller_may_use_an_expired_key_of_someone_else(client, staff, token, db):
    # Keys are per caller: a key that expired for one staff member is new for another.
    ensure_product(db, "ret-beer", 450)
    card = issue_card(db, balance=1000)
    body = {"card_id": card, "items": [{"product_id": "ret-beer", "quantity": 1}], "point_of_sale": "bar-ret"}
    key = rid()
    assert client.post("/rpc/bar_order", headers=staff, json={**body, "request_id": key}).status_code == 200
    forget_all_keys(db)
    other = {"Authorization": "Bearer " + token("staff", sub="retention-staff-2")}
    assert client.post("/rpc/bar_order", headers=other, json={**body, "request_id": key}).status_code == 200
    assert card_balance(db, card) == 100
