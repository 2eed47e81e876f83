"""The HTTP app: /rpc/{name} (rpc.dispatch, the hot path) in front of a Starlette app
for everything else (health, metrics, OpenAPI, Stripe checkout and webhook, account logins,
the ATM customer's page) and the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import atm_pay, compat, console, docs, events, login, metrics, miniapp, observe, payments
from .access_log import ACCESS_LOG
from .dispatch import handle_rpc
from .errors import error_response, unavailable
from .limits import BodyLimit
from .state import RpcState

log = logging.getLogger("rpc")
JSON = "application/json"


async def health(request: Request) -> Response:
    state: RpcState = request.app.state.rpc
    try:
        async with state.pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except Exception as err:  # noqa: BLE001 - any failure means "not healthy"
        return error_response(unavailable(f"database unreachable: {type(err).__name__}"))
    # What this server serves: the catalogue version it loaded (sql/ digest and when it
    # was applied, the last migration), to compare with the database after a migrate.
    catalogue = {**(state.catalogue_version or {}), "functions": len(state.functions)}
    return Response(orjson.dumps({"status": "ok", "catalogue": catalogue}), media_type=JSON)


async def openapi_json(request: Request) -> Response:
    return Response(request.app.state.rpc.openapi_body, media_type=JSON)


async def metrics_endpoint(request: Request) -> Response:
    return Response(await metrics.scrape(), media_type="text/plain; version=0.0.4")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    state = app.state.rpc = RpcState()
    if not (state.cfg.jwt_secret or state.cfg.jwt_jwks_file or state.cfg.jwt_jwks_url):
        log.warning("neither JWT_SECRET nor a JWKS is set: every request runs as anon")
    if state.world_config.dev_mode:
        for _ in range(3):
            log.warning(
                "WORLD_ID_MODE=dev: World ID proofs and World App payments are NOT verified. "
                "Never run this in production."
            )
    state.http = httpx.AsyncClient(timeout=10)
    await state.pool.open(wait=True, timeout=30)
    metrics.track_pool(state.pool)
    if state.read_pool is not None:
        await state.read_pool.open(wait=False)  # a standby that is down must not stop the start
    await state.reload()
    listener = asyncio.create_task(state.listen_for_reloads())
    # One LISTEN for the alert stream per process, whatever the number of clients.
    state.alert_hub = events.AlertHub(state.cfg.listen_database_url)
    state.alert_hub.end_streams_on_exit()
    metrics.track_event_streams(state.alert_hub)
    alerts_listener = asyncio.create_task(state.alert_hub.listen())
    try:
        yield
    finally:
        state.alert_hub.close()
        for task in (listener, alerts_listener):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await state.pool.close()
        if state.read_pool is not None:
            await state.read_pool.close()
        await state.http.aclose()
        ACCESS_LOG.flush()


class KioskLedgerApp:
    """ASGI entry point: /rpc/* straight to the dispatcher, the rest to Starlette."""

    def __init__(self, starlette: Starlette):
        self.starlette = starlette
        # Each route's pattern and label: /miniapp/pay/<id> counts as /miniapp/pay/{id}.
        self.routes = [(route.path_regex, route.path) for route in starlette.routes]

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/rpc/"):
            await handle_rpc(self.starlette.state.rpc, scope, receive, send)
        else:
            await self.starlette(scope, receive, send)

    def label(self, path: str) -> str:
        """The function or route a path names, for metrics and logs; anything else is one
        label, so a scanner's made-up paths cannot grow the metrics without bound."""
        if path.startswith("/rpc/"):
            name = path[len("/rpc/") :]
            return name if name in self.starlette.state.rpc.functions else "<unknown>"
        return next((label for pattern, label in self.routes if pattern.match(path)), "<unknown>")


def create_app() -> observe.Observe:
    app = KioskLedgerApp(create_starlette())
    compatible = compat.Compat(app)
    # Outermost, so every answer is counted and logged, the body limit's 413 too; a call
    # under the base path counts as its function.
    return observe.Observe(BodyLimit(compatible), lambda path: app.label(compatible.unprefixed(path)))


def create_starlette() -> Starlette:
    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/recharge/checkout", payments.recharge_checkout, methods=["POST"]),
            Route("/webhooks/stripe", payments.stripe_webhook, methods=["POST"]),
            Route("/atm/pay", atm_pay.atm_pay, methods=["POST"]),
            Route("/auth/login", login.login, methods=["POST"]),
            Route("/auth/refresh", login.refresh, methods=["POST"]),
            Route("/auth/logout", login.logout, methods=["POST"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/openapi.json", openapi_json, methods=["GET"]),
            Route("/events", events.events, methods=["GET"]),
            *miniapp.routes,
            *console.routes,
            *docs.routes(),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: compat.http_error, Exception: compat.server_error},
    )
