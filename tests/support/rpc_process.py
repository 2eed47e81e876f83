"""The RPC server as a child process on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from kioskledger.ops.local_cluster import free_port
from tests.support.waiting import wait_http_ok


@dataclass
class RunningServer:
    base: str
    proc: subprocess.Popen
    output: str | None = None  # what it printed, once stopped, when started with output=PIPE


@contextmanager
def rpc_server(env: dict, output=subprocess.DEVNULL, timeout: float = 30, prefix: tuple[str, ...] = ()):
    """Start `python -m rpc` with exactly `env` (under `prefix`, e.g. a valgrind command);
    yield once /health answers 200."""
    port = free_port()
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "rpc", "--port", str(port)],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = RunningServer(f"http://127.0.0.1:{port}", proc)
    try:
        wait_http_ok(server.base + "/health", proc, timeout, what="the RPC server")
        yield server
    finally:
        proc.terminate()
        try:
            server.output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
