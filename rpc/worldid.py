"""World ID proof verification and World App payment lookup (httpx clients).

Both are facts the RPC gathers before calling api.atm_pay; what they mean for the
transaction (expired? enough? over the person's limit?) is decided in SQL.

Settings:
  WORLD_ID_APP_ID        app_... of the mini app (required unless WORLD_ID_MODE=dev)
  WORLD_ID_ACTION        the incognito action the proofs are for (default buy-quarters)
  WORLD_ID_API_BASE      developer portal base URL (default https://developer.worldcoin.org)
  WORLD_APP_API_KEY      developer portal API key for the payment lookup
  WORLD_PAYMENT_TOKENS   accepted tokens and their decimals, USD stablecoins only
                         (default "USDCE:6,USDC:6"); amounts convert to cents
  WORLD_ID_MODE=dev      skip both checks (logged loudly at start-up); never a default
  WORLD_PAY_RECIPIENT    the address (0x + 40 hex digits) the customer's page asks World App
                         to pay, and the only one a payment counts for; unset, the page says
                         payments are not set up and /atm/pay answers 503
  WORLD_PAY_TOKEN        the token the page asks for, one of WORLD_PAYMENT_TOKENS (default
                         the first of them)
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

import httpx
from Crypto.Hash import keccak

from .errors import ApiError

log = logging.getLogger("rpc.worldid")
DEFAULT_BASE = "https://developer.worldcoin.org"
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def hash_to_field(signal: str) -> str:
    """World ID's signal hash: keccak256(utf8 bytes) >> 8, as 0x + 64 hex digits."""
    digest = keccak.new(digest_bits=256, data=signal.encode()).digest()
    return "0x" + format(int.from_bytes(digest, "big") >> 8, "064x")


@dataclass(frozen=True)
class WorldConfig:
    app_id: str | None
    action: str
    base: str
    api_key: str | None
    tokens: dict[str, int]
    dev_mode: bool
    pay_recipient: str | None = None
    pay_token: str = "USDCE"

    @classmethod
    def from_env(cls) -> WorldConfig:
        tokens = {}
        for item in os.environ.get("WORLD_PAYMENT_TOKENS", "USDCE:6,USDC:6").split(","):
            name, _, decimals = item.strip().partition(":")
            tokens[name.upper()] = int(decimals or 6)
        recipient = os.environ.get("WORLD_PAY_RECIPIENT") or None
        if recipient is not None and not ADDRESS.fullmatch(recipient):
            raise SystemExit(f"rpc: WORLD_PAY_RECIPIENT {recipient!r} is not an address (0x and 40 hex digits)")
        pay_token = (os.environ.get("WORLD_PAY_TOKEN") or next(iter(tokens))).upper()
        # The page pays cents in the token's base units: a token with fewer than 2 decimals
        # cannot carry a cent, and one the lookup does not accept would pay nothing.
        if tokens.get(pay_token, 0) < 2:
            raise SystemExit(
                f"rpc: WORLD_PAY_TOKEN {pay_token!r} must be one of WORLD_PAYMENT_TOKENS with >= 2 decimals"
            )
        return cls(
            app_id=os.environ.get("WORLD_ID_APP_ID"),
            action=os.environ.get("WORLD_ID_ACTION", "buy-quarters"),
            base=os.environ.get("WORLD_ID_API_BASE", DEFAULT_BASE).rstrip("/"),
            api_key=os.environ.get("WORLD_APP_API_KEY"),
            tokens=tokens,
            dev_mode=os.environ.get("WORLD_ID_MODE") == "dev",
            pay_recipient=recipient,
            pay_token=pay_token,
        )

    def page_config(self) -> dict:
        """What the customer's page needs to ask World App for a proof and a payment the
        server will then accept: the same action, token and decimals it checks with."""
        return {
            "app_id": self.app_id,
            "action": self.action,
            "recipient": self.pay_recipient,
            "token": {"symbol": self.pay_token, "decimals": self.tokens[self.pay_token]},
        }

    def require_configured(self) -> None:
        if not self.dev_mode and not (self.app_id and self.api_key):
            raise ApiError(
                "SERVICE_UNAVAILABLE", "World ID is not configured: set WORLD_ID_APP_ID and WORLD_APP_API_KEY"
            )
        # Without our own address no payment can be told to have reached us.
        if not self.dev_mode and not self.pay_recipient:
            raise ApiError("SERVICE_UNAVAILABLE", "World App payments are not configured: set WORLD_PAY_RECIPIENT")


