"""GET /docs: Swagger UI on /openapi.json, from files vendored in rpc/static (the
swagger-ui-dist package pinned in rpc/static/swagger-ui/package-lock.json, copied by its
vendor.sh), so the page needs no CDN and the server no Node. A strict
Content-Security-Policy: scripts, styles and requests to this server only."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static"
DIST = STATIC / "swagger-ui" / "dist"

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Swagger UI's stylesheet draws its icons as data: SVGs.
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

# URL path -> (file, media type); read once, at start-up.
FILES = {
    "/docs": (STATIC / "docs.html", "text/html; charset=utf-8"),
    "/docs/docs.js": (STATIC / "docs.js", "text/javascript; charset=utf-8"),
    "/docs/swagger-ui-bundle.js": (DIST / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "/docs/swagger-ui.css": (DIST / "swagger-ui.css", "text/css; charset=utf-8"),
    "/docs/LICENSE": (DIST / "LICENSE", "text/plain; charset=utf-8"),
    "/docs/NOTICE": (DIST / "NOTICE", "text/plain; charset=utf-8"),
    "/docs/swagger-ui-bundle.js.LICENSE.txt": (DIST / "swagger-ui-bundle.js.LICENSE.txt", "text/plain; charset=utf-8"),
}


def _route(path: str, file: Path, media_type: str) -> Route:
    body = file.read_bytes()

    async def serve(request: Request) -> Response:
        return Response(body, media_type=media_type, headers=HEADERS)

    return Route(path, serve, methods=["GET", "HEAD"])


def routes() -> list[Route]:
    return [_route(path, file, media_type) for path, (file, media_type) in FILES.items()]
