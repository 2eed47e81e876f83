"""The fake World App host (world_app_host.js) for a Playwright page: what it answers, the
messages the page sent it, and its "chain" - payments it submits land in the World fake's
payment lookup, as World App's would reach the developer portal."""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path

from tests.support.fakes.world_fake import APP_ID, FakeWorld

HOST_JS = (Path(__file__).parent / "world_app_host.js").read_text()
WALLET = "0x" + "1" * 40


class WorldAppHost:
    """verify / pay: "success", the error_code World App answers with (user_rejected...), or
    "silent": no answer (pay can be answered later with answer_pay_late)."""

    def __init__(
        self,
        world: FakeWorld,
        verify: str = "success",
        pay: str = "success",
        reply_delay_ms: int = 50,
        mined_after_s: float = 0,
    ):
        self.world = world
        self.mined_after_s = mined_after_s
        self.nullifier_hash = "0x" + secrets.token_hex(31)
        self.submitted: list[dict] = []
        self.options = {
            "verify": verify,
            "pay": pay,
            "reply_delay_ms": reply_delay_ms,
            "nullifier_hash": self.nullifier_hash,
            "merkle_root": "0x" + "ab" * 32,
            "wallet": WALLET,
        }

    def install(self, page) -> WorldAppHost:
        """Before page.goto: the host exists from the page's first script on."""
        page.expose_function("__worldChainSubmit", self._submit)
        page.add_init_script(HOST_JS.replace("__HOST_OPTIONS__", json.dumps(self.options)))
        return self

    def _submit(self, payment: dict) -> None:
        # The lookup then answers as the developer portal does (tests/support/fakes/
        # world_fake.py): pending until the chain has mined it.
        self.submitted.append(payment)
        record = {**payment, "transaction_status": "pending", "chain": "worldchain", "app_id": APP_ID}
        self.world.payments[payment["transaction_id"]] = record
        if self.mined_after_s:
            threading.Timer(self.mined_after_s, record.update, kwargs={"transaction_status": "mined"}).start()
        else:
            record["transaction_status"] = "mined"

    @staticmethod
    def answer_pay_late(page) -> None:
        page.evaluate("() => window.__worldAppHost.answerPay()")

    @staticmethod
    def messages(page) -> list[dict]:
        return page.evaluate("window.__worldAppHost.messages")
