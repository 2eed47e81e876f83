"""What the soak runs against: the RPC server as a child process that chaos may SIGKILL
(it comes back on the same port, so clients need not follow), and one ATM kiosk's real
dispenser agent driving a simulated hopper that lives in this process, so the coins that
physically came out can be counted after the agent's last report."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import httpx

from dispenser.simulator import HopperSimulator
from kioskledger.ops.local_cluster import free_port
from kioskledger.ops.provision import provision_kiosk
from tests.support.agent_config import FAST_AGENT, FAST_HOPPER, write_toml

ROOT = Path(__file__).resolve().parents[2]


class RpcServer:
    def __init__(self, env: dict, log_path: Path):
        self.env, self.log_path = env, log_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def start(self, timeout: float = 60) -> None:
        with self._lock, open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rpc", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the RPC server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(self.base + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the RPC server was not healthy within {timeout}s; see {self.log_path}")

    def kill(self) -> None:
        with self._lock:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class AtmKiosk:
    """A provisioned kiosk (its own login role), its hopper and its agent process."""

    def __init__(self, owner_url: str, jwt_secret: str, workdir: Path, kiosk_id: str = "soak_atm"):
        self.workdir = workdir
        provisioned = provision_kiosk(
            owner_url, jwt_secret, "Soak ATM", workdir, kiosk_id=kiosk_id, fee_flat=50, max_amount=100_000
        )
        raw = tomllib.loads(provisioned.read_text())
        self.kiosk_id, self.dsn, self.token = raw["kiosk_id"], raw["dsn"], raw["token"]
        # A counter of 0 is ambiguous after a power cut (see dispenser.recovery): it has paid before.
        self.hopper = HopperSimulator(coins=1_000_000, coin_seconds=0.005, event_counter=17)
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "agent.log"

    def start(self) -> None:
        self.hopper.start()
        # Reconnects back off up to 2 s: Postgres is stopped for 10 s at a time here.
        agent = {"journal": str(self.workdir / "journal.sqlite3"), **FAST_AGENT, "reconnect_max": 2.0}
        config = write_toml(
            self.workdir / "agent.toml",
            {"kiosk_id": self.kiosk_id, "dsn": self.dsn, "hopper": FAST_HOPPER, "agent": agent},
        )
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dispenser", "run", "--config", str(config), "--hopper", self.hopper.path],
                cwd=ROOT,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()  # finishes the coin batch in progress, then reports it
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.hopper.close()
