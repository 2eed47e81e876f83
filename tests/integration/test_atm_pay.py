"""POST /atm/pay against the World ID verifier and payment lookup fakes (the real httpx
client code runs), plus what a coin ATM must rule out: unchecked proofs, client-chosen
kiosk ids, double jobs."""

from __future__ import annotations

import uuid

import httpx
import pytest

from rpc.worldid import hash_to_field
from tests.support.atm_pay import atm_kiosk, create_tx, job_count, pay_body
from tests.support.concurrency import at_once
from tests.support.fakes import world_fake as world
from tests.support.helpers import assert_ledger_invariants, rid


@pytest.fixture
def kiosk(db, token):
    return atm_kiosk(db, token, "t")


def test_verified_payment_queues_one_job(client, kiosk, world_fake, db):
    tx = create_tx(client, kiosk)
    body = pay_body(tx)
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
    resp = client.post("/atm/pay", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "paid" and resp.json()["quarters"] == 20
    assert job_count(db, tx) == 1
    sent = world_fake.verify_calls[-1]
    assert sent["signal_hash"] == hash_to_field(tx["id"]) and sent["action"] == "buy-quarters"
    status = client.get("/rpc/atm_transaction_status", params={"id": tx["id"]}).json()
    assert status["status"] == "paid" and status["dispense"]["coins_paid"] == 0
    again = client.post("/atm/pay", json=body)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert_ledger_invariants(db)


def test_invalid_proof_is_403_and_changes_nothing(client, kiosk, world_fake, db):
    """The World ID proof is verified: a forged one is refused before anything is written."""
    tx = create_tx(client, kiosk)
    body = pay_body(tx)
    body["world_id"]["proof"] = "0x" + "00" * 32
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
    resp = client.post("/atm/pay", json=body)
    assert resp.status_code == 403 and resp.json()["code"] == "WORLD_ID_INVALID"
    assert job_count(db, tx) == 0
    assert client.get("/rpc/atm_transaction_status", params={"id": tx["id"]}).json()["status"] == "pending"


def test_a_proof_for_one_transaction_cannot_pay_another(client, kiosk, world_fake, db):
    first, second = create_tx(client, kiosk), create_tx(client, kiosk)
    body = pay_body(second, signal=first["id"])  # a genuine proof, but bound to the first transaction
    world_fake.add_payment(body["payment"]["transaction_id"], second["payment_reference"], second["total"])
    resp = client.post("/atm/pay", json=body)
    assert resp.status_code == 403 and resp.json()["code"] == "WORLD_ID_INVALID"
    assert job_count(db, second) == 0


@pytest.mark.parametrize(
    "status,cents,reference_ok",
    [("pending", None, True), ("failed", None, True), ("mined", 549, True), ("mined", None, False)],
)
def test_unconfirmed_payment_is_402(client, kiosk, world_fake, db, status, cents, reference_ok):
    tx = create_tx(client, kiosk)
    body = pay_body(tx)
    world_fake.add_payment(
        body["payment"]["transaction_id"],
        tx["payment_reference"] if reference_ok else "other",
        cents if cents is not None else tx["total"],
        status=status,
    )
    resp = client.post("/atm/pay", json=body)
    assert resp.status_code == 402 and resp.json()["code"] == "PAYMENT_NOT_CONFIRMED"
    assert job_count(db, tx) == 0


def test_unknown_payment_and_wrong_token_are_402(client, kiosk, world_fake, db):
    tx = create_tx(client, kiosk)
    assert client.post("/atm/pay", json=pay_body(tx)).status_code == 402  # the lookup does not know it
    body = pay_body(tx)
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"], token="WLD")
    assert client.post("/atm/pay", json=body).status_code == 402, "only configured USD stablecoins count"


@pytest.mark.parametrize("to", ["0x" + "9" * 40, "", None])
def test_a_payment_to_another_address_books_nothing(client, kiosk, world_fake, db, to):
    """The right reference and amount, paid to someone else: not money we hold."""
    tx = create_tx(client, kiosk)
    body = pay_body(tx)
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"], to=to)
    resp = client.post("/atm/pay", json=body)
    assert resp.status_code == 402 and resp.json()["code"] == "PAYMENT_NOT_CONFIRMED"
    assert resp.json()["details"]["payment_status"] == "misdirected"
    assert "another address" in resp.json()["message"]
    assert job_count(db, tx) == 0
    assert db.execute("SELECT count(*) FROM atm.refunds WHERE transaction_id = %s", [tx["id"]]).fetchone()[0] == 0


def test_the_recipient_compares_without_case(client, kiosk, world_fake, db):
    tx = create_tx(client, kiosk)
    body = pay_body(tx)
    to = "0x" + world.RECIPIENT[2:].swapcase()  # addresses are hex: the letters' case is a checksum, not the address
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"], to=to)
    assert client.post("/atm/pay", json=body).status_code == 200
    assert job_count(db, tx) == 1


def test_verifier_unreachable_is_503_and_changes_nothing(client, kiosk, world_fake, db):
    tx = create_tx(client, kiosk)
    body = pay_body(tx)
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
    world_fake.down = True
    try:
        resp = client.post("/atm/pay", json=body)
    finally:
        world_fake.down = False
    assert resp.status_code == 503 and resp.json()["code"] == "SERVICE_UNAVAILABLE"
    assert job_count(db, tx) == 0
    assert client.post("/atm/pay", json=body).status_code == 200, "the same request succeeds once it is back"


def test_expired_transaction_is_410(client, kiosk, world_fake, db):
    tx = create_tx(client, kiosk)
    db.execute("UPDATE atm.transactions SET expires_at = now() - interval '1 hour' WHERE id = %s", [tx["id"]])
    body = pay_body(tx)
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
    resp = client.post("/atm/pay", json=body)
    assert resp.status_code == 410 and resp.json()["code"] == "EXPIRED"
    assert resp.json()["details"]["refund"]["reason"] == "late", "the money arrived: it is booked as due back"
    assert job_count(db, tx) == 0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("world_id"),
        lambda b: b["world_id"].pop("proof"),
        lambda b: b.update(transaction_id="x"),
        lambda b: b.update(payment="wp_1"),
        lambda b: b.pop("request_id"),
        lambda b: b.update(extra=1),
        lambda b: b["world_id"].update(nullifier_hash=5),
    ],
)
def test_malformed_pay_requests_are_400(client, kiosk, mutate):
    body = pay_body(create_tx(client, kiosk))
    mutate(body)
    resp = client.post("/atm/pay", json=body)
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST"


