"""Bearer token verification: HS256 with JWT_SECRET, RS256/ES256 with an identity
provider's keys (rpc/jwks.py); no token means role anon.

The token's header chooses the algorithm, but only among those this server has a key for,
and each algorithm has its own key: HS256 only ever JWT_SECRET, RS256/ES256 only ever a
key from the JWKS bound to that algorithm. So `alg: none` is refused, and a token that
signs with HS256 using the provider's public key as the secret fails the HMAC against
JWT_SECRET.

The role is read at JWT_ROLE_CLAIM (a dotted path) and may be renamed by JWT_ROLE_MAP,
for providers whose roles are not ours (Supabase's `authenticated`); SQL reads the
request role as `role` and finds the token's own `role` under `token_role`. With
JWT_AUDIENCE set the token's `aud` must name it; unset, any or no `aud` passes.

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
from .jwks import ASYMMETRIC_ALGORITHMS, KeysUnavailable, RemoteJwks, StaticJwks

_CACHE_MAX = 10_000
# How far in the future iat and nbf may be: a provider stamps iat with its own clock, and
# a server a second behind it must not refuse every fresh token (PostgREST allows 30 s).
# exp gets no such grace: an expired token stays expired.
CLOCK_SKEW_S = 30
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
        jwks=None,
        audience: str | None = None,
        role_claim: str = "role",
        role_map: dict[str, str] | None = None,
    ):
        self._secret = secret
        self._jwks = jwks  # StaticJwks, RemoteJwks, or None: no RS256/ES256 tokens
        self._audience = audience
        self._role_path = tuple(role_claim.split("."))
        self._role_claim = role_claim
        self._role_map = dict(role_map or {})
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

    def _key(self, token: str):
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as err:
            raise _unauthenticated(f"invalid token: {err}") from None
        alg = header.get("alg")
        if alg == "HS256":
            if not self._secret:
                raise _unauthenticated("this server has no JWT_SECRET: it takes no HS256 tokens")
            return alg, self._secret
        if alg in ASYMMETRIC_ALGORITHMS:
            if self._jwks is None:
                raise _unauthenticated(f"this server has no JWT_JWKS_FILE or JWT_JWKS_URL: it takes no {alg} tokens")
            kid = header.get("kid")
            try:
                found = self._jwks.key(kid, alg)
            except KeysUnavailable as err:
                raise _unauthenticated(str(err)) from None
            if found is None:
                raise _unauthenticated(f"no {alg} key with kid {kid!r} in the identity provider's key set")
            return alg, found.key
        accepted = (["HS256"] if self._secret else []) + (list(ASYMMETRIC_ALGORITHMS) if self._jwks else [])
        raise _unauthenticated(f"token algorithm {alg!r} is not accepted (this server takes {accepted})")

    def _role(self, claims: dict):
        value = claims
        for part in self._role_path:
            if not isinstance(value, dict) or part not in value:
                raise _unauthenticated(f"invalid token: no role claim (at {self._role_claim})")
            value = value[part]
        if not isinstance(value, str):
            raise _unauthenticated(f"invalid token: the role claim ({self._role_claim}) must be a string")
        return self._role_map.get(value, value)

    def _verify(self, token: str) -> Identity:
        if not self._secret and self._jwks is None:
            raise _unauthenticated("this server has no JWT_SECRET; only anonymous calls work")
        alg, key = self._key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                # Unset, the audience is not checked (PostgREST's rule): PyJWT would refuse
                # every token that has one.
                options={
                    "require": ["exp"],
                    "verify_aud": self._audience is not None,
                    "verify_iat": False,  # checked below, with CLOCK_SKEW_S
                    "verify_nbf": False,
                },
            )
        except jwt.ExpiredSignatureError:
            raise _unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise _unauthenticated("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise _unauthenticated(
                f"the token is not for this server (its aud must include {self._audience!r})"
            ) from None
        except jwt.InvalidTokenError as err:
            raise _unauthenticated(f"invalid token: {err}") from None
        if not isinstance(claims, dict):
            raise _unauthenticated("invalid token: the payload must be a JSON object")
        aud = claims.get("aud")
        if aud is not None and not (
            isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))
        ):
            raise _unauthenticated("invalid token: aud must be a string or a list of strings")
        role = self._role(claims)
        if claims.get("role") != role:
            # SQL reads the request role as `role`; what the token itself said stays readable.
            if "role" in claims:
                claims["token_role"] = claims["role"]
            claims["role"] = role
        if role not in REQUEST_ROLES:
            raise ApiError("FORBIDDEN", f"token role {role!r} is not one of {sorted(REQUEST_ROLES)}")
        exp = claims["exp"]
        # The library accepts any value int() takes ("123" included) and checks it only
        # against now; a time here is a JSON number, and a token may not outlive the limit.
        if not _is_number(exp):
            raise _unauthenticated("invalid token: the exp claim must be a number (seconds since the epoch)")
        now = time.time()
        for name in ("nbf", "iat"):
            if name in claims and not _is_number(claims[name]):
                raise _unauthenticated(f"invalid token: the {name} claim must be a number (seconds since the epoch)")
            if name in claims and claims[name] > now + CLOCK_SKEW_S:
                raise _unauthenticated("the token is not valid yet (nbf or iat in the future)")
        max_ttl = self._kiosk_max_ttl if role == "kiosk" else self._max_ttl
        if exp - now > max_ttl:
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


def from_settings(cfg) -> Authenticator:
    """The Authenticator that rpc.config.Settings describe."""
    jwks = None
    if cfg.jwt_jwks_file:
        jwks = StaticJwks(cfg.jwt_jwks_file)
    elif cfg.jwt_jwks_url:
        jwks = RemoteJwks(
            cfg.jwt_jwks_url, ttl_s=cfg.jwt_jwks_ttl_s, refetch_interval_s=cfg.jwt_jwks_refetch_interval_s
        )
    return Authenticator(
        cfg.jwt_secret,
        max_ttl=cfg.jwt_max_ttl,
        kiosk_max_ttl=cfg.jwt_kiosk_max_ttl,
        jwks=jwks,
        audience=cfg.jwt_audience,
        role_claim=cfg.jwt_role_claim,
        role_map=cfg.jwt_role_map,
    )
