"""GET /events - alert changes as server-sent events (text/event-stream).

Each event is `id: <alert event id>`, `event: alert`, `data: <the alert as api.alerts shows
it>`. What a caller may see, and the events themselves, come from api.alert_events, called
as the caller (so the company scoping is SQL's, as for api.alerts); Python only carries
them. One LISTEN connection per server process (AlertHub) hears the NOTIFYs of the alert
trigger and wakes every stream, which then asks api.alert_events for what came after its
cursor. A lost NOTIFY costs at most a keep-alive interval: every keep-alive asks as well.
A reconnecting client sends `Last-Event-ID` (EventSource does) or `?after=<id>` and gets
every change after it from the table. EventSource cannot set headers, so the token may
come as `?access_token=`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import time

import orjson
import psycopg
from starlette.requests import Request
from starlette.responses import Response

from . import database
from .auth import Identity
from .errors import ApiError, error_response

log = logging.getLogger("rpc.events")

CHANNEL = "kioskledger_alerts"
FUNCTION = "alert_events"
PAGE = 200
LISTEN_RETRY_MIN_S = 0.25
LISTEN_RETRY_MAX_S = 5.0


def _settings() -> tuple[int, float]:
    return (
        int(os.environ.get("RPC_EVENTS_MAX_STREAMS", "100")),
        int(os.environ.get("RPC_EVENTS_KEEPALIVE_MS", "15000")) / 1000,
    )


class AlertHub:
    """The process's one LISTEN on kioskledger_alerts, and the streams it wakes."""

    def __init__(self, listen_url: str):
        self.listen_url = listen_url
        self.max_streams, self.keepalive_s = _settings()
        self.streams = 0
        self.changed = asyncio.Event()
        self.closing = asyncio.Event()

    def wake(self) -> None:
        # A fresh event per change: a stream holds the one it saw before its last query,
        # so a change during that query is not lost.
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    def close(self) -> None:
        self.closing.set()
        self.wake()

    async def listen(self) -> None:
        delay = LISTEN_RETRY_MIN_S
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.listen_url,
                    autocommit=True,
                    prepare_threshold=None,
                    connect_timeout=database.CONNECT_TIMEOUT_S,
                    application_name="kioskledger-rpc-alerts",
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.wake()  # changes made while it was not listening
                    delay = LISTEN_RETRY_MIN_S
                    async for _ in conn.notifies():
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - keep listening whatever happened
                log.warning("alert listener: %s; retrying in %.1fs", err, delay)
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
                delay = min(delay * 2, LISTEN_RETRY_MAX_S)

    def end_streams_on_exit(self) -> None:
        """uvicorn waits for open responses before it shuts down, and a stream never ends
        by itself: on the signals that stop the server, end the streams first."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(signum, frame, previous=previous):
                loop.call_soon_threadsafe(self.close)
                previous(signum, frame)

            with contextlib.suppress(ValueError):  # not the main thread: nothing to chain
                signal.signal(sig, handler)


def _token(request: Request) -> str:
    header = request.headers.get("authorization")
    if header:
        return header
    token = request.query_params.get("access_token")
    if token:
        return "Bearer " + token
    raise ApiError(
        "UNAUTHENTICATED",
        "GET /events needs a bearer token",
        hint="send Authorization: Bearer <JWT>, or ?access_token=<JWT> from EventSource",
    )


def _cursor(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError("INVALID_REQUEST", "Last-Event-ID / after must be an event id", details={"argument": "after"})
    return int(raw)


def _frame(event: dict) -> bytes:
    return b"id: %d\nevent: alert\ndata: %s\n\n" % (event["id"], orjson.dumps(event["alert"]))


class EventStream(Response):
    """The stream itself: sends until the client goes, the token expires or the server stops."""

    media_type = "text/event-stream"

    def __init__(self, state, hub: AlertHub, ident: Identity, first: dict):
        super().__init__()
        # No content-length: the body has no end (a Response without content would say 0).
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        self.state, self.hub, self.ident, self.first = state, hub, ident, first

    async def _page(self, after: int) -> dict:
        result = await self.state.call(FUNCTION, {"after": after, "limit": PAGE}, self.ident)
        return orjson.loads(result.body)

    async def _wait(self, changed: asyncio.Event, gone: asyncio.Event, timeout: float) -> bool:
        """Until a change, the client leaving, the server stopping or `timeout`; True on a timeout."""
        waiters = [asyncio.ensure_future(e.wait()) for e in (changed, gone, self.hub.closing)]
        try:
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return not done

    async def _pump(self, send, gone: asyncio.Event) -> None:
        # The client retries 2 s after a drop; the first page was read before the headers.
        await send({"type": "http.response.body", "body": b"retry: 2000\n\n", "more_body": True})
        page = self.first
        while True:
            if page["events"]:
                body = b"".join(_frame(e) for e in page["events"])
                await send({"type": "http.response.body", "body": body, "more_body": True})
            cursor = page["last_event_id"]
            if len(page["events"]) < PAGE:  # else more is waiting: ask again at once
                changed = self.hub.changed
                left = None if self.ident.expires_at is None else self.ident.expires_at - time.time()
                if gone.is_set() or self.hub.closing.is_set() or (left is not None and left <= 0):
                    return
                timeout = self.hub.keepalive_s if left is None else min(self.hub.keepalive_s, left)
                if await self._wait(changed, gone, timeout):
                    await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
                if gone.is_set() or self.hub.closing.is_set():
                    return
            # Never cancelled in here: a query cut off midway would leave its connection
            # busy. The statement timeout bounds it.
            page = await self._page(cursor)

    async def __call__(self, scope, receive, send) -> None:
        gone = asyncio.Event()

        async def watch():
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            watcher = asyncio.ensure_future(watch())
            await self._pump(send, gone)
        except OSError:
            pass  # the client is gone
        except ApiError as err:  # the database went away under the stream: the client reconnects
            log.info("event stream ended: %s", err.message)
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            self.hub.streams -= 1
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def events(request: Request) -> Response:
    state = request.app.state.rpc
    hub: AlertHub = state.alert_hub
    try:
        ident = state.auth.identify(_token(request))
        state.check_caller(FUNCTION, ident)
        after = _cursor(request)
        if hub.streams >= hub.max_streams:
            return error_response(
                ApiError("TOO_MANY_STREAMS", f"this server serves at most {hub.max_streams} event streams"),
                {"Retry-After": "5"},
            )
        # The first page before the headers: a caller that may not read alerts, or a
        # database that is down, gets its HTTP error rather than an empty stream.
        first = orjson.loads((await state.call(FUNCTION, {"after": after, "limit": PAGE}, ident)).body)
    except ApiError as err:
        return error_response(err)
    hub.streams += 1  # EventStream.__call__ gives it back, whichever way the stream ends
    return EventStream(state, hub, ident, first)
