"""Run an edge as a real process, and put a link between it and the central that can be
cut - for the tests and the benchmark. Nothing here runs on a kiosk.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from kioskledger.ops.local_cluster import free_port
from tests.support.waiting import wait_http_ok

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class EdgeProcess:
    """`python -m checkout_edge` on a free port, with its own SQLite file."""

    def __init__(self, central_url: str, token: str, db_path: str, log_path: str | None = None, **env):
        self.central_url, self.token, self.db_path = central_url, token, db_path
        self.log_path = log_path or db_path + ".log"
        self.extra_env = {k.upper(): str(v) for k, v in env.items()}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True, **env) -> EdgeProcess:
        full = dict(
            os.environ,
            EDGE_CENTRAL_URL=self.central_url,
            EDGE_TOKEN=self.token,
            EDGE_DB=self.db_path,
            EDGE_PORT=str(self.port),
        )
        full.update(self.extra_env)
        full.update({k.upper(): str(v) for k, v in env.items()})
        with open(self.log_path, "a") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "checkout_edge", "--log-level", "warning"],
                env=full,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=PROJECT_ROOT,
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        wait_http_ok(self.base + "/edge/status", self.proc, timeout, what=f"the edge (log {self.log_path})")

    def wait_exit(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=timeout)


class FlakyLink:
    """A TCP proxy edge -> central. down() refuses new connections and cuts open ones
    (mid-request too: the central may have committed what the edge never hears about)."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._up = True
        self._closed = False
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def is_up(self) -> bool:
        return self._up

    def up(self) -> None:
        self._up = True

    def down(self) -> None:
        with self._lock:
            self._up = False
            socks, self._open = list(self._open), set()
            if socks:
                self.cuts += 1
        for s in socks:
            _shut(s)

    def close(self) -> None:
        self._closed = True
        self.down()
        _shut(self._listener)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up:
                _shut(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _shut(client)
                continue
            with self._lock:
                if not self._up:
                    _shut(client)
                    _shut(server)
                    continue
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)
            _shut(src)
            _shut(dst)


def _shut(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


# Fast timings for tests: a flap is noticed and recovered from within a second.
FAST = dict(
    EDGE_HEARTBEAT_INTERVAL="0.3",
    EDGE_SYNC_INTERVAL="0.2",
    EDGE_CATALOG_INTERVAL="1",
    EDGE_BACKOFF_BASE="0.05",
    EDGE_BACKOFF_MAX="0.5",
    EDGE_TIMEOUT="5",
)
