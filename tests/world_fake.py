"""A local HTTP fake of the World developer portal: the v2 proof verifier and the
MiniKit payment lookup, at the protocol level (paths, bearer key, JSON shapes).

It cannot check a zero-knowledge proof; instead a proof is valid when it equals
fake_proof(nullifier_hash, signal_hash, action) - so a proof made for one transaction
(signal) fails for another, as a real one would.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

APP_ID = "app_staging_kioskledger"
API_KEY = "api_test_key"
ACTION = "buy-quarters"


def fake_proof(nullifier_hash: str, signal_hash: str, action: str = ACTION) -> str:
    return "0x" + hashlib.sha256(f"{nullifier_hash}|{signal_hash}|{action}".encode()).hexdigest()


class FakeWorld:
    def __init__(self):
        self.payments: dict[str, dict] = {}
        self.verify_calls: list[dict] = []
        self.down = False  # answer 502 to everything
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                if fake.down:
                    return self._send(502, {"detail": "bad gateway"})
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                fake.verify_calls.append(body)
                if self.path != f"/api/v2/verify/{APP_ID}":
                    return self._send(404, {"code": "not_found", "detail": "unknown app"})
                expected = fake_proof(body.get("nullifier_hash", ""), body.get("signal_hash", ""), body.get("action", ""))
                if body.get("action") != ACTION or body.get("proof") != expected:
                    return self._send(400, {"code": "invalid_proof", "detail": "The provided proof is invalid."})
                self._send(200, {"success": True, "action": ACTION, "nullifier_hash": body["nullifier_hash"]})

            def do_GET(self):
                if fake.down:
                    return self._send(502, {"detail": "bad gateway"})
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if self.headers.get("Authorization") != f"Bearer {API_KEY}" or query.get("app_id") != [APP_ID]:
                    return self._send(401, {"code": "unauthorized"})
                prefix = "/api/v2/minikit/transaction/"
                payment = fake.payments.get(url.path[len(prefix):]) if url.path.startswith(prefix) else None
                if payment is None:
                    return self._send(404, {"code": "not_found"})
                self._send(200, payment)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add_payment(self, payment_id: str, reference: str, cents: int, status: str = "mined", token: str = "USDCE"):
        self.payments[payment_id] = {
            "transaction_id": payment_id, "reference": reference, "transaction_status": status,
            "token": token, "token_amount": str(cents * 10**4), "chain": "worldchain", "app_id": APP_ID,
            "from": "0x" + "1" * 40, "to": "0x" + "2" * 40}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
