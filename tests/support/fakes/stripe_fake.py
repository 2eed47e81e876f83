"""A local HTTP fake of the one Stripe endpoint the checkout uses: POST /v1/checkout/sessions.

Speaks Stripe's wire protocol: bearer API key, form-encoded nested parameters
(line_items[0][price_data][unit_amount]=...), Idempotency-Key semantics (same key and
same parameters: the same session; same key, other parameters: a 400 idempotency_error).
"""

from __future__ import annotations

import secrets
import threading
from urllib.parse import parse_qsl

from tests.support.fakes.http_fake import HttpFake, JsonHandler


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """line_items[0][quantity]=1 -> {"line_items": {"0": {"quantity": "1"}}}"""
    out: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class StripeHandler(JsonHandler):
    def do_POST(self):
        fake = self.fake
        form = unflatten(parse_qsl(self.read_body().decode(), keep_blank_values=True))
        fake.requests.append({"path": self.path, "headers": dict(self.headers), "params": form})
        if not (self.headers.get("Authorization") or "").startswith("Bearer sk_test_"):
            return self.send_json(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
        if self.path != "/v1/checkout/sessions":
            return self.send_json(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}})
        self.send_json(*fake.create_session(form, self.headers.get("Idempotency-Key")))


class FakeStripe(HttpFake):
    handler = StripeHandler

    def __init__(self):
        self.sessions: dict[str, dict] = {}
        self.by_key: dict[str, tuple[str, dict]] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        super().__init__()

    def create_session(self, form: dict, idem_key: str | None) -> tuple[int, dict]:
        with self.lock:
            if idem_key and idem_key in self.by_key:
                session_id, first_form = self.by_key[idem_key]
                if first_form != form:
                    return 400, {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same parameters",
                        }
                    }
                return 200, self.sessions[session_id]
            item = form["line_items"]["0"]
            amount = int(item["price_data"]["unit_amount"]) * int(item["quantity"])
            sid = "cs_test_" + secrets.token_hex(12)
            session = {
                "id": sid,
                "object": "checkout.session",
                "mode": form.get("mode"),
                "status": "open",
                "url": f"https://checkout.stripe.test/c/pay/{sid}",
                "amount_total": amount,
                "currency": item["price_data"]["currency"],
                "client_reference_id": form.get("client_reference_id"),
                "metadata": form.get("metadata", {}),
                "payment_intent": None,
                "payment_status": "unpaid",
            }
            self.sessions[sid] = session
            if idem_key:
                self.by_key[idem_key] = (sid, form)
            return 200, session
