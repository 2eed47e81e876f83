"""The ATM customer's payment page, a World App mini app, at the transaction's pay_url
(`atm.pay_url_base` || /pay/<transaction id>; the default base is this server's /miniapp).

- GET /miniapp/pay/<id>       the page (one HTML file; the script reads the id from the path)
- GET /miniapp/assets/...     its script, style and the vendored MiniKit bundle
- GET /miniapp/config.json    the World settings the page needs (app id, action, recipient,
                              token), the very ones /atm/pay checks against

Everything the page shows and does goes through the public API (atm_transaction_status,
POST /atm/pay); nothing here reads the database. The files ship in the wheel.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .errors import ApiError, error_response

STATIC = Path(__file__).parent / "static" / "miniapp"
# Scripts and styles from this origin only, no inline code, no eval; the page talks to
# this server alone. World App opens it in a webview, never inside someone's frame.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def pay_page(request: Request) -> Response:
    try:
        uuid.UUID(request.path_params["id"])
    except ValueError:
        return error_response(ApiError("NOT_FOUND", "no such payment page: the id is not a transaction id"), HEADERS)
    # no-cache: a new release's page must not meet an old cached script.
    return FileResponse(STATIC / "index.html", headers={**HEADERS, "Cache-Control": "no-cache"})


async def page_config(request: Request) -> Response:
    body = orjson.dumps(request.app.state.rpc.world_config.page_config())
    return Response(body, headers={**HEADERS, "Cache-Control": "no-cache"}, media_type="application/json")


class Assets(StaticFiles):
    """The page's static files, with the page's security headers."""

    async def get_response(self, path: str, scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update({**HEADERS, "Cache-Control": "no-cache"})
        return response


routes = [
    Route("/miniapp/pay/{id}", pay_page, methods=["GET"]),
    Route("/miniapp/config.json", page_config, methods=["GET"]),
    Mount("/miniapp/assets", app=Assets(directory=STATIC / "assets"), name="miniapp-assets"),
]
