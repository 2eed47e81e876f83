"""How every caller speaks to the api.* functions, whatever the transport.

A request is one transaction in which the role, the verified JWT claims and (for the
RPC) a statement timeout are set LOCAL, then one api.* function is called. Our functions
refuse with SQLSTATE KL000 and the message "CODE: human text" (details as JSON in
DETAIL); `refusal` turns such an error back into its parts.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

# Role and claims are LOCAL: they end with the transaction (or are undone with a savepoint).
SET_REQUEST = "SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"
_RESET_REQUEST = "SELECT set_config('role', 'none', true), set_config('request.jwt.claims', '', true)"
# The RPC's settings: role and verified claims plus the statement timeout, local to the
# request's transaction. The request id rides along as application_name (LOCAL, so the
# pooled connection is "kioskledger-rpc" again after the transaction): a slow-query or
# error line in the Postgres log (%a) and pg_stat_activity name the HTTP request.
# Prepared (rpc/prepared_call.py): set_config(..., true), which unlike SET takes parameters.
SET_REQUEST_PARAMS = (
    "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true), "
    "set_config('statement_timeout', $3, true), set_config('application_name', $4, true)"
)
# As a query string (where prepared statements do not survive, e.g. behind PgBouncer in
# transaction mode): SET LOCAL statements sent with the call, neither planned nor answered
# with a row. Values are quoted literals, as SET takes no parameters.
SET_REQUEST_LOCAL = (
    "SET LOCAL role = %s; SET LOCAL request.jwt.claims = %s; SET LOCAL statement_timeout = %s; "
    "SET LOCAL application_name = %s"
)

# Running servers reload their function catalogue when a migration notifies this channel.
RELOAD_CHANNEL = "kioskledger_reload"

# Longest a bearer token may still live (exp - now), in seconds, per role. A kiosk's token
# sits on the device from one provisioning to the next (kiosk-provision signs it for 365
# days), so kiosks get their own, longer limit; a person's token is simply re-issued.
# The server refuses a token beyond its limit, and the token command refuses to sign one.
TOKEN_MAX_TTL_DEFAULT = 30 * 86400
KIOSK_TOKEN_MAX_TTL_DEFAULT = 366 * 86400


def token_max_ttl(role: str, environ: Mapping[str, str] | None = None) -> int:
    """The longest lifetime a token of `role` may have: JWT_KIOSK_MAX_TTL for kiosks,
    JWT_MAX_TTL for everyone else (seconds, from the environment, else the defaults)."""
    env = os.environ if environ is None else environ
    if role == "kiosk":
        return int(env.get("JWT_KIOSK_MAX_TTL") or KIOSK_TOKEN_MAX_TTL_DEFAULT)
    return int(env.get("JWT_MAX_TTL") or TOKEN_MAX_TTL_DEFAULT)


REFUSAL_SQLSTATE = "KL000"
_CODE = re.compile(r"[A-Z][A-Z0-9_]*")


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    details: Any = None
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def refusal(err: psycopg.Error) -> Refusal | None:
    """The api's own refusal carried by `err`, or None for any other database error."""
    diag = err.diag
    text = diag.message_primary or ""
    if diag.sqlstate != REFUSAL_SQLSTATE:
        return None
    code, sep, message = text.partition(": ")
    if not sep or not _CODE.fullmatch(code):
        return Refusal("SERVER_ERROR", text.strip())
    details = None
    if diag.message_detail:
        try:
            details = json.loads(diag.message_detail)
        except ValueError:
            details = diag.message_detail
    return Refusal(code, message, details, diag.message_hint or None)


def claims_json(role: str, claims: dict | None) -> str:
    return json.dumps(claims if claims is not None else {"sub": f"local-{role}"})


@contextmanager
def request(conn: psycopg.Connection, role: str, claims: dict | None = None) -> Iterator[psycopg.Connection]:
    """A transaction (a savepoint inside one) in which statements run as `role` with `claims`,
    as they would behind the RPC."""
    with conn.transaction():
        conn.execute(SET_REQUEST, (role, claims_json(role, claims)))
        yield conn
        # Inside an outer transaction this is a savepoint: LOCAL settings would outlive it.
        conn.execute(_RESET_REQUEST)


def call(conn: psycopg.Connection, role: str, query: str, params=(), claims: dict | None = None):
    """Run one api.* call as `role` in its own transaction; return the first column."""
    with request(conn, role, claims):
        return conn.execute(query, params).fetchone()[0]
