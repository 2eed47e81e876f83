"""A local HTTP fake of the World developer portal: the v2 proof verifier and the
MiniKit payment lookup, at the protocol level (paths, bearer key, JSON shapes).

It cannot check a zero-knowledge proof; instead a proof is valid when it equals
fake_proof(nullifier_hash, signal_hash, action) - so a proof made for one transaction
(signal) fails for another, as a real one would.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

from tests.support.fakes.http_fake import HttpFake, JsonHandler

APP_ID = "app_staging_kioskledger"
API_KEY = "api_test_key"
ACTION = "buy-quarters"
# Where the customer's page tells World App to pay (the server's WORLD_PAY_RECIPIENT).
RECIPIENT = "0x" + "aB2c" * 10


def fake_proof(nullifier_hash: str, signal_hash: str, action: str = ACTION) -> str:
    return "0x" + hashlib.sha256(f"{nullifier_hash}|{signal_hash}|{action}".encode()).hexdigest()


class WorldHandler(JsonHandler):
    def do_POST(self):
        fake = self.fake
        if fake.down:
            return self.send_json(502, {"detail": "bad gateway"})
        body = json.loads(self.read_body() or b"{}")
        fake.verify_calls.append(body)
        if self.path != f"/api/v2/verify/{APP_ID}":
            return self.send_json(404, {"code": "not_found", "detail": "unknown app"})
        expected = fake_proof(body.get("nullifier_hash", ""), body.get("signal_hash", ""), body.get("action", ""))
        if body.get("action") != ACTION or body.get("proof") != expected:
            return self.send_json(400, {"code": "invalid_proof", "detail": "The provided proof is invalid."})
        self.send_json(200, {"success": True, "action": ACTION, "nullifier_hash": body["nullifier_hash"]})

    def do_GET(self):
        fake = self.fake
        if fake.down:
            return self.send_json(502, {"detail": "bad gateway"})
        url = urlsplit(self.path)
        if self.headers.get("Authorization") != f"Bearer {API_KEY}" or parse_qs(url.query).get("app_id") != [APP_ID]:
            return self.send_json(401, {"code": "unauthorized"})
        prefix = "/api/v2/minikit/transaction/"
        payment = fake.payments.get(url.path[len(prefix) :]) if url.path.startswith(prefix) else None
        if payment is None:
            return self.send_json(404, {"code": "not_found"})
        self.send_json(200, payment)


class FakeWorld(HttpFake):
    handler = WorldHandler

    def __init__(self):
        self.payments: dict[str, dict] = {}
        self.verify_calls: list[dict] = []
        self.down = False  # answer 502 to everything
        super().__init__()

    def add_payment(
        self,
        payment_id: str,
        reference: str,
        cents: int,
        status: str = "mined",
        token: str = "USDCE",
        to: str = RECIPIENT,
    ):
        self.payments[payment_id] = {
            "transaction_id": payment_id,
            "reference": reference,
            "transaction_status": status,
            "token": token,
            "token_amount": str(cents * 10**4),
            "chain": "worldchain",
            "app_id": APP_ID,
            "from": "0x" + "1" * 40,
            "to": to,
        }
