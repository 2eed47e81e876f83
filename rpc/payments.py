"""Stripe: POST /recharge/checkout and POST /webhooks/stripe.

Python only talks to Stripe and checks signatures; what an intent is, what to credit
and when is decided by the SQL functions (api.recharge_intent_create,
api.recharge_intent_attach, api.stripe_payload_apply).

Settings: STRIPE_API_KEY (no key: checkout answers 503), STRIPE_API_BASE (a local fake
in tests), STRIPE_WEBHOOK_SECRET (whsec_..., written into .env by `make run`),
STRIPE_SUCCESS_URL / STRIPE_CANCEL_URL (where Checkout sends the customer back).
"""

from __future__ import annotations

import hashlib
import logging
import os

import orjson
import stripe
from starlette.requests import Request
from starlette.responses import Response

from . import observe
from .auth import Identity
from .dispatch import json_object
from .errors import ApiError, error_response, status_for

log = logging.getLogger("rpc.payments")

PAYMENTS = Identity("payments", "{}", None)  # internal role, never from a client token
SIGNATURE_TOLERANCE_S = 300
# What each route answers besides its functions' own codes (/openapi.json lists both; a
# test reads this module for every code it raises).
CHECKOUT_FUNCTIONS = ("recharge_intent_create", "recharge_intent_attach")
CHECKOUT_ERRORS = (
    "INVALID_REQUEST",
    "SERVICE_UNAVAILABLE",
    "PAYMENT_PROVIDER_ERROR",
    "UNAUTHENTICATED",  # a bad token (none is anon)
    "FORBIDDEN",  # a role that may not call recharge_intent_create
)
WEBHOOK_FUNCTIONS = ("stripe_payload_apply",)
WEBHOOK_ERRORS = ("INVALID_REQUEST", "INVALID_SIGNATURE", "SERVICE_UNAVAILABLE")


def _stripe_client() -> stripe.StripeClient:
    key = os.environ.get("STRIPE_API_KEY")
    if not key:
        raise ApiError("SERVICE_UNAVAILABLE", "online recharge is not configured: STRIPE_API_KEY is not set")
    base = os.environ.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        key,
        base_addresses={"api": base} if base else None,
        http_client=stripe.HTTPXClient(timeout=20),
        max_network_retries=2,
    )


def checkout_idempotency_key(request_id: str, intent_id: str) -> str:
    """Deterministic per request: a retry reaches the same Checkout Session at Stripe."""
    return "kl-recharge-" + hashlib.sha256(f"{request_id}:{intent_id}".encode()).hexdigest()[:40]


def _json(body: bytes | dict, status: int = 200) -> Response:
    return Response(body if isinstance(body, bytes) else orjson.dumps(body), status, media_type="application/json")


async def recharge_checkout(request: Request) -> Response:
    state = request.app.state.rpc
    try:
        ident = state.auth.identify(request.headers.get("authorization"))
        observe.identified(ident)
        state.check_caller("recharge_intent_create", ident)
        args = json_object(await request.body())
        client = _stripe_client()
        created = await state.call("recharge_intent_create", args, ident)
        if created.decline:
            return _json(created.body.encode(), status_for(created.decline))
        intent = orjson.loads(created.body)
        if intent["session_id"]:  # a retry after the session was stored
            return _json(
                {
                    "intent_id": intent["intent_id"],
                    "session_id": intent["session_id"],
                    "checkout_url": intent["checkout_url"],
                }
            )
        try:
            session = await client.v1.checkout.sessions.create_async(
                params=_session_params(intent),
                options={"idempotency_key": checkout_idempotency_key(args["request_id"], intent["intent_id"])},
            )
        except stripe.APIConnectionError:
            raise ApiError("SERVICE_UNAVAILABLE", "Stripe is unreachable; retry with the same request_id") from None
        except stripe.StripeError as err:
            log.warning("stripe refused a checkout session: %s", err)
            raise ApiError(
                "PAYMENT_PROVIDER_ERROR", f"Stripe refused the checkout session: {err.user_message or err}"
            ) from None
        attached = await state.call(
            "recharge_intent_attach",
            {"intent_id": intent["intent_id"], "session_id": session.id, "checkout_url": session.url},
            PAYMENTS,
        )
        stored = orjson.loads(attached.body)
        return _json(
            {
                "intent_id": stored["intent_id"],
                "session_id": stored["session_id"],
                "checkout_url": stored["checkout_url"],
            }
        )
    except ApiError as err:
        return error_response(err)


def _session_params(intent: dict) -> dict:
    meta = {"intent_id": intent["intent_id"], "card_id": intent["card_id"]}
    return {
        "mode": "payment",
        "client_reference_id": intent["intent_id"],
        "metadata": meta,
        "payment_intent_data": {"metadata": meta},
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": intent["currency"].lower(),
                    "unit_amount": intent["amount"],
                    "product_data": {"name": f"Festival card {intent['card_id']} recharge"},
                },
            }
        ],
        "success_url": os.environ.get("STRIPE_SUCCESS_URL", "http://127.0.0.1:8000/recharge/done"),
        "cancel_url": os.environ.get("STRIPE_CANCEL_URL", "http://127.0.0.1:8000/recharge/cancelled"),
    }


async def stripe_webhook(request: Request) -> Response:
    state = request.app.state.rpc
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return error_response(ApiError("SERVICE_UNAVAILABLE", "STRIPE_WEBHOOK_SECRET is not set"))
    payload = await request.body()
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), request.headers.get("stripe-signature"), secret, SIGNATURE_TOLERANCE_S
        )
        event = orjson.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, orjson.JSONDecodeError) as err:
        return error_response(ApiError("INVALID_SIGNATURE", f"webhook rejected: {err}"))
    if not isinstance(event, dict):
        return error_response(ApiError("INVALID_REQUEST", "event must be a JSON object"))
    try:
        # The body as signed, not the parsed event: SQL stores what jsonb cannot hold (\u0000).
        applied = await state.call("stripe_payload_apply", {"payload": payload.decode("utf-8")}, PAYMENTS)
    except ApiError as err:
        return error_response(err)
    return _json(applied.body.encode())
