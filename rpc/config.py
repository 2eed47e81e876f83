"""The server's settings, from the environment.

RPC_DATABASE_URL   the pool's connection (log in as `authenticator`); default DATABASE_URL
JWT_SECRET         HS256 secret for bearer tokens (without it every request is anon)
JWT_MAX_TTL        longest a token may still live, in seconds (default 30 days)
JWT_KIOSK_MAX_TTL  the same for kiosk tokens (default 366 days: kiosk-provision signs for 365)
RPC_POOL_TIMEOUT_MS how long a request waits for a pooled connection before its 503
RPC_LISTEN_DATABASE_URL the catalogue listener's connection; default RPC_DATABASE_URL. Behind
                   PgBouncer in transaction mode, point it at Postgres itself: LISTEN does
                   not survive a transaction-mode pooler
RPC_CATALOGUE_POLL_MS how often the listener also compares the catalogue version (the
                   fallback when notifications are lost)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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


def settings() -> Settings:
    url = os.environ.get("RPC_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("rpc: set RPC_DATABASE_URL (or DATABASE_URL), or start it with `kioskledger serve`")
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
    )
