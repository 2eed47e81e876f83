"""Festival cards traffic: card issue, checkpoint recharges, bar orders concentrated on a
few hot cards (resends and concurrent duplicates of one request_id), and the burst: one
bar order sent 200 times at once."""

from __future__ import annotations

import secrets
import string
import threading

import psycopg

from bench.soak.effects import Api, EffectLog
from bench.soak.traffic import Generator, request_id, send, send_copies, send_like_a_client

PRODUCTS = {"soak-beer": (450, False), "soak-water": (250, False), "soak-shot": (700, False), "soak-cup": (200, True)}
STAFF_SUB = "soak-staff"
POINTS_OF_SALE = ("bar-main", "bar-north", "bar-vip")


def setup(owner_url: str) -> None:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        for pid, (price, deposit) in PRODUCTS.items():
            conn.execute("SELECT cards.product_upsert(%s, %s, 'soak', %s, %s)", [pid, pid, price, deposit])


def new_card_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))


def order_total(items: list[dict]) -> int:
    return sum(PRODUCTS[i["product_id"]][0] * i["quantity"] for i in items)


class Cards:
    """The cards one soak uses; shared by the generators and the burst."""

    def __init__(self, api: Api, log: EffectLog):
        self.api, self.log = api, log
        self.hot: list[str] = []
        self.recent: list[str] = []
        self._lock = threading.Lock()

    def issue(self, hot: bool = False) -> str | None:
        card_id, rid = new_card_id(), request_id("issue")
        self.log.intend("card_issue", rid, card_id=card_id)
        status, _ = send(self.api, "/rpc/card_issue", {"card_id": card_id, "request_id": rid}, "card_issue", rid)
        if status != 200:
            return None
        with self._lock:
            (self.hot if hot else self.recent).append(card_id)
            del self.recent[:-50]
        return card_id

    def recharge(self, rng, card_id: str) -> None:
        rid, amount = request_id("recharge"), rng.choice((2000, 5000, 10000))
        method, checkpoint = rng.choice(("cash", "card")), rng.choice(("gate-a", "gate-b"))
        self.log.intend("checkpoint_recharge", rid, card_id=card_id, amount=amount)
        body = {
            "card_id": card_id,
            "amount": amount,
            "payment_method": method,
            "checkpoint_id": checkpoint,
            "request_id": rid,
        }
        send_like_a_client(self.api, rng, "/rpc/checkpoint_recharge", body, "checkpoint_recharge", rid)

    def order_body(self, rng, card_id: str) -> tuple[str, dict]:
        items = [
            {"product_id": p, "quantity": rng.randint(1, 3)} for p in rng.sample(sorted(PRODUCTS), rng.randint(1, 2))
        ]
        rid = request_id("order")
        self.log.intend("bar_order", rid, card_id=card_id, total=order_total(items))
        body = {"card_id": card_id, "items": items, "request_id": rid, "point_of_sale": rng.choice(POINTS_OF_SALE)}
        return rid, body

    def bar_order(self, rng, card_id: str) -> None:
        rid, body = self.order_body(rng, card_id)
        send_like_a_client(self.api, rng, "/rpc/bar_order", body, "bar_order", rid)

    def burst(self, rng, copies: int) -> list:
        """One bar order on a hot card, `copies` identical requests at once."""
        rid, body = self.order_body(rng, rng.choice(self.hot))
        return send_copies(self.api, "/rpc/bar_order", body, "bar_order", rid, copies)


class CardsTraffic(Generator):
    name_prefix = "cards"

    def __init__(self, cards: Cards, stop, seed: int, pause: float = 0.05):
        super().__init__(stop, seed, pause)
        self.cards = cards

    def step(self) -> None:
        rng, cards = self.rng, self.cards
        roll = rng.random()
        if roll < 0.05:
            if card := cards.issue():
                cards.recharge(rng, card)
        elif roll < 0.3 or not cards.hot:
            pool = cards.hot if rng.random() < 0.8 or not cards.recent else cards.recent
            if pool:
                cards.recharge(rng, rng.choice(pool))
        else:
            cards.bar_order(rng, rng.choice(cards.hot))
