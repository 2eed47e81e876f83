"""The operator console: static files (rpc/static/console/) at /console/, served with a
strict Content-Security-Policy. The pages call only the public API (/rpc/<fn> with the
bearer token kept in the tab's sessionStorage), so nothing here knows any business rule.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

FOLDER = Path(__file__).parent / "static" / "console"

# Everything from this origin only: no inline script or style, no eval, no framing. The
# SEPA download is a blob: URL the page makes from an API answer; charts draw on canvas.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    # A page shows whoever is signed in: never from a shared cache.
    (b"cache-control", b"no-cache"),
]


class ConsoleFiles:
    """StaticFiles with the security headers on every answer (404s included)."""

    def __init__(self) -> None:
        self.files = StaticFiles(directory=FOLDER, html=True)

    async def __call__(self, scope, receive, send):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": headers + SECURITY_HEADERS}
            await send(message)

        await self.files(scope, receive, with_headers)


async def to_console(request):
    return RedirectResponse("/console/", status_code=308)


routes = [Route("/console", to_console, methods=["GET", "HEAD"]), Mount("/console", app=ConsoleFiles(), name="console")]
