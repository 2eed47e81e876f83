"""The pool and the one-round-trip call.

A request is ONE query string holding two statements: the request settings, then the
function call. Sent with the simple query protocol on an autocommit connection,
Postgres runs them as one implicit transaction: the LOCAL settings apply to the call,
and an error rolls back both. One write and one read per request (measured here: the
pipeline-mode equivalent spent ~2x the Python CPU in its extra flushes and reads).
Values are bound client-side by psycopg's ClientCursor (proper literal quoting for the
connection's encoding). No session state survives the request and nothing is
prepared, so the pool also works behind PgBouncer in transaction mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import AsyncClientCursor
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from kioskledger.protocol import SET_REQUEST_WITH_TIMEOUT

from .errors import ApiError, from_database

SET_REQUEST = SET_REQUEST_WITH_TIMEOUT
SET_REQUEST_READ_ONLY = SET_REQUEST + ", set_config('transaction_read_only', 'on', true)"
_COMBINED: dict[tuple[str, bool], str] = {}


def _combined(sql: str, read_only: bool) -> str:
    key = (sql, read_only)
    text = _COMBINED.get(key)
    if text is None:
        text = _COMBINED[key] = (SET_REQUEST_READ_ONLY if read_only else SET_REQUEST) + "; " + sql
    return text


@dataclass
class CallResult:
    body: str
    decline: str | None
    replayed: bool


def make_pool(url: str, min_size: int, max_size: int) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=10,
        kwargs={
            "autocommit": True,
            "prepare_threshold": None,
            "cursor_factory": AsyncClientCursor,
            "application_name": "kioskledger-rpc",
        },
    )


async def call(
    pool: AsyncConnectionPool, sql: str, params: list, role: str, claims_json: str, timeout_ms: int, read_only: bool
) -> CallResult:
    try:
        async with pool.connection() as conn:
            cur = conn.cursor()
            await cur.execute(_combined(sql, read_only), [role, claims_json, str(timeout_ms), *params])
            cur.nextset()
            body, decline, replayed = await cur.fetchone()
    except PoolTimeout:
        raise ApiError("DATABASE_UNAVAILABLE", "no database connection available") from None
    except psycopg.Error as err:
        raise from_database(err, role) from None
    return CallResult(body if body is not None else "null", decline or None, replayed == "true")
