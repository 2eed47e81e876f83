"""kioskledger stripe-event: send a signed Stripe test event to a running server.

For trying the webhook locally without Stripe: it builds the event a real Stripe
account would send for a recharge intent, signs it with STRIPE_WEBHOOK_SECRET the way
Stripe does (Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.payload")) and POSTs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import httpx


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def build_event(kind: str, intent: dict, amount: int | None, payment_intent: str | None) -> dict:
    pi = payment_intent or "pi_test_" + secrets.token_hex(8)
    charged = amount if amount is not None else intent["amount"]
    if kind.startswith("checkout.session."):
        obj = {
            "id": intent.get("session_id") or "cs_test_" + secrets.token_hex(8),
            "object": "checkout.session",
            "client_reference_id": str(intent["intent_id"]),
            "metadata": {"intent_id": str(intent["intent_id"])},
            "amount_total": charged,
            "currency": intent["currency"].lower(),
            "payment_intent": pi,
            "payment_status": "paid" if kind != "checkout.session.async_payment_failed" else "unpaid",
        }
    elif kind == "charge.refunded":
        obj = {
            "id": "ch_test_" + secrets.token_hex(8),
            "object": "charge",
            "payment_intent": pi,
            "amount_refunded": charged,
        }
    elif kind == "charge.dispute.created":
        obj = {"id": "dp_test_" + secrets.token_hex(8), "object": "dispute", "payment_intent": pi, "amount": charged}
    else:
        obj = {"id": "obj_test_" + secrets.token_hex(8)}
    return {
        "id": "evt_test_" + secrets.token_hex(10),
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def load_intent(database_url: str, intent_id: str) -> dict:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT intent_id, card_id, amount, currency, session_id FROM cards.recharge_intents "
            "WHERE intent_id::text = %s",
            [intent_id],
        ).fetchone()
    if row is None:
        raise SystemExit(f"no recharge intent {intent_id}")
    return row


def send(url: str, secret: str, event: dict) -> httpx.Response:
    payload = json.dumps(event).encode()
    return httpx.post(
        url.rstrip("/") + "/webhooks/stripe",
        content=payload,
        timeout=30,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature_header(payload, secret)},
    )
