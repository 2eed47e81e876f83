"""OpenAPI 3.1 generated from the function catalogue: names, types, roles, COMMENTs, and
from core.api_schemas the JSON Schemas of results and jsonb arguments, the arguments'
constraints and declared error codes (sql/<domain>/95_schemas.sql)."""

from __future__ import annotations

from typing import Any

from . import atm_pay, payments
from .auth import REQUEST_ROLES
from .catalogue import _INT_RANGES, BULK_TEXT, PARSED_MAX, TEXT_MAX, Arg, Function
from .errors import status_for
from .limits import MAX_BODY

_ERROR = {"$ref": "#/components/schemas/Error"}
JSON = "application/json"

# What any call can answer besides its function's own codes: the transport's refusals.
_ALWAYS = ("INVALID_REQUEST", "PAYLOAD_TOO_LARGE", "HEADERS_TOO_LARGE", "DATABASE_UNAVAILABLE", "TIMEOUT")
# A bug, never part of the contract (the server answers it and logs the cause).
_UNDOCUMENTED = {"SERVER_ERROR"}
# Every string argument refuses a NUL (catalogue._checker: Postgres text cannot hold one).
NO_NUL = "^[^\\x00]*$"
_FORMATS = {
    "uuid": "uuid",
    "timestamp with time zone": "date-time",
    "timestamp without time zone": "date-time",
    "date": "date",
}

_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "true when this is the stored answer to an earlier request with the same request_id",
        "schema": {"const": "true"},
    }
}
_ETAG = {
    "ETag": {
        "description": "strong validator of this answer for this caller; send it back in If-None-Match",
        "schema": {"type": "string"},
    }
}


def _type_schema(fn_name: str, arg: Arg) -> dict:
    """What the server's argument check (catalogue._checker) lets through for the type."""
    pgtype = arg.pgtype
    if pgtype in _INT_RANGES:
        lo, hi = _INT_RANGES[pgtype]
        return {"type": "integer", "minimum": lo, "maximum": hi}
    if arg.json_type == "any":
        return {}
    schema: dict[str, Any] = {"type": arg.json_type}
    if arg.json_type == "string":
        if pgtype in _FORMATS:
            schema["format"] = _FORMATS[pgtype]
        elif (fn_name, arg.name) in BULK_TEXT:
            schema["maxLength"] = MAX_BODY
        else:
            schema["maxLength"] = TEXT_MAX if pgtype in ("text", "character varying") else PARSED_MAX
        if "format" not in schema:
            schema["pattern"] = NO_NUL  # a declared pattern (a narrower one) replaces it
    return schema


def _arg_schema(fn: Function, arg: Arg) -> dict:
    declared = dict(fn.schemas.get(arg.name) or {})
    schema = {**_type_schema(fn.name, arg), **declared}
    if "type" not in declared and not arg.required and arg.accepts_null and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if "type" not in declared and not arg.required and arg.accepts_null and not schema:
        schema = {}  # any JSON value, null included
    # The description is the Postgres type alone (tests/integration/test_api_sweep.py
    # reads it); a declared note on the value goes to the title.
    if declared.get("description"):
        schema["title"] = declared["description"]
    schema["description"] = f"Postgres type {arg.pgtype}"
    return schema


def _responses(fn: Function, method: str, statuses: dict[str, int]) -> dict:
    replayable = any(a.name == "request_id" for a in fn.args)
    ok: dict[str, Any] = {
        "description": "the function's result"
        + ("" if "result" in fn.schemas else " (its schema is not declared yet)"),
        "content": {JSON: {"schema": fn.schemas.get("result", {})}},
    }
    if method == "get":
        ok["headers"] = _ETAG
    elif replayable:
        ok["headers"] = _REPLAYED
    responses: dict[str, Any] = {"200": ok}
    if method == "get":
        responses["304"] = {"description": "not modified (If-None-Match matched the ETag)", "headers": _ETAG}

    codes = set(_ALWAYS) | fn.error_codes
    if "anon" not in fn.roles:
        codes.add("UNAUTHENTICATED")
    if set(fn.roles) != set(REQUEST_ROLES):
        codes.add("FORBIDDEN")
    # A decline is stored under the request_id and replayed like a success.
    responses.update(_error_responses(codes, statuses, _REPLAYED if replayable and method == "post" else None))
    return responses


def _error_responses(codes: set[str], statuses: dict[str, int], headers: dict | None = None) -> dict:
    """One response per HTTP status (core.error_codes) with the codes that answer it."""
    by_status: dict[int, list[str]] = {}
    for code in sorted(codes - _UNDOCUMENTED):
        by_status.setdefault(statuses.get(code) or status_for(code), []).append(code)
    responses: dict[str, Any] = {}
    for status, listed in sorted(by_status.items()):
        response: dict[str, Any] = {
            "description": ", ".join(listed),
            "content": {
                JSON: {"schema": {"allOf": [_ERROR, {"properties": {"code": {"enum": listed}}}]}},
            },
        }
        if headers:
            response["headers"] = headers
        responses[str(status)] = response
    return responses


