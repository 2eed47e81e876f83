"""An ATM kiosk with its token, its transactions, and /atm/pay bodies carrying a World ID
proof the World fake accepts."""

from __future__ import annotations

import secrets

from rpc.worldid import hash_to_field
from tests.support.fakes.world_fake import fake_proof
from tests.support.helpers import call_as, rid


def atm_kiosk(db, token, prefix: str) -> tuple[str, dict]:
    """A registered ATM kiosk (max 5000 cents) and its kiosk token's headers."""
    kiosk_id = prefix + secrets.token_hex(5)
    call_as(db, "admin", "SELECT api.atm_kiosk_register(%s, %s, NULL, NULL, 5000, %s)", (kiosk_id, "Test ATM", rid()))
    return kiosk_id, {"Authorization": "Bearer " + token("kiosk", kiosk_id=kiosk_id, sub="kiosk:" + kiosk_id)}


def create_tx(client, kiosk, amount=500) -> dict:
    resp = client.post("/rpc/atm_transaction_create", headers=kiosk[1], json={"amount": amount, "request_id": rid()})
    assert resp.status_code == 200, resp.text
    return resp.json()


def pay_body(
    tx: dict,
    nullifier: str | None = None,
    payment_id: str | None = None,
    signal: str | None = None,
    request_id: str | None = None,
) -> dict:
    nullifier = nullifier or "0x" + secrets.token_hex(16)
    proof = fake_proof(nullifier, hash_to_field(signal or tx["id"]))
    return {
        "transaction_id": tx["id"],
        "request_id": request_id or rid(),
        "world_id": {
            "proof": proof,
            "merkle_root": "0x" + "ab" * 32,
            "nullifier_hash": nullifier,
            "verification_level": "orb",
        },
        "payment": {"transaction_id": payment_id or "wp_" + secrets.token_hex(8)},
    }


def job_count(db, tx) -> int:
    return db.execute("SELECT count(*) FROM atm.dispense_jobs WHERE transaction_id = %s", [tx["id"]]).fetchone()[0]
