"""The pool and the one-round-trip call.

A request is one implicit transaction on an autocommit connection: the request settings
(role, claims, statement timeout, application_name - all local to it), then the function
call; an error rolls back all of it. It goes out in one write and its answer comes back in
one read, in one of two forms:

- prepared statements in a pipeline (rpc.prepared_call): the settings and the call each
  executed by name, parsed and planned once per connection; the default.
- one query string (`_run`): SET LOCAL statements, then the call, its values quoted
  client-side (rpc.literals for text, integers, booleans and NULL; psycopg's ClientCursor
  for the rest). SET LOCAL rather than `SELECT set_config(...)`: a utility statement is
  neither planned nor answered with a row (bench.instructions "RPC ledger_transfer" guards
  its cost). Used when a value needs psycopg's quoting, and for good once a connection
  shows it does not keep prepared statements (PgBouncer in transaction mode before 1.21).

Both talk to libpq directly (psycopg's `pgconn`): the cursor's machinery around the same
steps cost more Python than the rest of the request's handling.

After a Postgres restart every idle pooled connection is dead. The pool checks each one
as it is handed out (`alive`), so no client pays for a dead one with a 503; and a
database that is down answers 503 within the pool timeout instead of hanging.
"""

from __future__ import annotations

import logging
import select
import time

import psycopg
from psycopg import AsyncClientCursor
from psycopg.pq import ExecStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

from kioskledger.protocol import SET_REQUEST_LOCAL

from . import libpq_async, literals, observe, prepared_call
from .call_result import CallResult
from .errors import ApiError, from_database, unavailable

TUPLES_OK, FATAL_ERROR = ExecStatus.TUPLES_OK, ExecStatus.FATAL_ERROR
log = logging.getLogger("rpc.database")

# The request settings go as SET LOCAL statements (kioskledger.protocol.SET_REQUEST_LOCAL,
# the text the instruction bench measures too), in one query string with the call.
APPLICATION_NAME = "kioskledger-rpc"
SET_REQUEST_READ_ONLY = SET_REQUEST_LOCAL + "; SET LOCAL transaction_read_only = on"
_COMBINED: dict[tuple[str, bool], str] = {}


def _combined(sql: str, read_only: bool) -> str:
    key = (sql, read_only)
    text = _COMBINED.get(key)
    if text is None:
        text = _COMBINED[key] = (SET_REQUEST_READ_ONLY if read_only else SET_REQUEST_LOCAL) + "; " + sql
    return text


# libpq's smallest connect timeout: a host that does not answer fails this fast.
CONNECT_TIMEOUT_S = 2

# Where a read-pool connection is: (on a standby, replayed a commit within the bound). An
# idle primary makes every standby look stale: the primary answers then, never wrong.
STANDBY_STATE = "SELECT pg_is_in_recovery(), coalesce(now() - pg_last_xact_replay_timestamp() <= %s::interval, false)"
# A read-pool connection that finds itself on the primary (its standby was promoted, or no
# standby was up when it connected) is dropped, so the next one looks for a standby again;
# at most once per this many seconds, so a formation with no standby costs no reconnect storm.
READ_POOL_REPICK_S = 1.0
_last_repick = [0.0]


async def alive(conn: psycopg.AsyncConnection) -> bool:
    """False for a connection the server closed while it sat idle in the pool.

    An idle connection of ours has nothing to read: the server says nothing unasked. If
    its socket is readable, the server has spoken - almost always the FATAL of a shut-down
    backend, or the end of the stream - and a real round trip decides. So a live
    connection costs no round trip (the one-round-trip request stays one), and a dead
    one is found before any request is sent on it."""
    if conn.broken or conn.closed:
        return False
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if not readable:
        return True
    try:
        await AsyncConnectionPool.check_connection(conn)
    except psycopg.Error:
        return False
    return True


# How often the pool tries to connect again while the database cannot be reached: from
# RECONNECT_FIRST_S, growing, but never more than RECONNECT_MAX_S apart. psycopg_pool
# doubles its delay without a bound (1, 2, 4, 8 s...), so a pool that lost its
# connections in a 6-second failover would first try the new primary ~7 or ~15 s later.
RECONNECT_FIRST_S = 0.2
RECONNECT_MAX_S = 1.0


class _CappedBackoff(AttemptWithBackoff):
    INITIAL_DELAY = RECONNECT_FIRST_S

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_MAX_S)


class Pool(AsyncConnectionPool):
    """Hands out live connections only: a dead idle one is closed (the pool replaces it)
    and the next is taken at once. (psycopg_pool's own `check` sleeps a second and more
    after each failed check, so a pool full of dead connections after a restart would
    still cost the first clients a 503 each.) Reconnects at least every RECONNECT_MAX_S."""

    # Whether calls go as prepared statements (rpc.prepared_call): until a connection
    # shows it does not keep them.
    prepared_statements = True

    async def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        # psycopg_pool's own method, with our backoff for its retries.
        await super()._add_connection(attempt or _CappedBackoff(timeout=self.reconnect_timeout), growing)

    async def _get_ready_connection(self, timeout: float | None) -> psycopg.AsyncConnection | None:
        # The most recently returned connection first (psycopg_pool takes the oldest): with
        # fewer requests in flight than connections, the same few backends stay busy with
        # warm caches instead of all of them taking turns, and the idle rest is what the
        # pool's max_idle shrinking closes. Measured at 16 requests in flight on a pool of
        # 64: 287 instead of 352 us of backend CPU per /rpc/ledger_transfer.
        self._pool.rotate(1)
        return await super()._get_ready_connection(timeout)

    async def getconn(self, timeout: float | None = None) -> psycopg.AsyncConnection:
        while True:
            conn = await super().getconn(timeout)
            if await alive(conn):
                return conn
            await conn.close()
            await self.putconn(conn)


