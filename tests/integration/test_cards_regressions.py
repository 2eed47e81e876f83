"""Regression tests for what a cashless card system must rule out (negative orders, double
charges on retry, stuck idempotency keys, spending during a refund), plus the HTTP
contract of the card functions (bad types, missing fields, roles)."""

from __future__ import annotations

import pytest

from tests.support.helpers import assert_ledger_invariants, card_balance, ensure_product, issue_card, refund_code, rid


@pytest.fixture
def staff(token):
    return {"Authorization": "Bearer " + token("staff", sub="reg-staff")}


def order(client, staff, card, items, request_id=None, pos="bar-reg"):
    return client.post(
        "/rpc/bar_order",
        headers=staff,
        json={"card_id": card, "items": items, "request_id": request_id or rid(), "point_of_sale": pos},
    )


def test_return_lines_cannot_make_an_order_credit_the_card(client, staff, db):
    """A negative "return" quantity would make the total negative and credit the card."""
    ensure_product(db, "reg-beer", 450)
    ensure_product(db, "reg-cup", 200, is_deposit=True)
    card = issue_card(db, balance=1000)
    for items in (
        [{"product_id": "reg-beer", "quantity": 1}, {"product_id": "reg-cup", "quantity": -5}],
        [{"product_id": "reg-cup", "quantity": -1}],
        [{"product_id": "reg-beer", "quantity": 0}],
    ):
        resp = order(client, staff, card, items)
        assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST"
    # Deposits come back only through deposit_return, and only those paid for.
    resp = client.post(
        "/rpc/deposit_return",
        headers=staff,
        json={"card_id": card, "quantity": 5, "request_id": rid(), "point_of_sale": "bar-reg"},
    )
    assert resp.status_code == 409 and resp.json()["code"] == "DEPOSIT_NOT_OUTSTANDING"
    assert card_balance(db, card) == 1000
    assert_ledger_invariants(db)


def test_a_retry_with_the_same_request_id_after_a_timeout_charges_once(client, staff, db):
    """A retry after a client timeout must not charge twice: the key is the client's and
    required, and a retry with it replays."""
    ensure_product(db, "reg-beer", 450)
    card = issue_card(db, balance=1000)
    key = rid()
    order(client, staff, card, [{"product_id": "reg-beer", "quantity": 1}], key)  # answer "lost"
    retry = order(client, staff, card, [{"product_id": "reg-beer", "quantity": 1}], key)
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert card_balance(db, card) == 550
    missing = client.post(
        "/rpc/bar_order",
        headers=staff,
        json={"card_id": card, "items": [{"product_id": "reg-beer", "quantity": 1}], "point_of_sale": "bar-reg"},
    )
    assert missing.status_code == 400 and missing.json()["details"] == {"argument": "request_id"}


def test_an_unknown_card_leaves_no_key_behind(client, staff, db):
    """A failed call remembers nothing: a key left by an unknown card would refuse every
    later retry, even once the card exists."""
    ensure_product(db, "reg-beer", 450)
    from tests.support.helpers import new_card_id

    card, key = new_card_id(), rid()
    first = order(client, staff, card, [{"product_id": "reg-beer", "quantity": 1}], key)
    assert first.status_code == 404 and first.json()["code"] == "CARD_NOT_FOUND"
    issue_card(db, balance=1000, card_id=card)
    retry = order(client, staff, card, [{"product_id": "reg-beer", "quantity": 1}], key)
    assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
    assert card_balance(db, card) == 550


def test_a_refund_freezes_the_card_at_once(client, staff, db):
    """The refund freezes the card in the same transaction, or the holder could spend the refund."""
    ensure_product(db, "reg-beer", 450)
    card = issue_card(db, balance=1000)
    refund = client.post(
        "/rpc/refund_request",
        json={
            "card_id": card,
            "name": "Ann Example",
            "email": "ann@example.org",
            "iban": "GB82 WEST 1234 5698 7654 32",
            "request_id": rid(),
            "refund_code": refund_code(card),
        },
    )
    assert refund.status_code == 200 and refund.json()["amount"] == 800 and refund.json()["card_status"] == "frozen"
    spend = order(client, staff, card, [{"product_id": "reg-beer", "quantity": 1}])
    assert spend.status_code == 403 and spend.json()["code"] == "CARD_NOT_ACTIVE"
    assert card_balance(db, card) == 0
    assert_ledger_invariants(db)


# --- HTTP contract of the card functions ---------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("card_id", 12345678),
        ("items", "beer"),
        ("request_id", 5),
        ("point_of_sale", ["bar"]),
    ],
)
def test_bar_order_wrong_types_are_400(client, staff, db, field, value):
    ensure_product(db, "reg-beer", 450)
    body = {
        "card_id": issue_card(db, balance=1000),
        "items": [{"product_id": "reg-beer", "quantity": 1}],
        "request_id": rid(),
        "point_of_sale": "bar-reg",
    }
    body[field] = value
    resp = client.post("/rpc/bar_order", headers=staff, json=body)
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize("amount", [0, -1, 100_001, 2**63, 1.5, None])
def test_checkpoint_recharge_amounts(client, staff, db, amount):
    card = issue_card(db)
    resp = client.post(
        "/rpc/checkpoint_recharge",
        headers=staff,
        json={
            "card_id": card,
            "amount": amount,
            "payment_method": "cash",
            "checkpoint_id": "cp-1",
            "request_id": rid(),
        },
    )
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST"
    assert card_balance(db, card) == 0


@pytest.mark.parametrize(
    "fn,body,roles_ok",
    [
        ("card_issue", {"card_id": "ROLE0001"}, {"staff", "admin"}),
        ("bar_order", {"card_id": "ROLE0001", "items": [], "point_of_sale": "x"}, {"staff"}),
        (
            "checkpoint_recharge",
            {"card_id": "ROLE0001", "amount": 1, "payment_method": "cash", "checkpoint_id": "c"},
            {"staff"},
        ),
        (
            "product_upsert",
            {"product_id": "p", "name": "n", "category": "c", "price": 1, "is_deposit": False},
            {"admin"},
        ),
        ("refund_export", {}, {"admin"}),
        ("card_refund_codes_import", {"codes": [{"card_id": "ROLE0002", "refund_code": "ROLECODE2"}]}, {"admin"}),
        ("stripe_event_apply", {"event": {}}, set()),
        (
            "recharge_intent_attach",
            {"intent_id": "00000000-0000-0000-0000-000000000000", "session_id": "cs_x", "checkout_url": "u"},
            set(),
        ),
    ],
)
def test_roles(client, token, fn, body, roles_ok):
    """Only the granted roles get past the database's EXECUTE check (401 anon, 403 others);
    internal functions are reachable by no client token at all."""
    for role in ("anon", "kiosk", "staff", "operator", "admin"):
        hdr = {} if role == "anon" else {"Authorization": "Bearer " + token(role)}
        resp = client.post(
            f"/rpc/{fn}",
            headers=hdr,
            json={**body, "request_id": rid()} if fn not in ("stripe_event_apply", "recharge_intent_attach") else body,
        )
        if role in roles_ok:
            assert resp.status_code not in (401, 403), (role, resp.text)
        else:
            assert resp.status_code == (401 if role == "anon" else 403), (role, resp.text)
