"""HTTP write load that keeps going through a database failover, and its ledger check.

Each worker owns one card and loops: a bar order (every few orders, a checkpoint
recharge), each with a fresh request_id, retried with the SAME request_id after a 503 or
a dropped connection until it gets its answer (what the README tells clients to do); and
now and then it resends an answered request to check the replay. It records every
request's final answer, so the ledger can be checked against what clients were told.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import psycopg

BEER = ("ha-beer", 350)
RECHARGE = 3 * BEER[1]  # every 4th request: the balance stays where it started
START_BALANCE = 100_000
RETRYABLE = {503}


@dataclass
class Outcome:
    function: str
    request_id: str
    card: str
    status: int
    body: dict
    sent_at: float  # monotonic, first send
    answered_at: float  # monotonic, final answer
    attempts: int


@dataclass
class LoadResult:
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # anything but a final 200 or a retried 503
    retried_statuses: dict[str, int] = field(default_factory=dict)
    replays: int = 0
    replay_mismatches: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)

    def first_write_after(self, moment: float) -> float | None:
        """Seconds from `moment` to the first write sent after it that succeeded."""
        times = [o.answered_at for o in self.outcomes if o.status == 200 and o.sent_at >= moment]
        return min(times) - moment if times else None

    def acknowledged(self, card: str, function: str) -> int:
        return sum(1 for o in self.outcomes if o.card == card and o.function == function and o.status == 200)


def post_until_answered(
    client: httpx.Client, path: str, body: dict, headers: dict, give_up_s: float, note
) -> tuple[int, dict, bool] | None:
    """One request to its final answer: (status, body, replayed), retried with the same
    request_id after a 503 or a transport error (each retry reported as note(retried=...)).
    None when it had no answer within give_up_s."""
    started = time.monotonic()
    while time.monotonic() - started < give_up_s:
        try:
            resp = client.post(path, json=body, headers=headers)
        except httpx.TransportError as err:
            note(retried=type(err).__name__)
            time.sleep(0.1)
            continue
        if resp.status_code in RETRYABLE:
            note(retried=f"{resp.status_code} {resp.json().get('code')}")
            time.sleep(0.1)
            continue
        return resp.status_code, resp.json(), resp.headers.get("Idempotent-Replayed") == "true"
    return None


class WriteLoad:
    """Runs `workers` threads against `base` until stop(); `cards` one per worker."""

    def __init__(self, base: str, headers: dict, cards: list[str], give_up_s: float = 60, resend_every: int = 5):
        self.base, self.headers, self.cards = base, headers, cards
        self.give_up_s, self.resend_every = give_up_s, resend_every
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, args=(card,), daemon=True) for card in cards]

    def __enter__(self) -> WriteLoad:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> LoadResult:
        self._stop.set()
        for t in self._threads:
            t.join(self.give_up_s + 15)
        return self.result

    def _note(self, **kw) -> None:
        with self._lock:
            for key, value in kw.items():
                if key == "retried":
                    self.result.retried_statuses[value] = self.result.retried_statuses.get(value, 0) + 1
                elif key == "outcome":
                    self.result.outcomes.append(value)
                else:
                    getattr(self.result, key).append(value)

    def _send(self, client: httpx.Client, function: str, body: dict) -> tuple[int, dict, bool] | None:
        return post_until_answered(client, f"/rpc/{function}", body, self.headers, self.give_up_s, self._note)

    def _work(self, card: str) -> None:
        n = 0
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self._stop.is_set():
                n += 1
                if n % 4 == 0:
                    function = "checkpoint_recharge"
                    body = {"card_id": card, "amount": RECHARGE, "payment_method": "cash", "checkpoint_id": "cp-ha"}
                else:
                    function = "bar_order"
                    body = {"card_id": card, "items": [{"product_id": BEER[0], "quantity": 1}], "point_of_sale": "ha"}
                body["request_id"] = "ha-" + uuid.uuid4().hex
                sent = time.monotonic()
                answer = self._send(client, function, body)
                if answer is None:
                    self._note(gave_up=body["request_id"])
                    continue
                status, answer_body, _ = answer
                attempts = 1
                self._note(
                    outcome=Outcome(
                        function, body["request_id"], card, status, answer_body, sent, time.monotonic(), attempts
                    )
                )
                if status != 200:
                    self._note(errors=f"{function} {status}: {answer_body}")
                    continue
                if n % self.resend_every == 0:
                    again = self._send(client, function, body)
                    with self._lock:
                        self.result.replays += 1
                    if again is None or again[0] != 200 or not again[2] or again[1] != answer_body:
                        self._note(replay_mismatches=f"{body['request_id']}: {answer_body} then {again}")


def seed(conn: psycopg.Connection, cards: int) -> list[str]:
    """The product and `cards` cards with START_BALANCE each (through the api functions)."""
    from tests.support.helpers import ensure_product, issue_card

    ensure_product(conn, BEER[0], BEER[1])
    return [issue_card(conn, START_BALANCE) for _ in range(cards)]


def ledger_mismatches(conn: psycopg.Connection, result: LoadResult) -> list[str]:
    """Per card: the ledger's bar orders, recharges and balance against what clients were
    told (every request retried to its answer, so the two must agree exactly)."""
    problems = []
    for card in sorted({o.card for o in result.outcomes}):
        orders = result.acknowledged(card, "bar_order")
        recharges = result.acknowledged(card, "checkpoint_recharge")
        row = conn.execute(
            """
            SELECT a.balance,
                   count(*) FILTER (WHERE t.kind = 'bar_order'),
                   count(*) FILTER (WHERE t.kind = 'checkpoint_recharge')
              FROM cards.cards c
              JOIN ledger.accounts a ON a.id = c.account_id
              LEFT JOIN ledger.postings p ON p.account_id = a.id
              LEFT JOIN ledger.transfers t ON t.id = p.transfer_id
             WHERE c.card_id = %s
             GROUP BY a.balance
            """,
            [card],
        ).fetchone()
        balance, booked_orders, booked_recharges = row
        # issue_card's own recharge is one of the recharges booked.
        booked_recharges -= 1
        expected = START_BALANCE - orders * BEER[1] + recharges * RECHARGE
        if (booked_orders, booked_recharges, balance) != (orders, recharges, expected):
            problems.append(
                f"{card}: acknowledged {orders} orders, {recharges} recharges (balance {expected}); "
                f"ledger has {booked_orders}, {booked_recharges} (balance {balance})"
            )
    return problems
