"""The edge's local HTTP API for the kiosk UI.

  GET  /catalog        the cached catalog (refreshed in the background when the central answers)
  POST /edge/checkout  {idempotency_key, payment_method, lines: [{sku, qty}]} -> the order,
                       acknowledged only after the local commit. Prices come from the cached
                       catalog, never from the UI. Same key again -> the same order (200,
                       Idempotent-Replayed); same key with another request -> 422. 503
                       NO_CATALOG before the first catalog, CLOCK_INVALID while the kiosk
                       clock is outside the years the central accepts (2000-2199).
  GET  /edge/orders    ?state=pending|synced|rejected|mismatch&limit=100&before=<seq>
  POST /edge/sync      sync now; 503 CENTRAL_UNREACHABLE when the central does not answer
  GET  /edge/status    link state as the sync observes it, backlog, catalog, durability

Errors: {"code", "message", "details", "hint"}, as the central's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from datetime import UTC, datetime

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .central import Central, CentralError, CentralRefused
from .config import EdgeConfig
from .store import Store, utc_iso
from .syncer import Catalog, Syncer

log = logging.getLogger("checkout_edge")

# Whole-string match (fullmatch): with re.match, "$" also matches before a trailing "\n",
# and the central (a PostgreSQL regex, where "$" is the end) refuses such a key.
KEY_RE = re.compile(r"[A-Za-z0-9_.:-]{8,128}")
PAYMENT_METHODS = ("card", "mobile", "cash")
MAX_LINES = 100
MAX_QTY = 200
MAX_BODY = 256 * 1024
# The central takes created_at from 2000 to 2199 (checkout.parse_time) and refuses any
# other. A kiosk clock outside that range (a dead RTC battery says 1970) would acknowledge
# sales the central refuses, so the edge stops selling until the clock is set.
SALE_YEARS = range(2000, 2200)
STATES = ("pending", "synced", "rejected", "mismatch")


class EdgeError(Exception):
    def __init__(self, status: int, code: str, message: str, details=None, hint=None):
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.hint = status, code, message, details, hint

    def response(self) -> Response:
        return _json(
            {"code": self.code, "message": self.message, "details": self.details, "hint": self.hint}, self.status
        )


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _bad(message: str, **details) -> EdgeError:
    return EdgeError(400, "INVALID_REQUEST", message, details or None)


async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise EdgeError(413, "PAYLOAD_TOO_LARGE", f"request body over {MAX_BODY} bytes")
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as err:
        raise _bad(f"body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    return body


def _is_int(v) -> bool:
    return type(v) is int  # not bool, not float: 2.0 items or 1.99 EUR are refused


def parse_checkout(body: dict) -> tuple[str, str, list[tuple[str, int]]]:
    """Check the UI's request: (idempotency_key, payment_method, [(sku, qty)])."""
    unknown = sorted(set(body) - {"idempotency_key", "payment_method", "lines"})
    if unknown:
        hint = "prices come from the catalog" if {"total", "prices", "amount"} & set(unknown) else None
        raise EdgeError(400, "INVALID_REQUEST", f"unknown field(s) {', '.join(unknown)}", {"fields": unknown}, hint)
    key = body.get("idempotency_key")
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise _bad("idempotency_key must be 8-128 letters, digits or _.:-", argument="idempotency_key")
    method = body.get("payment_method")
    if method not in PAYMENT_METHODS:
        raise _bad("payment_method must be card, mobile or cash", argument="payment_method")
    lines = body.get("lines")
    if not isinstance(lines, list) or not 1 <= len(lines) <= MAX_LINES:
        raise _bad(f"lines must be an array of 1 to {MAX_LINES} {{sku, qty}}", argument="lines")
    parsed = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            raise _bad(f"lines[{i}] must be an object {{sku, qty}}", argument="lines", index=i)
        extra = sorted(set(line) - {"sku", "qty"})
        if extra:
            raise EdgeError(
                400,
                "INVALID_REQUEST",
                f"lines[{i}]: unknown field(s) {', '.join(extra)}",
                {"argument": "lines", "index": i},
                "prices come from the catalog" if "unit_price" in extra or "price" in extra else None,
            )
        sku, qty = line.get("sku"), line.get("qty")
        if not isinstance(sku, str) or not sku:
            raise _bad(f"lines[{i}].sku must be a string", argument="lines", index=i)
        if not _is_int(qty) or not 1 <= qty <= MAX_QTY:
            raise _bad(f"lines[{i}].qty must be an integer 1..{MAX_QTY}", argument="lines", index=i)
        parsed.append((sku, qty))
    return key, method, parsed


