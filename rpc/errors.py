"""Error code -> HTTP status, and the mapping of database errors.

The mapping is the table core.error_codes (rows: sql/00_core/20_error_codes.sql), loaded
with the function catalogue (rpc/state.py) into CODES. Body shape everywhere:
{"code", "message", "details", "hint"} (PostgREST's).
"""

from __future__ import annotations

import logging

import orjson
import psycopg
from psycopg import errors as pgerr
from starlette.responses import Response

from kioskledger.protocol import refusal

log = logging.getLogger("rpc.errors")

# The transport's bootstrap, and the only statuses written in Python: the codes the
# server answers with on its own (bad requests, tokens, the database unreachable), so it
# answers them right even before it could read core.error_codes. (Start-up loads the
# table before serving, and a failed reload keeps the last one: this is the floor.) The
# table lists these codes too, with the same statuses (tests/integration/test_error_codes.py),
# and wins once loaded.
BOOTSTRAP_STATUS = {
    "INVALID_REQUEST": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "HEADERS_TOO_LARGE": 431,
    "SERVER_ERROR": 500,
    "DATABASE_UNAVAILABLE": 503,
    "SERVICE_UNAVAILABLE": 503,
    "TIMEOUT": 504,
}
UNKNOWN_CODE_STATUS = 500


class ErrorCodes:
    """Code -> HTTP status: core.error_codes as last loaded, over the bootstrap."""

    def __init__(self):
        self._status = dict(BOOTSTRAP_STATUS)
        self._warned: set[str] = set()

    def load(self, table: dict[str, int]) -> None:
        self._status = {**BOOTSTRAP_STATUS, **table}
        self._warned = set()

    def status(self, code: str) -> int:
        status = self._status.get(code)
        if status is None:
            # An unknown decline is a bug (a code without its row), not the client's fault.
            if code not in self._warned:
                self._warned.add(code)
                log.warning(
                    "error code %s is not in core.error_codes: answering %d (add it to sql/00_core/20_error_codes.sql)",
                    code,
                    UNKNOWN_CODE_STATUS,
                )
            return UNKNOWN_CODE_STATUS
        return status


# One per process, like the catalogue it is loaded with; ApiError reads it.
CODES = ErrorCodes()


def status_for(code: str) -> int:
    return CODES.status(code)


# SQLSTATE classes that are the client's fault: 22, data exception (a value Postgres
# cannot take: unparsable or out of range, a \u0000 inside JSON, an interval overflow),
# and 54, program limit exceeded (a value too large for an index row, nesting too deep).
# The type checks (rpc/catalogue.py) catch most of these first, naming the argument.
_DATA_EXCEPTION, _PROGRAM_LIMIT = "22", "54"


# Server shutting down / not accepting connections.
_GONE_SQLSTATES = {"57P01", "57P02", "57P03"}


# A lost connection does not say whether the server committed: COMMIT may have been
# sent before it died. The request_id makes the retry safe either way.
UNAVAILABLE_HINT = (
    "the request may have committed before the connection was lost; retry with the same request_id "
    "(safe: a request that committed answers its stored result, with Idempotent-Replayed: true)"
)


class ApiError(Exception):
    def __init__(self, code: str, message: str, details=None, hint=None):
        super().__init__(message)
        self.code, self.message, self.details, self.hint = code, message, details, hint

    @property
    def status(self) -> int:
        return status_for(self.code)

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details, "hint": self.hint}


def unavailable(message: str) -> ApiError:
    """A 503 DATABASE_UNAVAILABLE, with the retry guidance every such answer carries."""
    return ApiError("DATABASE_UNAVAILABLE", message, hint=UNAVAILABLE_HINT)


def error_response(err: ApiError, headers: dict | None = None) -> Response:
    """For the Starlette routes (the /rpc hot path writes its own)."""
    return Response(orjson.dumps(err.body()), err.status, headers, media_type="application/json")


def not_allowed(role: str) -> ApiError:
    """The answer to a caller whose role may not execute the function."""
    if role == "anon":
        return ApiError(
            "UNAUTHENTICATED", "this function needs a bearer token", hint="send Authorization: Bearer <JWT>"
        )
    return ApiError("FORBIDDEN", f"role {role} may not call this function")


def from_database(err: psycopg.Error, role: str) -> ApiError:
    """Translate a database error into the API's error, without leaking internals."""
    ours = refusal(err)
    if ours is not None:
        return ApiError(ours.code, ours.message, ours.details, ours.hint)
    diag = err.diag
    if isinstance(err, pgerr.InsufficientPrivilege):
        return not_allowed(role)
    if isinstance(err, pgerr.UndefinedFunction) and (diag.message_primary or "").startswith("function api."):
        # The called api function itself is gone: a migrate dropped or changed it and the
        # catalogue's reload has not happened yet. Unknown to the database is unknown.
        return ApiError("NOT_FOUND", "no such api function (changed by a migrate)", hint="see /openapi.json")
    sqlclass = (diag.sqlstate or "")[:2]
    if sqlclass == _DATA_EXCEPTION:
        return ApiError("INVALID_REQUEST", diag.message_primary or "invalid input value")
    if sqlclass == _PROGRAM_LIMIT:
        # Its message names internals (an index, a limit's setting): not for the client.
        return ApiError("INVALID_REQUEST", "a value is too large or nests too deep for the database")
    if isinstance(err, pgerr.QueryCanceled):
        return ApiError("TIMEOUT", "the request took longer than the statement timeout")
    if isinstance(err, (pgerr.SerializationFailure, pgerr.DeadlockDetected)):
        return ApiError("CONFLICT", "concurrent update; retry with the same request_id")
    if diag.sqlstate is None or diag.sqlstate.startswith("08") or diag.sqlstate in _GONE_SQLSTATES:
        return unavailable("the database is unreachable")
    log.error("unexpected database error %s: %s", diag.sqlstate, diag.message_primary)
    return ApiError("SERVER_ERROR", "internal error")
