"""Online recharges: Checkout against the Stripe fake, signed webhooks, replays,
out-of-order deliveries, refunds and disputes."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from rpc.payments import checkout_idempotency_key
from tests.support.concurrency import at_once
from tests.support.helpers import (
    assert_ledger_invariants,
    call_as,
    card_balance,
    ensure_product,
    issue_card,
    refund_code,
    rid,
)
from tests.support.stripe_webhooks import checkout, deliver, event, new_pi, session_obj


def events_stored(db) -> int:
    return db.execute("SELECT count(*) FROM cards.stripe_events").fetchone()[0]


# --- Checkout -----------------------------------------------------------------


def test_checkout_creates_a_session_at_stripe(client, db, stripe_fake):
    card = issue_card(db)
    key = rid()
    out = checkout(client, card, 2500, key)
    assert out["session_id"].startswith("cs_test_") and out["checkout_url"].endswith(out["session_id"])
    sent = [r for r in stripe_fake.requests if r["params"].get("client_reference_id") == out["intent_id"]]
    assert len(sent) == 1
    req = sent[0]
    assert req["headers"]["Idempotency-Key"] == checkout_idempotency_key(key, out["intent_id"])
    assert req["params"]["metadata"] == {"intent_id": out["intent_id"], "card_id": card}
    item = req["params"]["line_items"]["0"]
    assert item["price_data"]["unit_amount"] == "2500" and item["price_data"]["currency"] == "eur"
    intent = db.execute(
        "SELECT status, session_id, amount FROM cards.recharge_intents WHERE intent_id = %s", [out["intent_id"]]
    ).fetchone()
    assert intent == ("open", out["session_id"], 2500)


def test_checkout_retry_returns_the_same_session(client, db, stripe_fake):
    card = issue_card(db)
    key = rid()
    first = checkout(client, card, 1000, key)
    calls = len(stripe_fake.requests)
    again = checkout(client, card, 1000, key)
    assert again == first
    assert len(stripe_fake.requests) == calls, "the stored session is returned without calling Stripe again"


def test_checkout_after_a_lost_attach_reaches_the_same_stripe_session(client, db, stripe_fake):
    """Stripe created the session but the answer never got stored (crash, timeout): the
    retry derives the same idempotency key, so Stripe hands back the same session."""
    card = issue_card(db)
    key = rid()
    first = checkout(client, card, 700, key)
    db.execute(
        "UPDATE cards.recharge_intents SET session_id = NULL, checkout_url = NULL, status = 'pending' "
        "WHERE intent_id = %s",
        [first["intent_id"]],
    )
    again = checkout(client, card, 700, key)
    assert again == first
    sent = [r for r in stripe_fake.requests if r["params"].get("client_reference_id") == first["intent_id"]]
    assert len(sent) == 2 and len({r["headers"]["Idempotency-Key"] for r in sent}) == 1
    assert sum(s["client_reference_id"] == first["intent_id"] for s in stripe_fake.sessions.values()) == 1


def test_checkout_provider_refusal_is_502_and_attaches_nothing(client, db, stripe_fake):
    card = issue_card(db)
    key = rid()
    intent = call_as(db, "anon", "SELECT api.recharge_intent_create(%s, 700, %s)", (card, key), claims={})
    # Someone used our idempotency key with other parameters: Stripe answers idempotency_error.
    stripe_fake.create_session(
        {"line_items": {"0": {"quantity": "1", "price_data": {"currency": "eur", "unit_amount": "1"}}}},
        checkout_idempotency_key(key, intent["intent_id"]),
    )
    resp = client.post("/recharge/checkout", json={"card_id": card, "amount": 700, "request_id": key})
    assert resp.status_code == 502 and resp.json()["code"] == "PAYMENT_PROVIDER_ERROR"
    assert (
        db.execute(
            "SELECT session_id FROM cards.recharge_intents WHERE intent_id = %s", [intent["intent_id"]]
        ).fetchone()[0]
        is None
    )


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"card_id": "NOPE0000", "amount": 500}, 404, "CARD_NOT_FOUND"),
        ({"card_id": "AB", "amount": 500}, 400, "INVALID_REQUEST"),
        ({"amount": 500}, 400, "INVALID_REQUEST"),
    ],
)
def test_checkout_refusals(client, body, status, code):
    resp = client.post("/recharge/checkout", json={**body, "request_id": rid()})
    assert resp.status_code == status and resp.json()["code"] == code


@pytest.mark.parametrize("amount", [0, -100, 100001, 10**20, "500"])
def test_checkout_amount_bounds(client, db, amount):
    card = issue_card(db)
    resp = client.post("/recharge/checkout", json={"card_id": card, "amount": amount, "request_id": rid()})
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST"


def test_checkout_on_a_frozen_card_declines(client, db):
    card = issue_card(db, balance=1000)
    call_as(
        db,
        "anon",
        "SELECT api.refund_request(%s, 'A B', 'a@b.cd', 'DE89370400440532013000', %s, %s)",
        (card, rid(), refund_code(card)),
        {},
    )
    resp = client.post("/recharge/checkout", json={"card_id": card, "amount": 500, "request_id": rid()})
    assert resp.status_code == 403 and resp.json()["code"] == "CARD_NOT_ACTIVE"


# --- Webhook signature ----------------------------------------------------------


@pytest.mark.parametrize("header", [None, "t=1,v1=deadbeef", "garbage"])
def test_webhook_without_valid_signature_is_400_and_stores_nothing(client, db, header):
    before = events_stored(db)
    payload = json.dumps(event("checkout.session.completed", {"id": "cs_x"})).encode()
    headers = {"Content-Type": "application/json"}
    if header:
        headers["Stripe-Signature"] = header
    resp = client.post("/webhooks/stripe", content=payload, headers=headers)
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_SIGNATURE"
    assert events_stored(db) == before


def test_webhook_signed_with_another_secret_or_stale_is_400(client, db):
    before = events_stored(db)
    ev = event("checkout.session.completed", {"id": "cs_x"})
    assert deliver(client, ev, secret="whsec_someone_else").status_code == 400
    assert deliver(client, ev, timestamp=int(time.time()) - 3600).status_code == 400
    assert events_stored(db) == before


# --- Credits ----------------------------------------------------------------------


def test_paid_session_credits_what_stripe_charged(client, db):
    card = issue_card(db)
    co = checkout(client, card, 2000)
    # Stripe charged 1800 (say a promotion): credit that, not the intent and never metadata.amount.
    resp = deliver(client, event("checkout.session.completed", session_obj(co, 1800, new_pi())))
    assert resp.status_code == 200 and resp.json()["outcome"] == "credited"
    assert card_balance(db, card) == 1800
    assert (
        db.execute("SELECT status FROM cards.recharge_intents WHERE intent_id = %s", [co["intent_id"]]).fetchone()[0]
        == "succeeded"
    )
    assert_ledger_invariants(db)


def test_async_payment_credits_once_whatever_arrives(client, db):
    card = issue_card(db)
    co = checkout(client, card, 3000)
    pi = new_pi()
    pending = deliver(client, event("checkout.session.completed", session_obj(co, 3000, pi, payment_status="unpaid")))
    assert pending.json()["outcome"] == "awaiting async payment" and card_balance(db, card) == 0
    ok = deliver(client, event("checkout.session.async_payment_succeeded", session_obj(co, 3000, pi)))
    assert ok.json()["outcome"] == "credited" and card_balance(db, card) == 3000
    # Another event id for the same payment intent (a paid `completed`) never credits twice.
    dup = deliver(client, event("checkout.session.completed", session_obj(co, 3000, pi)))
    assert dup.status_code == 200 and dup.json()["outcome"].startswith("duplicate")
    assert card_balance(db, card) == 3000


def test_redelivered_event_has_one_effect(client, db):
    card = issue_card(db)
    co = checkout(client, card, 1200)
    ev = event("checkout.session.completed", session_obj(co, 1200, new_pi()))
    outcomes = [deliver(client, ev).json()["outcome"] for _ in range(3)]
    assert outcomes == ["credited", "duplicate event", "duplicate event"]
    assert card_balance(db, card) == 1200


def test_concurrent_deliveries_credit_once(server, db):
    card = issue_card(db)
    with httpx.Client(base_url=server) as c:
        co = checkout(c, card, 4000)
    pi = new_pi()
    same = event("checkout.session.completed", session_obj(co, 4000, pi))
    events = [same] * 10 + [
        event("checkout.session.async_payment_succeeded", session_obj(co, 4000, pi)) for _ in range(10)
    ]
    responses = at_once(server, events, deliver)
    assert [r.status_code for r in responses] == [200] * len(events)
    assert sum(r.json()["outcome"] == "credited" for r in responses) == 1
    assert card_balance(db, card) == 4000
    assert_ledger_invariants(db)


def test_failed_and_expired_sessions_close_the_intent(client, db):
    card = issue_card(db)
    failed, expired = checkout(client, card, 500), checkout(client, card, 600)
    deliver(client, event("checkout.session.async_payment_failed", session_obj(failed, 500, new_pi(), "unpaid")))
    deliver(client, event("checkout.session.expired", {"id": expired["session_id"], "object": "checkout.session"}))
    rows = dict(
        db.execute(
            "SELECT intent_id::text, status FROM cards.recharge_intents WHERE intent_id::text = ANY(%s)",
            [[failed["intent_id"], expired["intent_id"]]],
        ).fetchall()
    )
    assert rows == {failed["intent_id"]: "failed", expired["intent_id"]: "expired"}
    assert card_balance(db, card) == 0


def test_unknown_event_type_is_recorded_as_ignored(client, db):
    ev = event("customer.created", {"id": "cus_1", "object": "customer"})
    resp = deliver(client, ev)
    assert resp.status_code == 200 and resp.json()["outcome"] == "ignored"
    assert (
        db.execute("SELECT outcome FROM cards.stripe_events WHERE event_id = %s", [ev["id"]]).fetchone()[0] == "ignored"
    )


# --- Refunds and disputes --------------------------------------------------------------


def test_refund_within_the_balance_debits_the_card(client, db):
    card = issue_card(db)
    co = checkout(client, card, 2000)
    pi = new_pi()
    deliver(client, event("checkout.session.completed", session_obj(co, 2000, pi)))
    resp = deliver(client, event("charge.refunded", {"object": "charge", "payment_intent": pi, "amount_refunded": 500}))
    assert resp.json()["outcome"] == "refunded"
    assert card_balance(db, card) == 1500
    # amount_refunded is cumulative: a second partial refund to 800 debits 300 more.
    deliver(client, event("charge.refunded", {"object": "charge", "payment_intent": pi, "amount_refunded": 800}))
    assert card_balance(db, card) == 1200
    assert_ledger_invariants(db)


def test_refund_beyond_the_balance_records_debt_and_blocks(client, db, token):
    ensure_product(db, "stripe-beer", 450)
    card = issue_card(db)
    co = checkout(client, card, 1000)
    pi = new_pi()
    deliver(client, event("checkout.session.completed", session_obj(co, 1000, pi)))
    call_as(
        db,
        "staff",
        'SELECT api.bar_order(%s, \'[{"product_id": "stripe-beer", "quantity": 2}]\'::jsonb, %s, \'bar-s\')',
        (card, rid()),
    )
    resp = deliver(
        client, event("charge.refunded", {"object": "charge", "payment_intent": pi, "amount_refunded": 1000})
    )
    assert resp.json()["outcome"] == "refunded with debt"
    bal = client.get("/rpc/card_balance", params={"card_id": card}).json()
    assert bal["balance"] == 0 and bal["debt"] == 900 and bal["status"] == "blocked"
    order = client.post(
        "/rpc/bar_order",
        headers={"Authorization": "Bearer " + token("staff")},
        json={
            "card_id": card,
            "items": [{"product_id": "stripe-beer", "quantity": 1}],
            "request_id": rid(),
            "point_of_sale": "b",
        },
    )
    assert order.status_code == 403 and order.json()["code"] == "CARD_NOT_ACTIVE"
    debt_view = db.execute("SELECT debt FROM cards.cards_with_debt_or_disputes WHERE card_id = %s", [card]).fetchone()
    assert debt_view == (900,)
    assert_ledger_invariants(db)


def test_refund_before_the_payment_is_applied_when_it_lands(client, db):
    card = issue_card(db)
    co = checkout(client, card, 2000)
    pi = new_pi()
    early = deliver(
        client, event("charge.refunded", {"object": "charge", "payment_intent": pi, "amount_refunded": 2000})
    )
    assert early.status_code == 200 and early.json()["outcome"].startswith("deferred")
    deliver(client, event("checkout.session.completed", session_obj(co, 2000, pi)))
    assert card_balance(db, card) == 0, "credited, then the earlier full refund taken back"
    assert_ledger_invariants(db)


def test_dispute_blocks_the_card_in_any_order(client, db):
    card, late_card = issue_card(db), issue_card(db)
    co, late = checkout(client, card, 1500), checkout(client, late_card, 1500)
    pi, late_pi = new_pi(), new_pi()
    deliver(client, event("checkout.session.completed", session_obj(co, 1500, pi)))
    resp = deliver(client, event("charge.dispute.created", {"object": "dispute", "payment_intent": pi, "amount": 1500}))
    assert resp.json()["outcome"] == "card blocked"
    early = deliver(
        client, event("charge.dispute.created", {"object": "dispute", "payment_intent": late_pi, "amount": 1500})
    )
    assert early.json()["outcome"].startswith("deferred")
    deliver(client, event("checkout.session.completed", session_obj(late, 1500, late_pi)))
    statuses = dict(
        db.execute("SELECT card_id, status FROM cards.cards WHERE card_id = ANY(%s)", [[card, late_card]]).fetchall()
    )
    assert statuses == {card: "blocked", late_card: "blocked"}
