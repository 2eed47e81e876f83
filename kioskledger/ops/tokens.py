"""Signing and verifying the HS256 bearer tokens."""

from __future__ import annotations

import time

import jwt

from kioskledger.protocol import token_max_ttl


def make_token(secret: str, role: str, claims: dict | None = None, ttl: int = 24 * 3600) -> str:
    # A token the server would refuse for its lifetime is no token: say so here instead.
    limit = token_max_ttl(role)
    if not 0 < ttl <= limit:
        limit_name = "JWT_KIOSK_MAX_TTL" if role == "kiosk" else "JWT_MAX_TTL"
        raise ValueError(f"a {role} token's ttl must be 1..{limit} seconds ({limit_name}), not {ttl}")
    now = int(time.time())
    payload = {"sub": f"dev-{role}", **(claims or {}), "role": role, "iat": now, "exp": now + ttl}
    return jwt.encode(payload, secret, algorithm="HS256")
