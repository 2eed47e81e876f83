"""Every route caps the request body at 1 MiB while reading it (413), and the request head
(request line + headers) at 64 KiB (431), before any other work: an oversized upload or
header costs the server neither memory nor event-loop time.

The uploads are streamed over a raw socket, a chunk at a time, watching for the answer
between chunks - the way a client that reads early answers sees it."""

from __future__ import annotations

import json
import select
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from rpc.limits import MAX_BODY, MAX_HEAD
from tests.conftest import JWT_SECRET
from tests.support.database import server_env
from tests.support.rpc_process import rpc_server

pytestmark = pytest.mark.slow

ROUTES = ["/rpc/whoami", "/webhooks/stripe", "/atm/pay", "/recharge/checkout"]
UPLOAD = 400 << 20
CHUNK = b"x" * (1 << 20)


@pytest.fixture(scope="module")
def running(migrated):
    # Its own server, for its process id (the shared fixture gives only the URL).
    env = server_env(migrated, JWT_SECRET, STRIPE_WEBHOOK_SECRET="whsec_test_limits", STRIPE_API_KEY="sk_test_x")
    with rpc_server(env) as srv:
        yield srv


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _connect(base: str) -> socket.socket:
    url = urlsplit(base)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def _read_answer(sock: socket.socket, timeout: float = 10) -> tuple[int, dict | None]:
    """(status, JSON body) of the answer on `sock`, read until the server closes or the body is complete."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            part = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not part:
            break
        data += part
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep and b"content-length" in head.lower():
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(body) >= length:
                break
    assert data, "the connection closed without an answer"
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else None


def stream_upload(base: str, path: str, total: int) -> tuple[int, dict | None, int]:
    """POST `total` bytes to `path` in chunked encoding, 1 MiB at a time, stopping when the
    server answers or closes. Returns (status, body, bytes sent)."""
    sock = _connect(base)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Stripe-Signature: t=1,v1=00\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    frame = b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n"
    sent = 0
    with sock:
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(CHUNK)
        status, body = _read_answer(sock)
    return status, body, sent


@pytest.mark.parametrize("path", ROUTES)
def test_a_streamed_400_mb_upload_is_413_and_costs_no_memory(running, path):
    before = rss_bytes(running.proc.pid)
    status, body, sent = stream_upload(running.base, path, UPLOAD)
    after = rss_bytes(running.proc.pid)
    assert status == 413 and body["code"] == "PAYLOAD_TOO_LARGE", (status, body)
    assert sent < 64 * MAX_BODY, f"the server kept reading: {sent} bytes taken"
    assert after - before < 50 << 20, f"RSS grew {(after - before) >> 20} MB"


@pytest.mark.parametrize("path", ROUTES)
def test_a_declared_content_length_over_the_limit_is_413_before_the_body(running, path):
    sock = _connect(running.base)
    with sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {UPLOAD}\r\n\r\n".encode())
        status, body = _read_answer(sock)  # no body byte sent: the answer comes anyway
    assert status == 413 and body["code"] == "PAYLOAD_TOO_LARGE", (status, body)


def test_a_body_at_the_limit_is_served(running):
    body = b"{}" + b" " * (MAX_BODY - 2)
    resp = httpx.post(running.base + "/rpc/whoami", content=body, timeout=30)
    assert resp.status_code == 200, resp.text


def test_a_head_over_the_limit_is_431(running):
    sock = _connect(running.base)
    with sock:
        # The head never ends: the server must answer without waiting for it.
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * (MAX_HEAD + 100))
        status, body = _read_answer(sock)
    assert status == 431 and body["code"] == "HEADERS_TOO_LARGE", (status, body)


def test_a_head_under_the_limit_is_served(running):
    resp = httpx.get(running.base + "/health", headers={"X-Big": "a" * (MAX_HEAD - 1024)}, timeout=30)
    assert resp.status_code == 200, resp.text


def test_a_100_mb_header_is_refused_quickly_and_the_server_keeps_serving(running):
    before = rss_bytes(running.proc.pid)
    started = time.monotonic()
    sock = _connect(running.base)
    sent, answered = 0, None
    with sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: ")
        while sent < 100 << 20:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(CHUNK)
        try:
            answered = _read_answer(sock, timeout=5)[0]
        except AssertionError:
            answered = None  # reset before the answer could be read: refused all the same
    elapsed = time.monotonic() - started
    assert answered in (431, None), answered
    assert sent < 16 << 20, f"the server kept reading the header: {sent} bytes taken"
    assert elapsed < 5, f"took {elapsed:.1f}s"
    health = httpx.get(running.base + "/health", timeout=2)
    assert health.status_code == 200
    assert rss_bytes(running.proc.pid) - before < 50 << 20
