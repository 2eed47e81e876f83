"""The central's API as the edge uses it: /rpc/checkout_sync, /rpc/catalog,
/rpc/kiosk_heartbeat, /rpc/checkout_backlog, with the kiosk's bearer token.

Two kinds of failure, because they mean different things for the link:
  CentralUnreachable  no answer, a timeout, or 5xx (the central or its database is down):
                      the link is down; keep everything pending and back off.
  CentralRefused      the central answered 4xx (bad token, not a checkout kiosk, a malformed
                      batch): the link is up but this call will not succeed by retrying soon.
"""

from __future__ import annotations

import httpx
import orjson

# The most bytes the central takes in one request (rpc/dispatch.py MAX_BODY; a test holds
# the two equal). A batch over it is refused whole (413), and resent forever.
MAX_SYNC_BODY = 1 << 20
_ENVELOPE = len(b'{"orders":[]}')


def orders_that_fit(payloads: list[str], limit: int = MAX_SYNC_BODY) -> int:
    """How many of the payloads, from the first, fit one checkout_sync request (at least one:
    an order the edge accepts is a few kilobytes at most)."""
    size = _ENVELOPE
    for i, payload in enumerate(payloads):
        size += len(payload.encode()) + (1 if i else 0)
        if size > limit:
            return max(i, 1)
    return len(payloads)


class CentralError(Exception):
    def __init__(self, message: str, status: int | None = None, body: dict | None = None):
        super().__init__(message)
        self.status, self.body = status, body


class CentralUnreachable(CentralError):
    pass


class CentralRefused(CentralError):
    pass


class Central:
    def __init__(self, base_url: str, token: str, timeout: float):
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(
        self, method: str, fn: str, body: bytes | None = None, headers: dict | None = None
    ) -> httpx.Response:
        try:
            resp = await self.http.request(method, f"/rpc/{fn}", content=body, headers=headers)
        except httpx.HTTPError as err:
            raise CentralUnreachable(f"{fn}: {type(err).__name__}: {err}") from None
        if resp.status_code >= 500:
            raise CentralUnreachable(f"{fn}: HTTP {resp.status_code} {_code(resp)}", resp.status_code, _json(resp))
        if resp.status_code >= 400:
            raise CentralRefused(f"{fn}: HTTP {resp.status_code} {_code(resp)}", resp.status_code, _json(resp))
        return resp

    async def sync(self, payloads: list[str]) -> dict:
        """Push stored order payloads (JSON texts) as they are: a resend is byte-identical."""
        body = b'{"orders":[' + ",".join(payloads).encode() + b"]}"
        resp = await self._call("POST", "checkout_sync", body)
        answer = _json(resp)
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise CentralUnreachable("checkout_sync: the answer has no results list")
        return answer

    async def catalog(self, etag: str | None) -> tuple[dict | None, str | None]:
        """(catalog, etag), or (None, etag) when unchanged since `etag` (304)."""
        resp = await self._call("GET", "catalog", headers={"If-None-Match": etag} if etag else None)
        if resp.status_code == 304:
            return None, etag
        return _json(resp), resp.headers.get("etag")

    async def heartbeat(self, link_up: bool, pending_orders: int, app_version: str) -> dict:
        body = orjson.dumps({"link_up": link_up, "pending_orders": pending_orders, "app_version": app_version})
        return _json(await self._call("POST", "kiosk_heartbeat", body))

    async def backlog(self, oldest_pending_at: str | None) -> dict:
        return _json(
            await self._call("POST", "checkout_backlog", orjson.dumps({"oldest_pending_at": oldest_pending_at}))
        )


def _json(resp: httpx.Response):
    try:
        return orjson.loads(resp.content) if resp.content else None
    except orjson.JSONDecodeError:
        return None


def _code(resp: httpx.Response) -> str:
    body = _json(resp)
    return body.get("code", "") if isinstance(body, dict) else ""
