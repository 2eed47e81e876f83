"""Bearer token verification: HS256 with JWT_SECRET; no token means role anon.

Verified tokens are cached (by the exact token string, until they expire) so a client
that reuses its token costs one dict lookup per request, not an HMAC and a JSON parse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
import orjson

from .errors import ApiError

_CACHE_MAX = 10_000
REQUEST_ROLES = frozenset({"anon", "kiosk", "staff", "operator", "admin"})


@dataclass(frozen=True)
class Identity:
    role: str
    claims_json: str  # what SQL reads from request.jwt.claims
    expires_at: float | None


ANON = Identity("anon", "{}", None)


class Authenticator:
    def __init__(self, secret: str | None):
        self._secret = secret
        self._cache: dict[str, Identity] = {}

    def identify(self, authorization: str | None) -> Identity:
        if not authorization:
            return ANON
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError("UNAUTHENTICATED", "Authorization must be 'Bearer <JWT>'")
        ident = self._cache.get(token)
        if ident is not None and (ident.expires_at is None or ident.expires_at > time.time()):
            return ident
        ident = self._verify(token.strip())
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[token] = ident
        return ident

    def _verify(self, token: str) -> Identity:
        if not self._secret:
            raise ApiError("UNAUTHENTICATED", "this server has no JWT_SECRET; only anonymous calls work")
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["role"]})
        except jwt.ExpiredSignatureError:
            raise ApiError("UNAUTHENTICATED", "the token has expired") from None
        except jwt.InvalidTokenError as err:
            raise ApiError("UNAUTHENTICATED", f"invalid token: {err}") from None
        role = claims.get("role")
        if role not in REQUEST_ROLES:
            raise ApiError("FORBIDDEN", f"token role {role!r} is not one of {sorted(REQUEST_ROLES)}")
        exp = claims.get("exp")
        return Identity(role, orjson.dumps(claims).decode(), float(exp) if exp is not None else None)
