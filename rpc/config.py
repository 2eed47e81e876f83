"""The server's settings, from the environment.

RPC_DATABASE_URL   the pool's connection (log in as `authenticator`); default DATABASE_URL
JWT_SECRET         HS256 secret for bearer tokens (without it every request is anon)
JWT_MAX_TTL        longest a token may still live, in seconds (default 30 days)
JWT_KIOSK_MAX_TTL  the same for kiosk tokens (default 366 days: kiosk-provision signs for 365)
JWT_AUDIENCE       when set, a token's aud must include it; unset, any or no aud passes
JWT_JWKS_FILE, JWT_JWKS_URL an identity provider's public keys (RS256/ES256 tokens); one
                   of the two. The URL's set is kept JWT_JWKS_TTL seconds and fetched again
                   for an unknown kid at most once per JWT_JWKS_REFETCH_INTERVAL seconds
JWT_ROLE_CLAIM     where the role is in the token, a dotted path (default `role`)
JWT_ROLE_MAP       token role -> request role, `authenticated=staff,anon=anon`
RPC_POOL_TIMEOUT_MS how long a request waits for a pooled connection before its 503
RPC_LISTEN_DATABASE_URL the catalogue listener's connection; default RPC_DATABASE_URL. Behind
                   PgBouncer in transaction mode, point it at Postgres itself: LISTEN does
                   not survive a transaction-mode pooler
RPC_CATALOGUE_POLL_MS how often the listener also compares the catalogue version (the
                   fallback when notifications are lost)
RPC_READ_DATABASE_URL where GET calls (STABLE functions) go first, e.g. a formation's
                   hosts with target_session_attrs=prefer-standby; unset: everything on the pool
RPC_READ_MAX_LAG_MS a standby answers a read only if it replayed a commit within this
                   long; else (or unreachable) the primary answers
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kioskledger.protocol import token_max_ttl


@dataclass(frozen=True)
class Settings:
    rpc_database_url: str
    listen_database_url: str
    jwt_secret: str | None
    jwt_max_ttl: int
    jwt_kiosk_max_ttl: int
    statement_timeout_ms: int
    pool_min: int
    pool_max: int
    pool_timeout_s: float
    catalogue_poll_s: float
    jwt_audience: str | None = None
    jwt_jwks_file: str | None = None
    jwt_jwks_url: str | None = None
    jwt_jwks_ttl_s: float = 300.0
    jwt_jwks_refetch_interval_s: float = 30.0
    jwt_role_claim: str = "role"
    jwt_role_map: dict[str, str] = field(default_factory=dict)
    read_database_url: str | None = None
    read_max_lag_ms: int = 1000


def settings() -> Settings:
    url = os.environ.get("RPC_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("rpc: set RPC_DATABASE_URL (or DATABASE_URL), or start it with `kioskledger serve`")
    jwks_file = os.environ.get("JWT_JWKS_FILE") or None
    jwks_url = os.environ.get("JWT_JWKS_URL") or None
    if jwks_file and jwks_url:
        raise SystemExit("rpc: set JWT_JWKS_FILE or JWT_JWKS_URL, not both")
    return Settings(
        rpc_database_url=url,
        listen_database_url=os.environ.get("RPC_LISTEN_DATABASE_URL") or url,
        jwt_secret=os.environ.get("JWT_SECRET") or None,
        jwt_max_ttl=token_max_ttl("staff"),
        jwt_kiosk_max_ttl=token_max_ttl("kiosk"),
        statement_timeout_ms=int(os.environ.get("RPC_STATEMENT_TIMEOUT_MS", "5000")),
        pool_min=int(os.environ.get("RPC_POOL_MIN", "4")),
        pool_max=int(os.environ.get("RPC_POOL_MAX", "32")),
        pool_timeout_s=int(os.environ.get("RPC_POOL_TIMEOUT_MS", "2000")) / 1000,
        catalogue_poll_s=int(os.environ.get("RPC_CATALOGUE_POLL_MS", "5000")) / 1000,
        jwt_audience=os.environ.get("JWT_AUDIENCE") or None,
        jwt_jwks_file=jwks_file,
        jwt_jwks_url=jwks_url and jwks_url_checked(jwks_url),
        jwt_jwks_ttl_s=float(os.environ.get("JWT_JWKS_TTL", "300")),
        jwt_jwks_refetch_interval_s=float(os.environ.get("JWT_JWKS_REFETCH_INTERVAL", "30")),
        jwt_role_claim=role_claim(os.environ.get("JWT_ROLE_CLAIM") or "role"),
        jwt_role_map=role_map(os.environ.get("JWT_ROLE_MAP", "")),
        read_database_url=os.environ.get("RPC_READ_DATABASE_URL") or None,
        read_max_lag_ms=int(os.environ.get("RPC_READ_MAX_LAG_MS", "1000")),
    )


def jwks_url_checked(url: str) -> str:
    # Whoever can change the key set in transit can sign any token: plain HTTP only to
    # this machine (a local provider, the tests' fake).
    parsed = urlsplit(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")):
        return url
    raise SystemExit(f"rpc: JWT_JWKS_URL {url!r} must be https (plain http only to localhost)")


def role_claim(path: str) -> str:
    parts = path.split(".")
    if not all(parts):
        raise SystemExit(f"rpc: JWT_ROLE_CLAIM {path!r} is not a dotted path like role or app_metadata.role")
    # Supabase's user_metadata (and the like) is written by the user: a role read there
    # would let anyone with an account name their own role.
    if parts[0] == "user_metadata":
        raise SystemExit("rpc: JWT_ROLE_CLAIM may not point into user_metadata, which the user writes")
    return path


def role_map(spec: str) -> dict[str, str]:
    """`authenticated=staff,anon=anon` -> {"authenticated": "staff", "anon": "anon"}."""
    mapping = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        source, sep, target = (part.strip() for part in item.partition("="))
        if not sep or not source or not target:
            raise SystemExit(f"rpc: JWT_ROLE_MAP item {item!r} is not token_role=request_role")
        mapping[source] = target
    return mapping