def test_unknown_transaction_is_404(client, world_fake):
    body = pay_body({"id": str(uuid.uuid4()), "payment_reference": "x", "total": 1})
    assert client.post("/atm/pay", json=body).status_code == 404


def test_twenty_concurrent_payments_make_one_job(server, kiosk, world_fake, db):
    """Concurrent /pay calls for one transaction: one job, or its coins would be paid out twice."""
    with httpx.Client(base_url=server) as c:
        tx = create_tx(c, kiosk)
    bodies = [pay_body(tx, nullifier="0xfeed") for _ in range(20)]
    for b in bodies:  # twenty different, each genuine, payments for the one transaction
        world_fake.add_payment(b["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
    responses = at_once(server, bodies, lambda c, body: c.post("/atm/pay", json=body))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 19, [r.text for r in responses if r.status_code not in (200, 409)]
    assert job_count(db, tx) == 1
    assert_ledger_invariants(db)


def test_the_kiosk_is_the_token_not_a_header_or_argument(client, kiosk, token):
    """The kiosk is the token's: a header or argument is the client's choice, so it could name any kiosk."""
    other = kiosk[0] + "x"
    resp = client.post(
        "/rpc/atm_transaction_create",
        headers={**kiosk[1], "X-Kiosk-Id": other},
        json={"amount": 100, "request_id": rid()},
    )
    assert resp.status_code == 200 and resp.json()["kiosk_id"] == kiosk[0]
    arg = client.post(
        "/rpc/atm_transaction_create", headers=kiosk[1], json={"amount": 100, "kiosk_id": other, "request_id": rid()}
    )
    assert arg.status_code == 400 and arg.json()["details"] == {"argument": "kiosk_id"}
    forged = client.post(
        "/rpc/atm_transaction_create",
        headers={"Authorization": "Bearer " + token("kiosk", kiosk_id="ghost")},
        json={"amount": 100, "request_id": rid()},
    )
    assert forged.status_code == 403
