"""Signing and verifying the HS256 bearer tokens."""

from __future__ import annotations

import time

import jwt


def make_token(secret: str, role: str, claims: dict | None = None, ttl: int = 24 * 3600) -> str:
    now = int(time.time())
    payload = {"sub": f"dev-{role}", **(claims or {}), "role": role, "iat": now, "exp": now + ttl}
    return jwt.encode(payload, secret, algorithm="HS256")
