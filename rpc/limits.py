"""Request size limits, enforced before any other work (token, JSON, database).

- Bodies: at most MAX_BODY bytes on every route. A declared Content-Length over it is
  refused before a byte is read; otherwise the body is counted while it is read and the
  request is refused the moment it passes the limit, so memory holds at most MAX_BODY
  per request whatever the client streams.
- Headers: the request line and headers together at most MAX_HEAD bytes. This has to
  happen below ASGI: by the time the app sees a request its headers are parsed, and the
  parser (httptools) concatenates a header value from every fragment it receives, which
  takes seconds of the event loop for a 100 MB header.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import ApiError

MAX_BODY = 1 << 20
MAX_HEAD = 64 << 10
_CLOSE_HEADERS = [(b"content-type", b"application/json"), (b"connection", b"close")]


def _too_large() -> ApiError:
    return ApiError("PAYLOAD_TOO_LARGE", f"request body over {MAX_BODY} bytes")


def _declared_length(scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send, err: ApiError) -> None:
    # Connection: close - the rest of an oversized upload is not worth reading.
    body = orjson.dumps(err.body())
    headers = [*_CLOSE_HEADERS, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: read the whole body (up to MAX_BODY) before the app runs, then hand
    it to the app as one message. Requests over the limit get 413 and never reach the app."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > MAX_BODY:
            await _refuse(send, _too_large())
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _refuse(send, _too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return body
            return await receive()  # after the body: http.disconnect, when it comes

        await self.app(scope, replay, send)


class HeaderLimitProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose head is over MAX_HEAD bytes
    with 431 before the parser sees more than that."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._in_head = True  # the next bytes belong to a request line or headers
        self._head_bytes = 0
        self._heads = 0  # heads parsed on this connection

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        room = MAX_HEAD - self._head_bytes
        self._head_bytes += len(data)
        if self._head_bytes <= MAX_HEAD:
            super().data_received(data)
            return
        # Over the limit with this chunk: parse only what is allowed; if the head ends in
        # it, the rest is body (or the next request) and is counted as such.
        heads = self._heads
        super().data_received(data[:room])
        if self.parser is None or self.transport.is_closing():
            return
        if self._heads == heads:
            self._refuse_head()
            return
        self.data_received(data[room:])

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

    def _refuse_head(self) -> None:
        err = ApiError("HEADERS_TOO_LARGE", f"request line and headers over {MAX_HEAD} bytes")
        body = orjson.dumps(err.body())
        self.transport.write(
            b"HTTP/1.1 %d Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
            % (err.status, len(body), body)
        )
        self.transport.close()
