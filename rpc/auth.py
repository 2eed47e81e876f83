"""Bearer token verification: HS256 with JWT_SECRET; no token means role anon.

A token must say who (`role`, one of the request roles) and until when (`exp`, within the
role's maximum lifetime: a stolen token without an end would be a key for ever). Every
claim that SQL reads is checked for its type here, so a malformed but signed token is a
401, never a server error further on.

Verified tokens are cached (by the exact token string, until they expire) so a client
that reuses its token costs one dict lookup per request, not an HMAC and a JSON parse.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import jwt
import orjson

from kioskledger.protocol import KIOSK_TOKEN_MAX_TTL_DEFAULT, TOKEN_MAX_TTL_DEFAULT

from .errors import ApiError

_CACHE_MAX = 10_000
REQUEST_ROLES = frozenset({"anon", "kiosk", "staff", "operator", "admin"})
# A company id as dex.companies accepts it. Nothing else is a company: in particular no
# wildcard - an operator acts for exactly one company, and admin is the role for all.
_COMPANY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


@dataclass(frozen=True)
class Identity:
    role: str
    claims_json: str  # what SQL reads from request.jwt.claims
    expires_at: float | None


ANON = Identity("anon", "{}", None)


def _unauthenticated(message: str) -> ApiError:
    return ApiError("UNAUTHENTICATED", message)


def _is_number(value) -> bool:
    # bool is an int in Python, and JSON true is not a time.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Authenticator:
    def __init__(
        self,
        secret: str | None,
        *,
        max_ttl: int = TOKEN_MAX_TTL_DEFAULT,
        kiosk_max_ttl: int = KIOSK_TOKEN_MAX_TTL_DEFAULT,
    ):
        self._secret = secret
        self._max_ttl = max_ttl
        self._kiosk_max_ttl = kiosk_max_ttl
        self._cache: dict[str, Identity] = {}

    def identify(self, authorization: str | None) -> Identity:
        if not authorization:
            return ANON
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthenticated("Authorization must be 'Bearer <JWT>'")
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
            raise _unauthenticated("this server has no JWT_SECRET; only anonymous calls work")
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["role", "exp"]})
        except jwt.ExpiredSignatureError:
            raise _unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise _unauthenticated("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidTokenError as err:
            raise _unauthenticated(f"invalid token: {err}") from None
        role = claims["role"]
        if not isinstance(role, str):
            raise _unauthenticated("invalid token: the role claim must be a string")
        if role not in REQUEST_ROLES:
            raise ApiError("FORBIDDEN", f"token role {role!r} is not one of {sorted(REQUEST_ROLES)}")
        exp = claims["exp"]
        # The library accepts any value int() takes ("123" included) and checks it only
        # against now; a time here is a JSON number, and a token may not outlive the limit.
        if not _is_number(exp):
            raise _unauthenticated("invalid token: the exp claim must be a number (seconds since the epoch)")
        for name in ("nbf", "iat"):
            if name in claims and not _is_number(claims[name]):
                raise _unauthenticated(f"invalid token: the {name} claim must be a number (seconds since the epoch)")
        max_ttl = self._kiosk_max_ttl if role == "kiosk" else self._max_ttl
        if exp - time.time() > max_ttl:
            raise _unauthenticated(
                f"the token lives too long: a {role} token may expire at most {max_ttl} seconds from now"
            )
        if "sub" in claims and not isinstance(claims["sub"], str):
            raise _unauthenticated("invalid token: the sub claim must be a string")
        company = claims.get("company_id")
        if company is not None and not (isinstance(company, str) and _COMPANY_ID.fullmatch(company)):
            raise _unauthenticated("invalid token: company_id must be one company's id (1-63 of A-Za-z0-9_.-)")
        kiosk = claims.get("kiosk_id")
        if kiosk is not None and not (isinstance(kiosk, str) and 0 < len(kiosk) <= 64):
            raise _unauthenticated("invalid token: kiosk_id must be a string of 1 to 64 characters")
        return Identity(role, orjson.dumps(claims).decode(), float(exp))
