"""POST /auth/login, /auth/refresh, /auth/logout: staff, operator and admin accounts.

SQL decides and remembers (api.auth_login, api.auth_refresh, api.auth_logout, as the
internal role login_service): passwords are checked with bcrypt there, failures counted and
locked per email, refresh tokens rotated with reuse detection. This module only reads the
body and signs the claims SQL returns as an HS256 bearer token with JWT_SECRET - the kind
of token `kioskledger token` prints, so every api function takes it as it is.

Answers carry `Cache-Control: no-store` (tokens must not sit in a cache), and a locked
email's 429 a `Retry-After`.
"""

from __future__ import annotations

import time

import jwt
import orjson
from starlette.requests import Request
from starlette.responses import Response

from .auth import Identity
from .dispatch import json_object
from .errors import ApiError, error_response, status_for

LOGIN_SERVICE = Identity("login_service", "{}", None)  # internal role, never from a client token
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _strings(body: dict, names: tuple[str, ...]) -> dict:
    """The body's fields, each a string (length, NUL and unknown fields are checked by the
    catalogue's binding, as for /rpc)."""
    for name in names:
        if name not in body:
            raise ApiError("INVALID_REQUEST", f"missing field {name!r}", details={"argument": name})
        if not isinstance(body[name], str):
            raise ApiError("INVALID_REQUEST", f"{name} must be a string", details={"argument": name})
    return body


def _secret(request: Request) -> str:
    secret = request.app.state.rpc.cfg.jwt_secret
    if not secret:
        # Checked before SQL runs: a login that could not be signed must not count or issue.
        raise ApiError("SERVICE_UNAVAILABLE", "logins need JWT_SECRET: this server signs no tokens")
    return secret


def _json(body: bytes, status: int = 200, headers: dict | None = None) -> Response:
    return Response(body, status, {**NO_STORE, **(headers or {})}, media_type="application/json")


def _declined(result) -> Response:
    headers = None
    if result.decline == "ACCOUNT_LOCKED":
        details = orjson.loads(result.body).get("details") or {}
        headers = {"Retry-After": str(max(1, int(details.get("retry_after_seconds") or 1)))}
    return _json(result.body.encode(), status_for(result.decline), headers)


def _signed(request: Request, secret: str, result) -> Response:
    """The session SQL opened (claims, account, lifetimes, refresh token) as the answer."""
    cfg = request.app.state.rpc.cfg
    session = orjson.loads(result.body)
    ttl = min(int(session["expires_in"]), cfg.jwt_max_ttl)
    now = int(time.time())
    claims = {**session["claims"], "iat": now, "exp": now + ttl}
    if cfg.jwt_audience:
        claims["aud"] = cfg.jwt_audience
    body = {
        "access_token": jwt.encode(claims, secret, algorithm="HS256"),
        "token_type": "bearer",
        "expires_in": ttl,
        "refresh_token": session["refresh_token"],
        "account": session["account"],
    }
    return _json(orjson.dumps(body))


async def _session_route(request: Request, function: str, fields: tuple[str, ...]) -> Response:
    state = request.app.state.rpc
    try:
        args = _strings(json_object(await request.body()), fields)
        secret = _secret(request)
        result = await state.call(function, args, LOGIN_SERVICE)
    except ApiError as err:
        return error_response(err, NO_STORE)
    return _declined(result) if result.decline else _signed(request, secret, result)


async def login(request: Request) -> Response:
    return await _session_route(request, "auth_login", ("email", "password"))


async def refresh(request: Request) -> Response:
    return await _session_route(request, "auth_refresh", ("refresh_token",))


async def logout(request: Request) -> Response:
    state = request.app.state.rpc
    try:
        args = _strings(json_object(await request.body()), ("refresh_token",))
        await state.call("auth_logout", args, LOGIN_SERVICE)
    except ApiError as err:
        return error_response(err, NO_STORE)
    return Response(status_code=204, headers=NO_STORE)