def _route_errors(functions: dict[str, Function], called: tuple[str, ...], own: tuple[str, ...], statuses) -> dict:
    """A route's error responses: the codes it answers itself, those of the functions it
    calls, and the transport's."""
    codes = set(_ALWAYS) | set(own)
    for name in called:
        if name in functions:
            codes |= functions[name].error_codes
    return _error_responses(codes, statuses)


def _operation(fn: Function, method: str, statuses: dict[str, int]) -> dict:
    roles = ", ".join(fn.roles)
    op: dict[str, Any] = {
        "operationId": f"{method}_{fn.name}",
        "summary": fn.comment.split(". ")[0][:120] if fn.comment else fn.name,
        "description": f"{fn.comment}\n\nRoles: {roles}.",
        "x-roles": fn.roles,
        "responses": _responses(fn, method, statuses),
    }
    if "result" not in fn.schemas:
        op["x-result-schema-missing"] = True
    if "anon" not in fn.roles:
        op["security"] = [{"bearer": []}]
    if method == "post":
        required = [a.name for a in fn.args if a.required]
        op["requestBody"] = {
            # No argument required: an empty body (or none) calls with the defaults.
            "required": bool(required),
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {a.name: _arg_schema(fn, a) for a in fn.args},
                        "required": required,
                    }
                }
            },
        }
    else:
        params = []
        for a in fn.args:
            schema = _arg_schema(fn, a)
            if a.json_type in ("any", "array"):
                params.append(
                    {"name": a.name, "in": "query", "required": a.required, "content": {JSON: {"schema": schema}}}
                )
            else:
                params.append({"name": a.name, "in": "query", "required": a.required, "schema": schema})
        params.append({"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}})
        op["parameters"] = params
    return op


def _route(summary: str, description: str, body: dict | None, responses: dict, **extra) -> dict:
    op: dict[str, Any] = {"summary": summary, "description": description, "responses": responses, **extra}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return op


def _string(max_length: int = TEXT_MAX) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


_ACCOUNT = {
    "type": "object",
    "required": ["id", "email", "display_name", "role", "company_id", "point_of_sale", "checkpoint"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "email": {"type": "string"},
        "display_name": {"type": "string"},
        "role": {"enum": ["staff", "operator", "admin"]},
        "company_id": {"type": ["string", "null"]},
        "point_of_sale": {"type": ["string", "null"]},
        "checkpoint": {"type": ["string", "null"]},
    },
}
_SESSION = {
    "description": "a signed bearer token and the next refresh token (Cache-Control: no-store)",
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "required": ["access_token", "token_type", "expires_in", "refresh_token", "account"],
                "additionalProperties": False,
                "properties": {
                    "access_token": {"type": "string", "description": "HS256 JWT: role, sub (account id), email, ..."},
                    "token_type": {"const": "bearer"},
                    "expires_in": {"type": "integer", "description": "seconds"},
                    "refresh_token": {"type": "string"},
                    "account": _ACCOUNT,
                },
            }
        }
    },
}


def _body(*names: str) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(names),
        "properties": {n: {"type": "string", "maxLength": TEXT_MAX} for n in names},
    }


def _login_errors(statuses: dict[str, int], *own: str) -> dict:
    # SERVICE_UNAVAILABLE: a server without JWT_SECRET signs no tokens.
    return _error_responses({*_ALWAYS, "SERVICE_UNAVAILABLE", *own}, statuses)


def _login_routes(statuses: dict[str, int]) -> dict:
    """The account routes (rpc/login.py), in front of the internal api.auth_* functions."""
    return {
        "/auth/login": {
            "post": _route(
                "log in with an email and a password",
                "api.auth_login checks the password (bcrypt) and counts failures per email; the server "
                "signs the claims it returns.",
                _body("email", "password"),
                # INVALID_LOGIN: unknown email, wrong password or disabled account, alike;
                # ACCOUNT_LOCKED: details.locked_until, details.retry_after_seconds, Retry-After.
                {"200": _SESSION, **_login_errors(statuses, "INVALID_LOGIN", "ACCOUNT_LOCKED")},
            )
        },
        "/auth/refresh": {
            "post": _route(
                "a new bearer token for a refresh token, which is spent",
                "The answer holds a new refresh token; a spent one presented again revokes its whole session.",
                _body("refresh_token"),
                {"200": _SESSION, **_login_errors(statuses, "INVALID_REFRESH_TOKEN")},
            )
        },
        "/auth/logout": {
            "post": _route(
                "end the refresh token's session",
                "Revokes the token's family; an unknown token is a 204 too.",
                _body("refresh_token"),
                {"204": {"description": "logged out"}, **_login_errors(statuses)},
            )
        },
    }


