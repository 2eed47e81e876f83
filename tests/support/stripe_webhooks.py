"""Stripe as the tests speak it: Checkout through the server (against the Stripe fake),
and webhook events signed exactly as Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import httpx

from tests.conftest import STRIPE_WEBHOOK_SECRET
from tests.support.helpers import rid


def sign(payload: bytes, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def deliver(client, event: dict, **sign_kw) -> httpx.Response:
    payload = json.dumps(event).encode()
    return client.post(
        "/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, **sign_kw), "Content-Type": "application/json"},
    )


def event(kind: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or "evt_" + secrets.token_hex(8),
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def session_obj(checkout: dict, amount_total: int, pi: str, payment_status="paid", currency="eur") -> dict:
    return {
        "id": checkout["session_id"],
        "object": "checkout.session",
        "client_reference_id": checkout["intent_id"],
        "metadata": {"intent_id": checkout["intent_id"], "amount": "999999"},  # metadata is never trusted
        "amount_total": amount_total,
        "currency": currency,
        "payment_intent": pi,
        "payment_status": payment_status,
    }


def checkout(client, card: str, amount: int, request_id: str | None = None) -> dict:
    resp = client.post(
        "/recharge/checkout", json={"card_id": card, "amount": amount, "request_id": request_id or rid()}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def new_pi() -> str:
    return "pi_" + secrets.token_hex(10)
