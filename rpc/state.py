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
from .auth import Authenticator, Identity
from .config import settings
from .errors import ApiError
from .worldid import WorldConfig

log = logging.getLogger("rpc")


class RpcState:
    def __init__(self):
        self.cfg = settings()
        self.auth = Authenticator(
            self.cfg.jwt_secret, max_ttl=self.cfg.jwt_max_ttl, kiosk_max_ttl=self.cfg.jwt_kiosk_max_ttl
        )
        self.pool = database.make_pool(self.cfg.rpc_database_url, self.cfg.pool_min, self.cfg.pool_max)
        self.functions: dict[str, catalogue.Function] = {}
        self.openapi_body = b"{}"
        self.world_config = WorldConfig.from_env()
        self.http = None  # httpx.AsyncClient for World ID / World App, opened in the lifespan

    async def reload(self) -> None:
        async with self.pool.connection() as conn:
            functions = await catalogue.load(conn)
            error_codes = await catalogue.load_error_codes(conn)
        errors.CODES.load(error_codes)
        self.functions = functions
        self.openapi_body = orjson.dumps(openapi.document(self.functions))
        log.info("catalogue loaded: %d api functions, %d error codes", len(functions), len(error_codes))

    async def listen_for_reloads(self) -> None:
        """Reload the catalogue (and error codes) when a migrate says so; reconnect with backoff."""
        delay = 1.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.cfg.rpc_database_url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {RELOAD_CHANNEL}")
                    await self.reload()  # anything missed while disconnected
                    delay = 1.0
                    async for _ in conn.notifies():
                        await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - keep listening whatever happened
                log.warning("reload listener: %s; retrying in %.0fs", err, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 30.0)

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
