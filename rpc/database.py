"""The pool and the one-round-trip call.

A request is one implicit transaction: in pipeline mode on an autocommit connection,
the settings statement and the function call go out together with a single Sync, so
Postgres runs them as one transaction and commits (or rolls back) at the Sync. No
session state survives the request, which keeps the pool PgBouncer-compatible.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .errors import ApiError, from_database

# Role, verified claims and timeout are LOCAL: they end with the transaction.
SET_REQUEST = ("SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true), "
               "set_config('statement_timeout', %s, true)")
SET_REQUEST_READ_ONLY = SET_REQUEST + ", set_config('transaction_read_only', 'on', true)"


@dataclass
class CallResult:
    body: str
    decline: str | None
    replayed: bool


def prepare_threshold() -> int | None:
    raw = os.environ.get("RPC_PREPARE_THRESHOLD", "5")
    return None if raw.lower() in ("", "none", "off") else int(raw)


def make_pool(url: str, min_size: int, max_size: int) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        url, min_size=min_size, max_size=max_size, open=False, timeout=10,
        kwargs={"autocommit": True, "prepare_threshold": prepare_threshold(),
                "application_name": "kioskledger-rpc"},
    )


async def call(pool: AsyncConnectionPool, sql: str, params: list, role: str, claims_json: str,
               timeout_ms: int, read_only: bool) -> CallResult:
    try:
        async with pool.connection() as conn:
            async with conn.pipeline():
                await conn.execute(SET_REQUEST_READ_ONLY if read_only else SET_REQUEST,
                                   (role, claims_json, str(timeout_ms)))
                cur = await conn.execute(sql, params)
            body, decline, replayed = await cur.fetchone()
    except PoolTimeout:
        raise ApiError("DATABASE_UNAVAILABLE", "no database connection available") from None
    except psycopg.Error as err:
        raise from_database(err, role) from None
    return CallResult(body if body is not None else "null", decline or None, replayed == "true")