def make_pool(
    url: str, min_size: int, max_size: int, timeout_s: float, application_name: str = APPLICATION_NAME
) -> Pool:
    return Pool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        # How long a request waits for a connection before it is a 503: with the database
        # down, the client hears it this fast instead of hanging.
        timeout=timeout_s,
        kwargs={
            "autocommit": True,
            "prepare_threshold": None,
            "cursor_factory": AsyncClientCursor,
            # What rpc.literals quotes for (and what the JSON bodies are).
            "client_encoding": "utf8",
            "application_name": application_name,
            "connect_timeout": CONNECT_TIMEOUT_S,
        },
    )


def _application_name() -> str:
    request_id = observe.request_id()
    return f"{APPLICATION_NAME} {request_id}" if request_id else APPLICATION_NAME


async def _run(conn: psycopg.AsyncConnection, query: str) -> CallResult:
    """Send `query` (the settings and the call, values already quoted) and read its last
    row, straight through libpq (psycopg's `pgconn`): the cursor's machinery around the
    same two steps - generators, a timer and a poll per wait, a result per statement turned
    into Python rows - cost ~50k of the ~320k Python instructions per call (callgrind).
    An error in any statement ends the query string there; its result is raised as the
    psycopg error a cursor would raise."""
    pgconn = conn.pgconn
    encoding = "utf-8" if literals.utf8(pgconn) else conn.info.encoding
    pgconn.send_query(query.encode(encoding))
    await libpq_async.flush(pgconn)
    row = error = None
    while (result := await libpq_async.next_result(pgconn)) is not None:
        status = result.status
        if status == TUPLES_OK:
            row = result
        elif status == FATAL_ERROR and error is None:
            error = result
    if error is not None:
        raise psycopg.errors.error_from_result(error, encoding=encoding)
    if row is None or row.ntuples != 1:
        raise psycopg.errors.InternalError("the call answered no row")
    return CallResult.from_row(row, encoding)


def _query(conn: psycopg.AsyncConnection, sql: str, read_only: bool, settings: list[str], params: list) -> str:
    values = [*settings, *params]
    text = literals.query(conn.pgconn, _combined(sql, read_only), values)
    if text is None:  # a type or a connection rpc.literals leaves to psycopg's adapters
        text = conn.cursor().mogrify(_combined(sql, read_only), values)
    return text


async def _call(
    pool: Pool, conn: psycopg.AsyncConnection, sql: str, read_only: bool, settings: list[str], params: list
) -> CallResult:
    """Prepared statements in a pipeline (rpc.prepared_call) when the pool keeps them and
    the values allow; else one query string."""
    if pool.prepared_statements:
        try:
            result = await prepared_call.run(conn, settings, read_only, sql, params)
        except prepared_call.Unusable:
            pool.prepared_statements = False
            log.warning(
                "prepared statements do not stay on this database's connections (a pooler in "
                "transaction mode?): calls go as query strings"
            )
            result = None
        if result is not None:
            return result
    return await _run(conn, _query(conn, sql, read_only, settings, params))


async def call(
    pool: Pool, sql: str, params: list, role: str, claims_json: str, timeout_ms: int, read_only: bool
) -> CallResult:
    try:
        # getconn/putconn rather than pool.connection(): its context managers (the pool's
        # and the connection's, which commits an autocommit connection) cost ~50k
        # instructions a call and add nothing to one implicit transaction.
        conn = await pool.getconn()
        try:
            return await _call(
                pool, conn, sql, read_only, [role, claims_json, str(timeout_ms), _application_name()], params
            )
        except psycopg.errors.ReadOnlySqlTransaction:
            if read_only:
                raise  # a GET that tried to write: the function's fault, not the server's
            # A write on a server that is a standby now (demoted under this connection):
            # drop the connection, whose reconnect finds the primary (target_session_attrs).
            await conn.close()
            raise unavailable("the database server is read-only (a failover is under way)") from None
        finally:
            await pool.putconn(conn)
    except UnicodeEncodeError:
        raise ApiError("INVALID_REQUEST", "a value is not valid Unicode text") from None
    except PoolTimeout:
        raise unavailable("no database connection available") from None
    except psycopg.Error as err:
        raise from_database(err, role) from None


async def call_standby(
    pool: Pool, sql: str, params: list, role: str, claims_json: str, timeout_ms: int, max_lag_ms: int
) -> CallResult | None:
    """A read (a STABLE function over GET) on the standby pool; None when the standby
    cannot answer it - unreachable, replaying more than `max_lag_ms` behind, the read
    cancelled by a conflict with recovery, or the connection is on the primary - and the
    primary pool should."""
    try:
        async with pool.connection() as conn:
            standby, fresh = await (await conn.execute(STANDBY_STATE, [f"{max_lag_ms} milliseconds"])).fetchone()
            if not standby:
                now = time.monotonic()
                if now - _last_repick[0] >= READ_POOL_REPICK_S:
                    _last_repick[0] = now
                    await conn.close()
                return None
            if not fresh:
                return None
            return await _call(pool, conn, sql, True, [role, claims_json, str(timeout_ms), _application_name()], params)
    except (PoolTimeout, psycopg.OperationalError, psycopg.errors.SerializationFailure):
        return None
    except psycopg.Error as err:
        raise from_database(err, role) from None
