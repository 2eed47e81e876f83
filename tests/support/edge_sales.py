"""A checkout edge's customers in the background: one sale after another on the edge's
own HTTP API (offline-first: the edge records each sale locally and syncs it later), so
a test can take the central away under it and then check every recorded sale arrived."""

from __future__ import annotations

import threading
import uuid

import httpx


class EdgeSales:
    """Sells `lines` at `edge_base` every `pause` seconds until stop(). `orders` are the
    edge's answers (201: recorded); `errors` anything else - the edge never waits for the
    central, so a checkout must not fail while it is away."""

    def __init__(self, edge_base: str, lines: list[dict], pause: float = 0.1):
        self.edge_base, self.lines, self.pause = edge_base, lines, pause
        self.orders: list[dict] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True)

    def __enter__(self) -> EdgeSales:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(30)
        return self.orders

    def _work(self) -> None:
        n = 0
        with httpx.Client(base_url=self.edge_base, timeout=10) as client:
            while not self._stop.wait(self.pause):
                n += 1
                body = {
                    "idempotency_key": "ha-sale-" + uuid.uuid4().hex[:16],
                    "payment_method": ("card", "cash", "mobile")[n % 3],
                    "lines": self.lines,
                }
                try:
                    resp = client.post("/edge/checkout", json=body)
                except httpx.HTTPError as err:
                    self.errors.append(f"{body['idempotency_key']}: {type(err).__name__} {err}")
                    continue
                if resp.status_code == 201:
                    self.orders.append(resp.json())
                else:
                    self.errors.append(f"{body['idempotency_key']}: {resp.status_code} {resp.text}")
