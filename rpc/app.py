"""The Starlette app: POST/GET /rpc/{name} -> api.name(...), plus health, metrics, OpenAPI.

No business rule lives here: the handler checks the protocol (token, JSON shape, argument
types), runs the function in one transaction and maps its answer to HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

import orjson
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import catalogue, database, metrics, openapi
from .auth import Authenticator
from .config import settings
from .errors import ApiError, status_for
from .migrate import RELOAD_CHANNEL

log = logging.getLogger("rpc")
JSON = "application/json"
REPLAYED = {"Idempotent-Replayed": "true"}


def error_response(err: ApiError, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(err.body()), err.status, headers, media_type=JSON)


class RpcState:
    def __init__(self):
        self.cfg = settings()
        self.auth = Authenticator(self.cfg.jwt_secret)
        self.pool = database.make_pool(self.cfg.rpc_database_url, self.cfg.pool_min, self.cfg.pool_max)
        self.functions: dict[str, catalogue.Function] = {}
        self.openapi_body = b"{}"

    async def reload(self) -> None:
        async with self.pool.connection() as conn:
            self.functions = await catalogue.load(conn)
        self.openapi_body = orjson.dumps(openapi.document(self.functions))
        log.info("catalogue loaded: %d api functions", len(self.functions))

    async def listen_for_reloads(self) -> None:
        """Reload the catalogue when a migrate says so; reconnect with backoff."""
        delay = 1.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.cfg.rpc_database_url, autocommit=True) as conn:
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


async def rpc(request: Request) -> Response:
    state: RpcState = request.app.state.rpc
    name = request.path_params["name"]
    fn = state.functions.get(name)
    label = name if fn is not None else "<unknown>"
    started = time.perf_counter()
    status = 500
    try:
        ident = state.auth.identify(request.headers.get("authorization"))
        if fn is None:
            raise ApiError("NOT_FOUND", f"no function api.{name}", hint="see /openapi.json")
        if request.method == "GET":
            if not fn.read_only:
                raise ApiError("METHOD_NOT_ALLOWED", f"{name} changes data: use POST",
                               hint="GET is only for STABLE functions")
            values = fn.values_from_query(dict(request.query_params))
        else:
            values = _json_object(await request.body())
        sql, params = fn.bind(values)
        result = await database.call(state.pool, sql, params, ident.role, ident.claims_json,
                                     state.cfg.statement_timeout_ms, fn.read_only)
        status = status_for(result.decline) if result.decline else 200
        return Response(result.body.encode(), status, REPLAYED if result.replayed else None, media_type=JSON)
    except ApiError as err:
        status = err.status
        return error_response(err, {"Allow": "POST"} if status == 405 else None)
    except Exception:
        log.exception("unexpected error in /rpc/%s", name)
        return error_response(ApiError("SERVER_ERROR", "internal error"))
    finally:
        metrics.REQUESTS.labels(label, status).inc()
        metrics.LATENCY.labels(label).observe(time.perf_counter() - started)


def _json_object(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        values = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ApiError("INVALID_REQUEST", f"body is not valid JSON: {err}") from None
    if not isinstance(values, dict):
        raise ApiError("INVALID_REQUEST", "body must be a JSON object of named arguments")
    return values


async def health(request: Request) -> Response:
    state: RpcState = request.app.state.rpc
    try:
        async with state.pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except Exception as err:  # noqa: BLE001 - any failure means "not healthy"
        return error_response(ApiError("DATABASE_UNAVAILABLE", f"database unreachable: {type(err).__name__}"))
    return Response(b'{"status":"ok"}', media_type=JSON)


async def openapi_json(request: Request) -> Response:
    return Response(request.app.state.rpc.openapi_body, media_type=JSON)


async def metrics_endpoint(request: Request) -> Response:
    return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    state = app.state.rpc = RpcState()
    if not state.cfg.jwt_secret:
        log.warning("JWT_SECRET is not set: every request runs as anon")
    await state.pool.open(wait=True, timeout=30)
    metrics.track_pool(state.pool)
    await state.reload()
    listener = asyncio.create_task(state.listen_for_reloads())
    try:
        yield
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await state.pool.close()


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/rpc/{name}", rpc, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/openapi.json", openapi_json, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