def _other_routes(functions: dict[str, Function], statuses: dict[str, int]) -> dict:
    """The routes outside /rpc (rpc/app.py), each in front of api functions."""
    intent = functions.get("recharge_intent_create")
    intent_body = (
        _operation(intent, "post", {})["requestBody"]["content"][JSON]["schema"] if intent else {"type": "object"}
    )
    status = functions.get("atm_transaction_status")
    return {
        "/atm/pay": {
            "post": _route(
                "pay an ATM transaction with World ID and World App",
                "The customer's page: verifies the World ID proof and the World App payment, then "
                "calls api.atm_pay. Idempotent on request_id (per transaction).",
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["transaction_id", "world_id", "payment", "request_id"],
                    "properties": {
                        "transaction_id": {"type": "string", "format": "uuid"},
                        "world_id": {
                            "type": "object",
                            "required": ["proof", "merkle_root", "nullifier_hash", "verification_level"],
                            "properties": {
                                k: _string() for k in ("proof", "merkle_root", "nullifier_hash", "verification_level")
                            },
                        },
                        "payment": {
                            "type": "object",
                            "required": ["transaction_id"],
                            "properties": {"transaction_id": _string()},
                        },
                        "request_id": _string(),
                    },
                },
                {
                    "200": {
                        "description": "the transaction, paid",
                        "headers": _REPLAYED,
                        "content": {JSON: {"schema": (status.schemas.get("result", {}) if status else {})}},
                    },
                    **_route_errors(functions, atm_pay.FUNCTIONS, atm_pay.ERRORS, statuses),
                },
            )
        },
        "/recharge/checkout": {
            "post": _route(
                "start an online card recharge (Stripe Checkout)",
                "api.recharge_intent_create, then a Stripe Checkout Session for it; a retry with the "
                "same request_id answers the same session.",
                intent_body,
                {
                    "200": {
                        "description": "the Checkout Session to send the customer to",
                        "content": {
                            JSON: {
                                "schema": {
                                    "type": "object",
                                    "required": ["intent_id", "session_id", "checkout_url"],
                                    "properties": {
                                        "intent_id": {"type": "string", "format": "uuid"},
                                        "session_id": {"type": "string"},
                                        "checkout_url": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    **_route_errors(functions, payments.CHECKOUT_FUNCTIONS, payments.CHECKOUT_ERRORS, statuses),
                },
            )
        },
        "/webhooks/stripe": {
            "post": _route(
                "Stripe webhook",
                "A Stripe event, signed (header Stripe-Signature); applied once by api.stripe_payload_apply.",
                {"type": "object"},
                {
                    "200": {"description": "applied (or already applied)", "content": {JSON: {"schema": {}}}},
                    **_route_errors(functions, payments.WEBHOOK_FUNCTIONS, payments.WEBHOOK_ERRORS, statuses),
                },
                parameters=[
                    {"name": "Stripe-Signature", "in": "header", "required": True, "schema": {"type": "string"}}
                ],
            )
        },
        **_login_routes(statuses),
        "/health": {
            "get": _route(
                "database reachable, and the catalogue this server has loaded",
                "",
                None,
                {
                    "200": {
                        "description": "ok",
                        "content": {
                            JSON: {
                                "schema": {
                                    "type": "object",
                                    "required": ["status", "catalogue"],
                                    "properties": {
                                        "status": {"const": "ok"},
                                        "catalogue": {
                                            "type": "object",
                                            "properties": {
                                                "sql_sha256": {"type": ["string", "null"]},
                                                "sql_applied_at": {"type": ["string", "null"]},
                                                "migration": {"type": ["string", "null"]},
                                                "functions": {"type": "integer"},
                                            },
                                        },
                                    },
                                }
                            }
                        },
                    },
                    **_error_responses({"DATABASE_UNAVAILABLE"}, statuses),
                },
            )
        },
        "/metrics": {
            "get": _route(
                "Prometheus metrics",
                "",
                None,
                {
                    "200": {
                        "description": "exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
        "/openapi.json": {
            "get": _route(
                "this document", "", None, {"200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {}}}}}
            )
        },
    }


def document(functions: dict[str, Function], statuses: dict[str, int] | None = None) -> dict:
    """The OpenAPI document: functions some request role may call (the others serve routes
    such as /atm/pay, under internal roles), and the other routes. Error codes' statuses
    are `statuses`, else core.error_codes as loaded (rpc.errors)."""
    statuses = statuses or {}
    paths: dict[str, Any] = {}
    for name, fn in sorted(functions.items()):
        if not fn.roles:
            continue
        item = {"post": _operation(fn, "post", statuses)}
        if fn.read_only:
            item["get"] = _operation(fn, "get", statuses)
        paths[f"/rpc/{name}"] = item
    paths.update(_other_routes(functions, statuses))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kioskledger RPC",
            "version": "0.1.0",
            "description": "Every /rpc path calls the PostgreSQL function api.<name> with the body as named arguments.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message", "details", "hint"],
                    "additionalProperties": False,
                    "properties": {
                        "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
                        "message": {"type": "string"},
                        # An object, richer than PostgREST's string: it carries facts a
                        # client acts on (details.argument, details.attempts_left...).
                        "details": {
                            "type": ["object", "null"],
                            "additionalProperties": True,
                            "description": "facts about the error (e.g. argument, balance), or null",
                        },
                        "hint": {"type": ["string", "null"]},
                    },
                }
            },
        },
    }
