"""The RPC server as a child process on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from kioskledger.ops.local_cluster import free_port


@dataclass
class RunningServer:
    base: str
    proc: subprocess.Popen
    output: str | None = None  # what it printed, once stopped, when started with output=PIPE


@contextmanager
def rpc_server(env: dict, output=subprocess.DEVNULL, timeout: float = 30):
    """Start `python -m rpc serve` with exactly `env`; yield once /health answers 200."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rpc", "--port", str(port)], env=env,
                            stdout=output, stderr=subprocess.STDOUT, text=True)
    server = RunningServer(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(server.base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the RPC server did not start")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            server.output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
