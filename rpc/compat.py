"""What stock PostgREST/Supabase clients (supabase-js, postgrest-js) need from the edge of
the server, kept apart from the hot path in rpc/dispatch.py:

- the RPC under a base path too (RPC_BASE_PATH, default /rest/v1: supabase-js calls
  <url>/rest/v1/rpc/<fn>), next to plain /rpc/<fn>;
- an `apikey` header stands for the bearer token when there is no Authorization header;
- CORS for the origins in RPC_CORS_ORIGINS (comma list, or *; empty: no CORS);
- HEAD /rpc/<fn>: the GET without its body;
- request checks the dispatcher calls: Prefer (nothing refused is silently dropped),
  a JSON content type, no query string on POST, Idempotency-Key as request_id;
- JSON error bodies for the Starlette routes too (unknown path, wrong method).
"""

from __future__ import annotations

import logging
import os

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError, error_response

log = logging.getLogger("rpc")

DEFAULT_BASE_PATH = "/rest/v1"
ALLOWED_METHODS = b"GET, HEAD, POST, OPTIONS"
# supabase-js sends apikey, x-client-info and (schema 'public') Accept-/Content-Profile.
ALLOWED_HEADERS = (
    b"authorization, apikey, content-type, prefer, x-client-info, idempotency-key, x-request-id, "
    b"accept-profile, content-profile"
)
EXPOSED_HEADERS = b"Idempotent-Replayed, ETag, X-Request-Id"
PREFLIGHT_MAX_AGE = b"600"
_JSON_HEADERS = [(b"content-type", b"application/json")]


def base_path_setting(raw: str | None) -> str:
    """RPC_BASE_PATH as a prefix without a trailing slash; '' serves /rpc/ only."""
    value = (DEFAULT_BASE_PATH if raw is None else raw).strip().rstrip("/")
    if value and not value.startswith("/"):
        value = "/" + value
    return value


def cors_origins_setting(raw: str | None) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in (raw or "").split(",") if o.strip())


