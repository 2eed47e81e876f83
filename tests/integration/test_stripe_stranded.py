"""Stripe payments that used to be stranded or answered 500 on every redelivery: a
payment landing on a frozen or blocked card, a second Checkout Session for an intent
already paid, a text field holding \\u0000. Every one goes through the real webhook
route with a real signature, and the money always ends where a path can move it."""

from __future__ import annotations

import hashlib
import json

from tests.support.helpers import assert_ledger_invariants, call_as, card_balance, issue_card, rid
from tests.support.stripe_webhooks import checkout, deliver, event, new_pi, session_obj, sign

IBAN = "FR1420041010050500013M02606"


def house_balance(db, kind: str) -> int:
    return db.execute(
        "SELECT coalesce(sum(balance), 0) FROM ledger.account_balances WHERE kind = %s AND currency = 'EUR'", [kind]
    ).fetchone()[0]


def request_refund(db, card: str) -> dict:
    return call_as(
        db, "staff", "SELECT api.refund_request(%s, 'Ann Holder', 'a@example.com', %s, %s)", (card, IBAN, rid())
    )


def held_rows(db, card: str) -> list[tuple]:
    return db.execute(
        "SELECT reason, amount, remaining FROM cards.open_held_payments WHERE card_id = %s ORDER BY held_id", [card]
    ).fetchall()


# --- Item: a payment landing on a card that is not active ----------------------


def test_payment_on_a_card_frozen_for_a_pending_refund_grows_the_refund(client, db):
    card = issue_card(db, balance=1000)
    co = checkout(client, card, 2500)  # the holder paid online, then asked for a refund
    refund = request_refund(db, card)
    assert refund["amount"] == 800
    payable = house_balance(db, "refunds_payable")
    resp = deliver(client, event("checkout.session.completed", session_obj(co, 2500, new_pi())))
    assert resp.status_code == 200 and resp.json()["outcome"] == "credited: added to pending refund"
    amount = db.execute("SELECT amount FROM cards.refund_requests WHERE card_id = %s", [card]).fetchone()[0]
    assert amount == 800 + 2500
    assert house_balance(db, "refunds_payable") == payable + 2500
    assert card_balance(db, card) == 0, "nothing left on a card that can neither spend nor refund"
    assert_ledger_invariants(db)


def test_payment_after_the_refund_was_exported_is_held_and_alerted(client, admin_headers, db):
    db.execute("UPDATE core.settings SET value = '\"Festival Ops\"' WHERE key = 'cards.refund_debtor_name'")
    db.execute("UPDATE core.settings SET value = '\"DE02120300000000202051\"' WHERE key = 'cards.refund_debtor_iban'")
    card = issue_card(db, balance=1000)
    co = checkout(client, card, 1200)
    request_refund(db, card)
    assert client.post("/rpc/refund_export", headers=admin_headers, json={"request_id": rid()}).status_code == 200
    held_before = house_balance(db, "held_payments")
    pi = new_pi()
    resp = deliver(client, event("checkout.session.completed", session_obj(co, 1200, pi)))
    assert resp.status_code == 200 and resp.json()["outcome"].startswith("held:")
    assert db.execute("SELECT amount FROM cards.refund_requests WHERE card_id = %s", [card]).fetchone()[0] == 800
    assert held_rows(db, card) == [("refund_already_exported", 1200, 1200)]
    assert house_balance(db, "held_payments") == held_before + 1200 and card_balance(db, card) == 0
    # The way out: the operator refunds the payment at Stripe; its charge.refunded releases the hold.
    back = deliver(
        client, event("charge.refunded", {"object": "charge", "payment_intent": pi, "amount_refunded": 1200})
    )
    assert back.json()["outcome"] == "refunded"
    assert held_rows(db, card) == [] and house_balance(db, "held_payments") == held_before
    assert card_balance(db, card) == 0 and call_as(db, "anon", "SELECT api.card_balance(%s)", (card,))["debt"] == 0
    assert_ledger_invariants(db)


