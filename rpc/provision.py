"""Database-side provisioning that is configuration, not schema: role passwords."""

from __future__ import annotations

import psycopg
from psycopg import sql


def set_authenticator_password(owner_url: str, password: str) -> None:
    """Let the RPC pool log in as `authenticator` (created NOLOGIN by the migrations)."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE authenticator LOGIN PASSWORD {}").format(sql.Literal(password)))