@dataclass(frozen=True)
class PaymentFacts:
    payment_id: str
    status: str
    reference: str | None
    paid_cents: int


class WorldClient:
    def __init__(self, cfg: WorldConfig, http: httpx.AsyncClient):
        self.cfg, self.http = cfg, http

    async def verify_proof(self, world_id: dict, signal: str) -> None:
        """Raises WORLD_ID_INVALID for a proof the verifier rejects, 503 if it cannot be asked."""
        body = {
            "proof": world_id["proof"],
            "merkle_root": world_id["merkle_root"],
            "nullifier_hash": world_id["nullifier_hash"],
            "verification_level": world_id["verification_level"],
            "action": self.cfg.action,
            "signal_hash": hash_to_field(signal),
        }
        try:
            resp = await self.http.post(f"{self.cfg.base}/api/v2/verify/{self.cfg.app_id}", json=body)
        except httpx.HTTPError as err:
            raise ApiError(
                "SERVICE_UNAVAILABLE", f"the World ID verifier is unreachable ({type(err).__name__})"
            ) from None
        if resp.status_code == 200:
            return
        if 400 <= resp.status_code < 500:
            detail = _json_or_text(resp)
            raise ApiError(
                "WORLD_ID_INVALID",
                "the World ID proof was rejected",
                details={"verifier": detail if isinstance(detail, dict) else {"detail": detail}},
            )
        raise ApiError("SERVICE_UNAVAILABLE", f"the World ID verifier answered {resp.status_code}")

    async def lookup_payment(self, payment_id: str) -> PaymentFacts:
        try:
            resp = await self.http.get(
                f"{self.cfg.base}/api/v2/minikit/transaction/{payment_id}",
                params={"app_id": self.cfg.app_id, "type": "payment"},
                headers={"Authorization": f"Bearer {self.cfg.api_key}"},
            )
        except httpx.HTTPError as err:
            raise ApiError(
                "SERVICE_UNAVAILABLE", f"the World App payment lookup is unreachable ({type(err).__name__})"
            ) from None
        if resp.status_code == 404:
            return PaymentFacts(payment_id, "unknown", None, 0)
        if resp.status_code != 200:
            raise ApiError("SERVICE_UNAVAILABLE", f"the World App payment lookup answered {resp.status_code}")
        data = resp.json()
        token = str(data.get("token") or data.get("input_token") or "").upper()
        decimals = self.cfg.tokens.get(token)
        try:
            units = int(str(data.get("token_amount") or data.get("input_token_amount") or "0"))
        except ValueError:
            units = 0
        # Only configured USD stablecoins count; anything else is paid 0 (SQL declines it).
        cents = units * 100 // 10**decimals if decimals is not None else 0
        status = str(data.get("transaction_status") or "unknown")
        # Money sent to any other address is not ours: the page asks World App to pay
        # WORLD_PAY_RECIPIENT, but a client can change what it asks for while keeping the
        # transaction's reference. Such a payment books nothing (SQL declines "misdirected").
        recipient = str(data.get("to") or data.get("recipient_address") or "")
        if recipient.lower() != (self.cfg.pay_recipient or "").lower():
            log.warning("World App payment %s went to %r, not to WORLD_PAY_RECIPIENT", payment_id, recipient)
            status, cents = "misdirected", 0
        return PaymentFacts(payment_id, status, data.get("reference"), cents)


def _json_or_text(resp: httpx.Response):
    try:
        return resp.json()
    except ValueError:
        return resp.text[:500]