def test_payment_on_a_blocked_card_pays_its_debt_first_then_is_held(client, db):
    card = issue_card(db)
    first, second = checkout(client, card, 1000), checkout(client, card, 3000)
    pi = new_pi()
    deliver(client, event("checkout.session.completed", session_obj(first, 1000, pi)))
    db.execute(  # spend 900 of it, then Stripe refunds the whole 1000: 900 of debt, card blocked
        "SELECT ledger.post_transfer('test_spend', ARRAY[c.account_id, ledger.house_account('bar_revenue', 't', 'EUR')],"
        " ARRAY[-900, 900]::bigint[]) FROM cards.cards c WHERE c.card_id = %s",
        [card],
    )
    deliver(client, event("charge.refunded", {"object": "charge", "payment_intent": pi, "amount_refunded": 1000}))
    assert call_as(db, "anon", "SELECT api.card_balance(%s)", (card,))["debt"] == 900
    debt_before = house_balance(db, "card_debt")
    resp = deliver(client, event("checkout.session.completed", session_obj(second, 3000, new_pi())))
    assert resp.status_code == 200 and resp.json()["outcome"] == "held: card blocked (debt of 900 paid first)"
    bal = call_as(db, "anon", "SELECT api.card_balance(%s)", (card,))
    assert bal["debt"] == 0 and bal["balance"] == 0 and bal["status"] == "blocked"
    assert house_balance(db, "card_debt") == debt_before + 900
    assert held_rows(db, card) == [("card_blocked", 2100, 2100)]
    assert db.execute(
        "SELECT count(*) FROM cards.cards_with_debt_or_disputes WHERE card_id = %s", [card]
    ).fetchone() == (0,)
    assert_ledger_invariants(db)


def test_checkpoint_recharge_on_a_frozen_card_is_declined_and_moves_nothing(client, db, token):
    card = issue_card(db, balance=1000)
    request_refund(db, card)
    resp = client.post(
        "/rpc/checkpoint_recharge",
        headers={"Authorization": "Bearer " + token("staff")},
        json={"card_id": card, "amount": 500, "payment_method": "cash", "checkpoint_id": "cp-1", "request_id": rid()},
    )
    assert resp.status_code == 403 and resp.json()["code"] == "CARD_NOT_ACTIVE"
    assert card_balance(db, card) == 0
    assert db.execute("SELECT count(*) FROM cards.recharges WHERE card_id = %s", [card]).fetchone()[0] == 1
    assert_ledger_invariants(db)


# --- Item: events that could never apply ------------------------------------


def test_nul_in_a_text_field_still_credits_and_keeps_the_raw_payload(client, db):
    card = issue_card(db)
    co = checkout(client, card, 1700)
    obj = session_obj(co, 1700, new_pi())
    obj["customer_details"] = {"name": "Eve\u0000Null", "email": "e@example.com"}
    ev = event("checkout.session.completed", obj)
    payload = json.dumps(ev).encode()
    assert b"\\u0000" in payload
    headers = {"Content-Type": "application/json"}
    for _ in range(2):  # Stripe redelivers until it gets a 2xx
        resp = client.post("/webhooks/stripe", content=payload, headers={**headers, "Stripe-Signature": sign(payload)})
        assert resp.status_code == 200, resp.text
    assert card_balance(db, card) == 1700
    stored = db.execute(
        "SELECT outcome, payload #>> '{data,object,customer_details,name}', payload_sha256, raw_payload "
        "FROM cards.stripe_events WHERE event_id = %s",
        [ev["id"]],
    ).fetchone()
    assert stored[0] == "credited" and stored[1] == "Eve\ufffdNull"
    assert bytes(stored[2]) == hashlib.sha256(payload).digest() and stored[3] == payload.decode()
    assert_ledger_invariants(db)


def test_a_second_session_for_a_paid_intent_is_recorded_and_held(client, db):
    card = issue_card(db)
    co = checkout(client, card, 2000)
    deliver(client, event("checkout.session.completed", session_obj(co, 2000, new_pi())))
    # The README's stripe-event command run twice: same intent (and stored session), a new payment.
    again = deliver(client, event("checkout.session.completed", session_obj(co, 2000, new_pi())))
    assert again.status_code == 200 and again.json()["outcome"].startswith("duplicate_session")
    # And a session the intent never had, carrying its id.
    other = dict(session_obj(co, 2000, new_pi()), id="cs_test_other_" + rid()[-8:])
    third = deliver(client, event("checkout.session.completed", other))
    assert third.status_code == 200 and third.json()["outcome"].startswith("duplicate_session")
    assert card_balance(db, card) == 2000, "the intent is credited once"
    assert held_rows(db, card) == [("duplicate_session", 2000, 2000), ("duplicate_session", 2000, 2000)]
    assert_ledger_invariants(db)
