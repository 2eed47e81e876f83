"""ATM traffic: the kiosk creates a transaction (kiosk token), the mini app pays it through
POST /atm/pay (the server runs with WORLD_ID_MODE=dev, so no World ID service is needed),
and the kiosk's real agent pays the job out on the simulated hopper. The burst: one payment
sent 200 times at once."""

from __future__ import annotations

import secrets

from bench.soak.effects import Api, EffectLog
from bench.soak.traffic import Generator, request_id, send, send_copies, send_like_a_client


class Atm:
    def __init__(self, kiosk_api: Api, anon_api: Api, log: EffectLog):
        self.kiosk_api, self.anon_api, self.log = kiosk_api, anon_api, log

    def create(self, rng) -> dict | None:
        rid, amount = request_id("atm-tx"), 25 * rng.randint(1, 8)
        self.log.intend("atm_transaction_create", rid, amount=amount)
        status, tx = send(
            self.kiosk_api,
            "/rpc/atm_transaction_create",
            {"amount": amount, "request_id": rid},
            "atm_transaction_create",
            rid,
        )
        return tx if status == 200 else None

    def pay_body(self, tx: dict) -> tuple[str, dict]:
        rid = request_id("atm-pay")
        self.log.intend("atm_pay", rid, transaction_id=tx["id"], quarters=tx["quarters"])
        return rid, {
            "transaction_id": tx["id"],
            "request_id": rid,
            "payment": {"transaction_id": "wp-" + secrets.token_hex(8)},
            "world_id": {
                "proof": "0x0",
                "merkle_root": "0x0",
                # One person per payment: the per-person daily limit is not under test here.
                "nullifier_hash": "0x" + secrets.token_hex(16),
                "verification_level": "orb",
            },
        }

    def pay(self, rng, tx: dict) -> None:
        rid, body = self.pay_body(tx)
        send_like_a_client(self.anon_api, rng, "/atm/pay", body, "atm_pay", rid)

    def burst(self, rng, copies: int) -> list:
        tx = None
        for _ in range(5):
            if tx := self.create(rng):
                break
        if tx is None:
            return []
        rid, body = self.pay_body(tx)
        return send_copies(self.anon_api, "/atm/pay", body, "atm_pay", rid, copies)


class AtmTraffic(Generator):
    name_prefix = "atm"

    def __init__(self, atm: Atm, stop, seed: int, pause: float = 0.4):
        super().__init__(stop, seed, pause)
        self.atm = atm

    def step(self) -> None:
        if tx := self.atm.create(self.rng):
            self.atm.pay(self.rng, tx)