class Compat:
    """ASGI middleware in front of the app: base path, apikey, CORS, HEAD on /rpc/."""

    def __init__(self, app, base_path: str | None = None, cors_origins: frozenset[str] | None = None):
        self.app = app
        self.base = base_path_setting(os.environ.get("RPC_BASE_PATH") if base_path is None else base_path)
        self.base_rpc = self.base + "/rpc/" if self.base else None
        origins = cors_origins_setting(os.environ.get("RPC_CORS_ORIGINS")) if cors_origins is None else cors_origins
        self.any_origin = "*" in origins
        self.origins = origins

    def unprefixed(self, path: str) -> str:
        """The path as the app sees it: /rest/v1/rpc/<fn> is /rpc/<fn>."""
        return path[len(self.base) :] if self.base_rpc and path.startswith(self.base_rpc) else path

    def _allowed(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = apikey = preflight = None
        has_auth = False
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value
            elif key == b"authorization":
                has_auth = True
            elif key == b"apikey":
                apikey = value
            elif key == b"access-control-request-method":
                preflight = value
        path, method = scope["path"], scope["method"]
        if self.base_rpc and path.startswith(self.base_rpc):
            scope = dict(scope, path=path[len(self.base) :])
        if apikey and not has_auth:
            # Supabase clients send the project key as `apikey`; a key is a token here.
            scope = dict(scope, headers=[*scope["headers"], (b"authorization", b"Bearer " + apikey)])
        allowed = origin is not None and (self.any_origin or self.origins) and self._allowed(origin.decode("latin-1"))
        if method == "OPTIONS" and origin is not None and preflight is not None:
            await self._preflight(send, origin if allowed else None)
            return
        if allowed:
            send = self._with_cors(send, origin)
        if method == "HEAD" and scope["path"].startswith("/rpc/"):
            scope = dict(scope, method="GET")
            send = _without_body(send)
        await self.app(scope, receive, send)

    def _cors_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        return [
            (b"access-control-allow-origin", b"*" if self.any_origin else origin),
            (b"access-control-expose-headers", EXPOSED_HEADERS),
            (b"vary", b"Origin"),
        ]

    def _with_cors(self, send, origin: bytes):
        extra = self._cors_headers(origin)

        async def cors_send(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        return cors_send

    async def _preflight(self, send, origin: bytes | None) -> None:
        if origin is None:
            # A browser reads a preflight without CORS headers as "not allowed".
            err = ApiError("FORBIDDEN", "this origin may not call the API from a browser", hint="see RPC_CORS_ORIGINS")
            await _respond(send, err.status, orjson.dumps(err.body()), _JSON_HEADERS)
            return
        headers = [
            *self._cors_headers(origin),
            (b"access-control-allow-methods", ALLOWED_METHODS),
            (b"access-control-allow-headers", ALLOWED_HEADERS),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE),
        ]
        await _respond(send, 204, b"", headers)


async def _respond(send, status: int, body: bytes, headers) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _without_body(send):
    """HEAD: the GET's status and headers, with the length its body has, and no body.
    The dispatcher sends its answer as one start and one body message."""
    start = None

    async def head_send(message):
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        body = message.get("body", b"")
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        await send(dict(start, headers=[*headers, (b"content-length", b"%d" % len(body))]))
        await send({"type": "http.response.body", "body": b""})

    return head_send


# --- Checks the dispatcher runs on /rpc/<fn> --------------------------------------------

# Preferences that describe what the server does anyway.
_HONOURED = {"return=representation", "tx=commit", "handling=lenient", "handling=strict"}


def _preferences(value: str) -> list[str]:
    return [p.strip().replace(" ", "") for p in value.split(",") if p.strip()]


def check_request(scope, method: str) -> str | None:
    """Refuse what the server would not honour; return the Idempotency-Key, if any."""
    prefer, content_type, key = [], None, None
    for name, value in scope["headers"]:
        if name == b"prefer":
            prefer += _preferences(value.decode("latin-1"))
        elif name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"idempotency-key":
            key = value.decode("latin-1").strip()
    if prefer:
        _check_prefer(prefer)
    if method == "POST":
        if scope["query_string"]:
            raise ApiError(
                "INVALID_REQUEST",
                "POST takes its arguments as a JSON object in the body; the query string is not read",
                hint="move the query string's arguments into the body (filters on a result are not supported)",
            )
        if content_type is not None:
            media = content_type.split(";", 1)[0].strip().lower()
            if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
                raise ApiError(
                    "UNSUPPORTED_MEDIA_TYPE",
                    f"the body must be JSON (Content-Type: application/json), not {media or 'empty'}",
                    hint="send a JSON object of named arguments with Content-Type: application/json",
                )
    if key is not None and not key:
        raise ApiError("INVALID_REQUEST", "Idempotency-Key is empty", details={"argument": "request_id"})
    return key


def _check_prefer(prefer: list[str]) -> None:
    if "tx=rollback" in prefer:
        # A dry run that committed would be worse than none: refuse rather than ignore.
        raise ApiError(
            "INVALID_REQUEST",
            "Prefer: tx=rollback is not supported: every POST commits",
            details={"preference": "tx=rollback"},
            hint="GET runs STABLE functions read-only; there is no dry run of a change",
        )
    if "handling=strict" in prefer:
        ignored = [p for p in prefer if p not in _HONOURED]
        if ignored:
            raise ApiError(
                "INVALID_REQUEST",
                "Prefer: handling=strict, and the server does not honour " + ", ".join(ignored),
                details={"preferences": ignored},
                hint="honoured: " + ", ".join(sorted(_HONOURED)),
            )


def apply_idempotency_key(fn, values: dict, key: str, changes_data: bool) -> None:
    """Idempotency-Key is request_id when the body has none; both must agree."""
    if not any(a.name == "request_id" for a in fn.args):
        if changes_data:
            raise ApiError(
                "INVALID_REQUEST",
                f"Idempotency-Key given, and {fn.name} takes no request_id: the call could not be made idempotent",
                details={"argument": "request_id"},
            )
        return  # a read repeats safely
    given = values.get("request_id")
    if given is None:
        values["request_id"] = key
    elif given != key:
        raise ApiError(
            "INVALID_REQUEST",
            "request_id in the body and the Idempotency-Key header differ",
            details={"argument": "request_id"},
            hint="send one of them, or the same value in both",
        )


# --- JSON errors for the Starlette routes -----------------------------------------------


async def http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status == 404:
        err = ApiError(
            "NOT_FOUND", f"no route {request.url.path}", hint="the API is POST /rpc/<name>; see /openapi.json"
        )
    elif status == 405:
        err = ApiError("METHOD_NOT_ALLOWED", f"{request.method} is not supported on {request.url.path}")
    elif status == 413:
        err = ApiError("PAYLOAD_TOO_LARGE", exc.detail)
    elif 400 <= status < 500:
        err = ApiError("INVALID_REQUEST", exc.detail)
    else:
        log.error("unexpected HTTP error %d on %s: %s", status, request.url.path, exc.detail)
        err = ApiError("SERVER_ERROR", "internal error")
    return error_response(err, dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s", request.url.path, exc_info=exc)
    return error_response(ApiError("SERVER_ERROR", "internal error"))
