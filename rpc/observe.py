"""Per request, for every route: the request id, the metrics and one JSON access-log line.

One ASGI middleware around the whole app, so no handler has to remember it: a 413 from
the body limit, a Stripe webhook and an /rpc call are counted and logged alike. What only
a handler knows (who the caller is) it notes with `identified`; the error code and
`replayed` are read from the response itself (the error body's "code", the
Idempotent-Replayed header).

The request id comes from the client's X-Request-Id, else the trace id of a W3C
`traceparent`, else a new one; it is echoed in X-Request-Id and travels to Postgres as the
transaction's application_name (rpc/database.py), so a slow-query log line (%a in
log_line_prefix) names the HTTP request it belongs to.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import re
import secrets
import time

import orjson

from . import metrics
from .access_log import ACCESS_LOG

# Postgres keeps 63 bytes of application_name ("kioskledger-rpc " + the id), and the id is
# written into log lines and headers: only short, plain ids are taken from the client.
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,46}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


class Record:
    __slots__ = ("request_id", "role", "sub")

    def __init__(self, request_id: str):
        self.request_id = request_id
        self.role: str | None = None
        self.sub: str | None = None


CURRENT: contextvars.ContextVar[Record | None] = contextvars.ContextVar("kioskledger_request", default=None)


def request_id() -> str | None:
    record = CURRENT.get()
    return record.request_id if record is not None else None


def identified(ident) -> None:
    """The handler knows the caller: note role and sub for the access log."""
    record = CURRENT.get()
    if record is None:
        return
    record.role = ident.role
    if ident.claims_json != "{}":
        try:
            sub = orjson.loads(ident.claims_json).get("sub")
        except (orjson.JSONDecodeError, AttributeError):
            sub = None
        record.sub = sub if isinstance(sub, str) else None


def request_id_from(headers) -> str:
    given = traceparent = None
    for key, value in headers:
        if key == b"x-request-id":
            given = value.decode("latin-1").strip()
        elif key == b"traceparent":
            traceparent = value.decode("latin-1").strip()
    if given and _CLIENT_ID.fullmatch(given):
        return given
    if traceparent:
        match = _TRACEPARENT.fullmatch(traceparent)
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return _new_request_id()


# A new id: this process's random prefix and a counter, 32 hex digits like a trace id.
# Unique without asking the kernel for randomness on every request (a getrandom call);
# a forked child draws its own prefix.
_ids: tuple[str, itertools.count] = ("", itertools.count())


def _fresh_ids() -> None:
    global _ids
    _ids = (secrets.token_hex(10), itertools.count())


_fresh_ids()
os.register_at_fork(after_in_child=_fresh_ids)


def _new_request_id() -> str:
    prefix, counter = _ids
    return f"{prefix}{next(counter):012x}"


class Observe:
    """ASGI middleware: request id, metrics and the access-log line for every HTTP request.
    `label(path)` names the function or route for metrics and logs (a bounded set)."""

    def __init__(self, app, label):
        self.app = app
        self.label = label

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        record = Record(request_id_from(scope["headers"]))
        token = CURRENT.set(record)
        rid_header = (b"x-request-id", record.request_id.encode())
        status, code, replayed = 500, None, False

        async def observed_send(message):
            nonlocal status, code, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), rid_header]
                replayed = (b"idempotent-replayed", b"true") in headers
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and status >= 400 and code is None:
                code = _error_code(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            CURRENT.reset(token)
            seconds = time.perf_counter() - started
            name = self.label(scope["path"])
            metrics.count(name, status, code or "", replayed, seconds)
            if ACCESS_LOG.enabled():
                ACCESS_LOG.write(
                    {
                        "request_id": record.request_id,
                        "method": scope["method"],
                        "function": name,
                        "status": status,
                        "code": code,
                        "duration_ms": round(seconds * 1000, 3),
                        "role": record.role,
                        "sub": record.sub,
                        "replayed": replayed,
                    }
                )


def _error_code(body: bytes) -> str:
    # Every error answer is {"code", "message", "details", "hint"} (rpc/errors.py).
    try:
        code = orjson.loads(body).get("code")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return code if isinstance(code, str) else ""