def sale_time(now: datetime | None = None) -> str:
    """The created_at of a sale made now, in the form the central parses."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if now.year not in SALE_YEARS:
        raise EdgeError(
            503,
            "CLOCK_INVALID",
            f"the kiosk clock says {utc_iso(now)}: no sale can be dated then",
            {"clock": utc_iso(now)},
            f"set the kiosk clock (NTP): the central refuses orders dated before {SALE_YEARS[0]} "
            f"or after {SALE_YEARS[-1]}",
        )
    return utc_iso(now)


def request_hash(method: str, lines: list[tuple[str, int]]) -> str:
    return hashlib.sha256(
        orjson.dumps({"payment_method": method, "lines": lines}, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


class Edge:
    def __init__(self, cfg: EdgeConfig):
        self.cfg = cfg
        self.store = Store(cfg.db_path, cfg.kiosk_id)
        self.catalog = Catalog(self.store.load_catalog())
        self.central = Central(cfg.central_url, cfg.token, cfg.timeout)
        self.syncer = Syncer(cfg, self.store, self.central, self.catalog)
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.syncer.heartbeat_loop(), name="edge-heartbeat"),
            asyncio.create_task(self.syncer.sync_loop(), name="edge-sync"),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.central.close()
        self.store.close()

    def price(self, lines: list[tuple[str, int]]) -> tuple[int, str, list[dict], list[dict], int]:
        """Price the lines from the cached catalog:
        (catalog version, currency, receipt lines, central lines, total)."""
        cat = self.catalog
        if cat.version is None:
            raise EdgeError(
                503,
                "NO_CATALOG",
                "no catalog yet: the central has not been reachable since this edge started",
                hint="retry when GET /edge/status shows link_up",
            )
        receipt, central_lines, currencies = [], [], set()
        for i, (sku, qty) in enumerate(lines):
            item = cat.items.get(sku)
            if item is None:
                raise _bad(f"lines[{i}]: unknown sku {sku}", argument="lines", index=i, sku=sku)
            if not item["active"]:
                raise _bad(f"lines[{i}]: sku {sku} is not on sale", argument="lines", index=i, sku=sku)
            currencies.add(item["currency"])
            receipt.append(
                {
                    "sku": sku,
                    "name": item["name"],
                    "qty": qty,
                    "unit_price": item["price"],
                    "amount": qty * item["price"],
                }
            )
            central_lines.append({"sku": sku, "qty": qty, "unit_price": item["price"]})
        if len(currencies) != 1:
            raise _bad("all lines of an order must be in one currency", currencies=sorted(currencies))
        total = sum(line["amount"] for line in receipt)  # integer cents, from the lines
        return cat.version, currencies.pop(), receipt, central_lines, total

    async def checkout(self, body: dict) -> tuple[dict, bool]:
        key, method, lines = parse_checkout(body)
        rhash = request_hash(method, lines)
        existing = await asyncio.to_thread(self.store.get, key)
        if existing is None:
            version, currency, receipt, central_lines, total = self.price(lines)
            created_at = sale_time()
            payload = orjson.dumps(
                {
                    "idempotency_key": key,
                    "created_at": created_at,
                    "payment_method": method,
                    "currency": currency,
                    "catalog_version": version,
                    "lines": central_lines,
                }
            )
            existing, inserted = await asyncio.to_thread(
                self.store.insert,
                key=key,
                request_hash=rhash,
                created_at=created_at,
                payment_method=method,
                currency=currency,
                catalog_version=version,
                total=total,
                lines=receipt,
                payload=payload,
            )
            if inserted:
                self.syncer.order_placed()
                return existing.to_json(self.cfg.kiosk_id), True
        # The key exists (found, or a concurrent request won the insert): replay or refuse.
        if existing.request_hash != rhash:
            raise EdgeError(
                422,
                "IDEMPOTENCY_MISMATCH",
                f"idempotency_key {key} was already used for a different checkout",
                {"idempotency_key": key, "order_id": f"{self.cfg.kiosk_id}:{key}"},
                "use a new idempotency_key for a new checkout",
            )
        return existing.to_json(self.cfg.kiosk_id), False

    async def status(self) -> dict:
        counts = await asyncio.to_thread(self.store.counts)
        return {
            "kiosk_id": self.cfg.kiosk_id,
            "app_version": self.cfg.app_version,
            "central_url": self.cfg.central_url,
            **self.syncer.status(),
            "pending_orders": counts["by_state"]["pending"]["orders"],
            "oldest_pending_at": counts["oldest_pending_at"],
            "orders": counts["by_state"],
            "catalog": {
                "version": self.catalog.version,
                "items": len(self.catalog.items),
                "fetched_at": self.catalog.fetched_at,
                "max_batch": self.catalog.max_batch,
            },
            "durability": await asyncio.to_thread(self.store.durability),
        }


def _edge(request: Request) -> Edge:
    return request.app.state.edge


async def get_catalog(request: Request) -> Response:
    edge = _edge(request)
    if edge.catalog.version is None:
        return EdgeError(503, "NO_CATALOG", "no catalog yet: the central has not been reachable").response()
    return _json({**edge.catalog.to_json(), "link_up": edge.syncer.link_up})


async def post_checkout(request: Request) -> Response:
    try:
        order, created = await _edge(request).checkout(await _body(request))
    except EdgeError as err:
        return err.response()
    return _json(order, 201) if created else _json(order, 200, {"Idempotent-Replayed": "true"})


async def get_orders(request: Request) -> Response:
    q = request.query_params
    state = q.get("state") or None
    if state is not None and state not in STATES:
        return _bad(f"state must be one of {', '.join(STATES)}", argument="state").response()
    try:
        limit = int(q.get("limit", "100"))
        before = int(q["before"]) if q.get("before") else None
    except ValueError:
        return _bad("limit and before must be integers").response()
    if not 1 <= limit <= 1000:
        return _bad("limit must be 1..1000", argument="limit").response()
    edge = _edge(request)
    orders = await asyncio.to_thread(edge.store.list, state, limit, before)
    return _json(
        {
            "orders": [o.to_json(edge.cfg.kiosk_id) for o in orders],
            "next_before": orders[-1].seq if len(orders) == limit else None,
        }
    )


async def post_sync(request: Request) -> Response:
    edge = _edge(request)
    try:
        result = await edge.syncer.sync_now()
    except CentralRefused as err:
        return EdgeError(502, "CENTRAL_REFUSED", str(err), err.body).response()
    except CentralError as err:
        pending, _ = await asyncio.to_thread(edge.store.backlog)
        return EdgeError(
            503,
            "CENTRAL_UNREACHABLE",
            str(err),
            {"pending": pending},
            "orders stay pending and sync by themselves once the central answers",
        ).response()
    return _json({**result, "link_up": edge.syncer.link_up})


async def get_status(request: Request) -> Response:
    return _json(await _edge(request).status())


def create_app(cfg: EdgeConfig) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        edge = app.state.edge = Edge(cfg)
        edge.start()
        try:
            yield
        finally:
            await edge.stop()

    return Starlette(
        routes=[
            Route("/catalog", get_catalog, methods=["GET"]),
            Route("/edge/checkout", post_checkout, methods=["POST"]),
            Route("/edge/orders", get_orders, methods=["GET"]),
            Route("/edge/sync", post_sync, methods=["POST"]),
            Route("/edge/status", get_status, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
