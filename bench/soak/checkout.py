"""Self-checkout traffic: a kiosk (kiosk token) pushes batches of orders with
checkout_sync, as its edge does; some batches are resent after their answer, some twice at
once, and new batches carry a few already-sent orders again. Each order is one effect, keyed
by its idempotency_key."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import psycopg

from bench.soak.effects import Api, EffectLog
from bench.soak.traffic import Generator, send, send_copies

KIOSK_ID = "soak_checkout"
SKUS = {f"soak-sku-{i}": 100 + 37 * i for i in range(10)}


def setup(owner_url: str) -> int:
    """Registers the kiosk and the catalog; returns the catalog version."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        for sku, price in SKUS.items():
            conn.execute("SELECT checkout.catalog_upsert(%s, %s, %s, 'EUR', true)", [sku, sku, price])
        conn.execute("SELECT kiosk.register(%s, 'checkout', 'Soak lane', 'soak')", [KIOSK_ID])
        return conn.execute("SELECT checkout.catalog_version()").fetchone()[0]


class CheckoutTraffic(Generator):
    name_prefix = "checkout"

    def __init__(self, api: Api, log: EffectLog, version: int, stop, seed: int, pause: float = 0.3):
        super().__init__(stop, seed, pause)
        self.api, self.log, self.version = api, log, version
        self.sent_orders: list[dict] = []

    def new_order(self) -> dict:
        rng = self.rng
        lines = [{"sku": s, "qty": rng.randint(1, 4), "unit_price": SKUS[s]} for s in rng.sample(sorted(SKUS), 2)]
        order = {
            "idempotency_key": "soak-" + secrets.token_hex(8),
            "created_at": datetime.now(UTC).isoformat(),
            "payment_method": rng.choice(("card", "mobile", "cash")),
            "currency": "EUR",
            "catalog_version": self.version,
            "lines": lines,
        }
        total = sum(line["qty"] * line["unit_price"] for line in lines)
        self.log.intend("checkout_order", order["idempotency_key"], total=total)
        return order

    def step(self) -> None:
        rng = self.rng
        batch = [self.new_order() for _ in range(rng.randint(5, 20))]
        batch += rng.sample(self.sent_orders, min(len(self.sent_orders), rng.randint(0, 3)))
        self.sent_orders = (self.sent_orders + batch)[-200:]
        body, key = {"orders": batch}, "batch-" + secrets.token_hex(6)
        roll = rng.random()
        if roll < 0.15:
            answers = send_copies(self.api, "/rpc/checkout_sync", body, "checkout_sync", key, 2)
        else:
            answers = [send(self.api, "/rpc/checkout_sync", body, "checkout_sync", key)]
            if roll < 0.35:
                answers.append(send(self.api, "/rpc/checkout_sync", body, "checkout_sync", key))
        for status, answer in answers:
            if status == 200:
                for result in answer["results"]:
                    self.log.claim("checkout_order", result["idempotency_key"], result)
