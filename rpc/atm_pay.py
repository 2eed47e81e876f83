"""POST /atm/pay - the mini app pays an ATM transaction.

1. verify the World ID proof, its signal bound to this transaction id;
2. look the World App payment up;
3. call api.atm_pay with the verified facts - one SQL function decides and acts.
Verifier or lookup unreachable -> 503 and nothing changes.
"""

from __future__ import annotations

import logging
import uuid

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .auth import ANON
from .dispatch import json_object
from .errors import ApiError, error_response, status_for
from .payments import PAYMENTS
from .worldid import PaymentFacts, WorldClient

log = logging.getLogger("rpc.atm")
WORLD_ID_FIELDS = ("proof", "merkle_root", "nullifier_hash", "verification_level")
# What the route answers besides its functions' own codes (/openapi.json lists both; a
# test reads this module and rpc/worldid.py for every code they raise).
FUNCTIONS = ("atm_transaction_status", "atm_pay")
ERRORS = ("INVALID_REQUEST", "WORLD_ID_INVALID", "SERVICE_UNAVAILABLE")


def _string(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise ApiError("INVALID_REQUEST", f"{where}{key} must be a non-empty string", details={"argument": where + key})
    return value


def parse(body: dict) -> tuple[str, dict, str, str]:
    tx_id = _string(body, "transaction_id", "")
    try:
        uuid.UUID(tx_id)
    except ValueError:
        raise ApiError(
            "INVALID_REQUEST", "transaction_id must be a UUID", details={"argument": "transaction_id"}
        ) from None
    world_id, payment = body.get("world_id"), body.get("payment")
    if not isinstance(world_id, dict):
        raise ApiError("INVALID_REQUEST", "world_id must be an object", details={"argument": "world_id"})
    if not isinstance(payment, dict):
        raise ApiError("INVALID_REQUEST", "payment must be an object", details={"argument": "payment"})
    proof = {k: _string(world_id, k, "world_id.") for k in WORLD_ID_FIELDS}
    payment_id = _string(payment, "transaction_id", "payment.")
    request_id = _string(body, "request_id", "")
    unknown = set(body) - {"transaction_id", "world_id", "payment", "request_id"}
    if unknown:
        raise ApiError(
            "INVALID_REQUEST", f"unknown field {sorted(unknown)[0]!r}", details={"argument": sorted(unknown)[0]}
        )
    return tx_id, proof, payment_id, request_id


async def atm_pay(request: Request) -> Response:
    state = request.app.state.rpc
    cfg, client = state.world_config, WorldClient(state.world_config, state.http)
    try:
        tx_id, proof, payment_id, request_id = parse(json_object(await request.body()))
        cfg.require_configured()
        tx = orjson.loads((await state.call("atm_transaction_status", {"id": tx_id}, ANON)).body)
        if cfg.dev_mode:
            facts = PaymentFacts(payment_id, "mined", tx["payment_reference"], tx["total"])
        else:
            await client.verify_proof(proof, signal=tx_id)
            facts = await client.lookup_payment(payment_id)
        result = await state.call(
            "atm_pay",
            {
                "transaction_id": tx_id,
                "nullifier_hash": proof["nullifier_hash"],
                "world_payment_id": facts.payment_id,
                "payment_status": facts.status,
                "payment_reference": facts.reference,
                "paid_amount": facts.paid_cents,
                "request_id": request_id,
            },
            PAYMENTS,
        )
    except ApiError as err:
        return error_response(err)
    status = status_for(result.decline) if result.decline else 200
    return Response(
        result.body.encode(),
        status,
        {"Idempotent-Replayed": "true"} if result.replayed else None,
        media_type="application/json",
    )
