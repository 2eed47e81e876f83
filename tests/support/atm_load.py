"""ATM pays over HTTP that keep going through a database failover.

One customer after another at one ATM kiosk: the kiosk creates a transaction
(POST /rpc/atm_transaction_create), the World fake is told of the matching payment, and
the customer's mini app pays it (POST /atm/pay with a proof the fake accepts). Every
request is retried with the same request_id after a 503 or a dropped connection until it
has its answer, and every few pays the answered pay is resent to check the replay. The
acknowledged pays are what the agent must dispense, each exactly once.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from tests.support.atm_pay import pay_body
from tests.support.write_load import post_until_answered


@dataclass
class Pay:
    transaction_id: str
    job_id: int
    quarters: int
    sent_at: float  # monotonic, the pay's first send
    answered_at: float


@dataclass
class AtmResult:
    pays: list[Pay] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # anything but a final 200 or a retried 503
    retried_statuses: dict[str, int] = field(default_factory=dict)
    replays: int = 0
    replay_mismatches: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)

    def pays_sent_after(self, moment: float) -> list[Pay]:
        return [p for p in self.pays if p.sent_at >= moment]


class AtmPayLoad:
    """One thread of customers at `kiosk_headers`' kiosk until stop(); `pause` seconds
    between customers keeps the hopper's backlog short (pacing, not a check)."""

    def __init__(
        self,
        base: str,
        kiosk_headers: dict,
        world,
        amount: int = 250,
        pause: float = 0.3,
        give_up_s: float = 60,
        resend_every: int = 3,
    ):
        self.base, self.kiosk_headers, self.world = base, kiosk_headers, world
        self.amount, self.pause, self.give_up_s, self.resend_every = amount, pause, give_up_s, resend_every
        self.result = AtmResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True)

    def __enter__(self) -> AtmPayLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> AtmResult:
        self._stop.set()
        self._thread.join(2 * self.give_up_s + 15)
        return self.result

    def _note(self, **kw) -> None:
        with self._lock:
            for key, value in kw.items():
                if key == "retried":
                    self.result.retried_statuses[value] = self.result.retried_statuses.get(value, 0) + 1
                else:
                    getattr(self.result, key).append(value)

    def _post(self, client: httpx.Client, path: str, body: dict, headers: dict) -> tuple[int, dict, bool] | None:
        answer = post_until_answered(client, path, body, headers, self.give_up_s, self._note)
        if answer is None:
            self._note(gave_up=f"{path} {body['request_id']}")
        elif answer[0] != 200:
            self._note(errors=f"{path} {answer[0]}: {answer[1]}")
        return answer

    def _work(self) -> None:
        n = 0
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self._stop.wait(self.pause):
                n += 1
                create = {"amount": self.amount, "request_id": "ha-atm-" + uuid.uuid4().hex}
                created = self._post(client, "/rpc/atm_transaction_create", create, self.kiosk_headers)
                if created is None or created[0] != 200:
                    continue
                tx = created[1]
                body = pay_body(tx, request_id="ha-pay-" + uuid.uuid4().hex)
                self.world.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
                sent = time.monotonic()
                paid = self._post(client, "/atm/pay", body, {})
                if paid is None or paid[0] != 200:
                    continue
                answer = paid[1]
                self._note(pays=Pay(tx["id"], answer["job_id"], answer["quarters"], sent, time.monotonic()))
                if n % self.resend_every == 0:
                    again = post_until_answered(client, "/atm/pay", body, {}, self.give_up_s, self._note)
                    with self._lock:
                        self.result.replays += 1
                    if again is None or again[0] != 200 or not again[2] or again[1] != answer:
                        self._note(replay_mismatches=f"{tx['id']}: {answer} then {again}")
