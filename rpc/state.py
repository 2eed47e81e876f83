"""Server state shared by the handlers: settings, token checks, the pool, the catalogue
(api functions, and error codes' HTTP statuses)."""

from __future__ import annotations

import asyncio
import logging
import random

import orjson
import psycopg

from kioskledger.protocol import RELOAD_CHANNEL

from . import catalogue, database, errors, openapi
from .auth import Identity, from_settings
from .config import settings
from .errors import ApiError
from .worldid import WorldConfig

log = logging.getLogger("rpc")

# The reload listener's reconnection delays (jittered down to half): short, since a
# missed reload leaves the server on a stale catalogue, and one connection attempt a
# second or two per process costs a down database nothing.
LISTEN_RETRY_MIN_S = 0.25
LISTEN_RETRY_MAX_S = 2.0
READ_POOL_TIMEOUT_S = 0.5


class RpcState:
    def __init__(self):
        self.cfg = settings()
        self.auth = from_settings(self.cfg)
        self.pool = database.make_pool(
            self.cfg.rpc_database_url, self.cfg.pool_min, self.cfg.pool_max, self.cfg.pool_timeout_s
        )
        # GETs try the standby first (RPC_READ_DATABASE_URL); its waits are short, since
        # the primary can always answer instead.
        self.read_pool = (
            database.make_pool(
                self.cfg.read_database_url,
                1,
                self.cfg.pool_max,
                min(self.cfg.pool_timeout_s, READ_POOL_TIMEOUT_S),
                application_name="kioskledger-rpc-read",
            )
            if self.cfg.read_database_url
            else None
        )
        self.functions: dict[str, catalogue.Function] = {}
        self.catalogue_version: dict | None = None  # what the loaded catalogue is (catalogue.sql: version)
        self.openapi_body = b"{}"
        self.world_config = WorldConfig.from_env()
        self.http = None  # httpx.AsyncClient for World ID / World App, opened in the lifespan
        self.alert_hub = None  # rpc.events.AlertHub: the LISTEN behind GET /events, made in the lifespan

    async def reload(self, conn: psycopg.AsyncConnection | None = None) -> None:
        """Read the catalogue on `conn`, else on a pooled connection."""
        if conn is None:
            async with self.pool.connection() as pooled:
                return await self.reload(pooled)
        # The version first: a migrate committing meanwhile leaves it older than what is
        # loaded, and the next poll loads again.
        version = await catalogue.load_version(conn)
        functions = await catalogue.load(conn)
        error_codes = await catalogue.load_error_codes(conn)
        errors.CODES.load(error_codes)
        self.functions = functions
        self.catalogue_version = version
        self.openapi_body = orjson.dumps(openapi.document(self.functions))
        log.info("catalogue loaded: %d api functions, %d error codes", len(functions), len(error_codes))

    async def listen_for_reloads(self) -> None:
        """Reload the catalogue (and error codes) when a migrate says so.

        The listener has its own connection (RPC_LISTEN_DATABASE_URL) and reloads on it,
        so it never waits on the pool. A migrate NOTIFYs; and every RPC_CATALOGUE_POLL_MS
        without a notification the listener compares the catalogue version, so a lost
        notification (PgBouncer in transaction mode drops the LISTEN) costs seconds, not a
        stale catalogue until restart. When its connection is lost it reconnects at once
        and then at most every LISTEN_RETRY_MAX_S, and every reconnection reloads (a
        migrate may have notified while it was away)."""
        delay = LISTEN_RETRY_MIN_S
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.cfg.listen_database_url,
                    autocommit=True,
                    prepare_threshold=None,
                    connect_timeout=database.CONNECT_TIMEOUT_S,
                    application_name="kioskledger-rpc-listener",
                ) as conn:
                    await conn.execute(f"LISTEN {RELOAD_CHANNEL}")
                    await self.reload(conn)  # anything missed while disconnected
                    delay = LISTEN_RETRY_MIN_S
                    while True:
                        # The generator holds the connection's lock: reload after it ends.
                        notified = [n async for n in conn.notifies(timeout=self.cfg.catalogue_poll_s, stop_after=1)]
                        if notified or await catalogue.load_version(conn) != self.catalogue_version:
                            await self.reload(conn)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - keep listening whatever happened
                log.warning("reload listener: %s; retrying in %.1fs", err, delay)
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
                delay = min(delay * 2, LISTEN_RETRY_MAX_S)

    def check_caller(self, name: str, ident: Identity) -> None:
        """For a route that reads its own arguments: refuse a caller who may not call api.<name> first."""
        fn = self.functions.get(name)
        if fn is not None:
            fn.check_caller(ident.role)

    async def call(self, name: str, values: dict, ident: Identity) -> database.CallResult:
        """Call api.<name> for a route other than /rpc (checkout, webhooks) - same checks, same path."""
        fn = self.functions.get(name)
        if fn is None:
            raise ApiError("SERVER_ERROR", f"api.{name} is missing; run migrate")
        fn.check_caller(ident.role)
        sql, params = fn.bind(values)
        try:
            return await database.call(
                self.pool, sql, params, ident.role, ident.claims_json, self.cfg.statement_timeout_ms, fn.read_only
            )
        except ApiError as err:
            raise fn.name_the_argument(err, values) from None
