"""One table from error code to HTTP status, and the mapping of database errors.

Body shape everywhere: {"code", "message", "details", "hint"} (PostgREST's).
"""

from __future__ import annotations

import logging

import orjson
import psycopg
from psycopg import errors as pgerr
from starlette.responses import Response

from kioskledger.protocol import refusal

log = logging.getLogger("rpc.errors")

STATUS_BY_CODE = {
    "INVALID_REQUEST": 400,
    "UNAUTHENTICATED": 401,
    "INSUFFICIENT_FUNDS": 402,
    "PAYMENT_NOT_CONFIRMED": 402,
    "PAYMENT_REQUIRED": 402,
    "FORBIDDEN": 403,
    "CARD_NOT_ACTIVE": 403,
    "WORLD_ID_INVALID": 403,
    "PERSON_LIMIT_REACHED": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "DEPOSIT_NOT_OUTSTANDING": 409,
    "REFUND_ALREADY_REQUESTED": 409,
    "NOTHING_TO_REFUND": 409,
    "ALREADY_PAID": 409,
    "PAYMENT_ALREADY_USED": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "EXPIRED": 410,
    "IDEMPOTENCY_MISMATCH": 422,
    "SERVER_ERROR": 500,
    "DATABASE_UNAVAILABLE": 503,
    "TIMEOUT": 504,
    "SERVICE_UNAVAILABLE": 503,
    "PAYMENT_PROVIDER_ERROR": 502,
}

# SQLSTATEs raised by the database for bad input values that slipped past the type
# checks (an unparsable timestamp, an out-of-range cast, a \u0000 inside a JSON argument,
# which jsonb cannot hold): the client's fault.
_INPUT_SQLSTATES = {"22P02", "22007", "22008", "22003", "22023", "22004", "22001", "2201B", "22P05"}


# Server shutting down / not accepting connections.
_GONE_SQLSTATES = {"57P01", "57P02", "57P03"}


def status_for(code: str) -> int:
    if code in STATUS_BY_CODE:
        return STATUS_BY_CODE[code]
    if code.endswith("_NOT_FOUND"):
        return 404
    if code.endswith("_FORBIDDEN") or code.startswith("FORBIDDEN_"):
        return 403
    return 400 if code.startswith("INVALID_") else 500


class ApiError(Exception):
    def __init__(self, code: str, message: str, details=None, hint=None, status: int | None = None):
        super().__init__(message)
        self.code, self.message, self.details, self.hint = code, message, details, hint
        self.status = status or status_for(code)

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details, "hint": self.hint}


def error_response(err: ApiError, headers: dict | None = None) -> Response:
    """For the Starlette routes (the /rpc hot path writes its own)."""
    return Response(orjson.dumps(err.body()), err.status, headers, media_type="application/json")


def from_database(err: psycopg.Error, role: str) -> ApiError:
    """Translate a database error into the API's error, without leaking internals."""
    ours = refusal(err)
    if ours is not None:
        return ApiError(ours.code, ours.message, ours.details, ours.hint)
    diag = err.diag
    if isinstance(err, pgerr.InsufficientPrivilege):
        if role == "anon":
            return ApiError("UNAUTHENTICATED", "this function needs a bearer token",
                            hint="send Authorization: Bearer <JWT>")
        return ApiError("FORBIDDEN", f"role {role} may not call this function")
    if diag.sqlstate in _INPUT_SQLSTATES:
        return ApiError("INVALID_REQUEST", diag.message_primary or "invalid input value")
    if isinstance(err, pgerr.QueryCanceled):
        return ApiError("TIMEOUT", "the request took longer than the statement timeout")
    if isinstance(err, (pgerr.SerializationFailure, pgerr.DeadlockDetected)):
        return ApiError("CONFLICT", "concurrent update; retry with the same request_id")
    if diag.sqlstate is None or diag.sqlstate.startswith("08") or diag.sqlstate in _GONE_SQLSTATES:
        return ApiError("DATABASE_UNAVAILABLE", "the database is unreachable")
    log.error("unexpected database error %s: %s", diag.sqlstate, diag.message_primary)
    return ApiError("SERVER_ERROR", "internal error")
