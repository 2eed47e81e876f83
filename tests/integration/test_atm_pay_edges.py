"""ATM payments off the happy path, over POST /atm/pay with the World fakes: the person
behind a re-spelled nullifier, keys of different customers, and the catalog lookups of
the definer functions."""

from __future__ import annotations

import re
import secrets

import psycopg
import pytest

from tests.support.atm_pay import atm_kiosk, create_tx, job_count, pay_body
from tests.support.dispenser_rig import paid_jobs
from tests.support.helpers import assert_ledger_invariants, call_as, rid


@pytest.fixture
def kiosk(db, token):
    return atm_kiosk(db, token, "e")


@pytest.fixture
def person_limit(db):
    """A 24 h limit of 699 cents: one 550 transaction fits, a second does not."""
    db.execute("UPDATE core.settings SET value = '699' WHERE key = 'atm.person_daily_limit'")
    yield 699
    db.execute("UPDATE core.settings SET value = '20000' WHERE key = 'atm.person_daily_limit'")


def pay(client, world_fake, tx, **kw):
    body = pay_body(tx, **kw)
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
    return client.post("/atm/pay", json=body)


@pytest.mark.parametrize("respelled", ["0x00{h}", "0x{H}", "0X{h}", "0x0000{H}"])
def test_a_respelled_nullifier_is_the_same_person(client, kiosk, world_fake, db, person_limit, respelled):
    """A nullifier hash is a number: a person must not escape the 24 h limit by writing it differently."""
    digits = "ab" + secrets.token_hex(15)
    first = pay(client, world_fake, create_tx(client, kiosk), nullifier="0x" + digits)
    assert first.status_code == 200, first.text
    again = pay(client, world_fake, create_tx(client, kiosk), nullifier=respelled.format(h=digits, H=digits.upper()))
    assert again.status_code == 403 and again.json()["code"] == "PERSON_LIMIT_REACHED", again.text
    stored = db.execute(
        "SELECT DISTINCT nullifier_hash FROM atm.transactions WHERE nullifier_hash LIKE %s", ["%" + digits[-8:]]
    ).fetchall()
    assert stored == [("0x" + digits,)]
    assert_ledger_invariants(db)


@pytest.mark.parametrize(
    "nullifier",
    [
        "0x",
        "ab",
        "0x0xab",
        "0xg1",
        "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001",  # the field's order
        "0x1" + "0" * 64,  # 65 digits
    ],
)
def test_a_nullifier_that_is_no_field_element_is_400(client, kiosk, world_fake, db, nullifier):
    tx = create_tx(client, kiosk)
    resp = pay(client, world_fake, tx, nullifier=nullifier)
    assert resp.status_code == 400 and resp.json()["details"] == {"argument": "nullifier_hash"}, resp.text
    assert job_count(db, tx) == 0


def test_canonical_nullifier_spellings(db):
    canon = lambda h: db.execute("SELECT atm.canonical_nullifier(%s)", [h]).fetchone()[0]  # noqa: E731
    assert canon("0x00AbC") == canon("0xabc") == canon("0X0abc") == "0xabc"
    assert canon("0x000") == "0x0"
    top = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000"  # the order minus one
    assert canon("0x00" + top[2:]) == top
    assert canon(top[:-1] + "1") is None


def test_canonical_nullifier_accepts_exactly_0x_and_1_to_128_hex_digits(db):
    """The shape check is spelled without a regular expression; it accepts what
    ^0[xX][0-9a-fA-F]{1,128}$ accepts, nothing else."""
    spellings = [
        "0x",
        "0X1",
        "x12",
        "00x1",
        "1x12",
        "0xg1",
        "0x1g",
        "0x12\n",
        " 0x12",
        "0x 12",
        "0x-1",
        "0x+1",
        "0x" + "0" * 128,
        "0x" + "0" * 129,
        "0Xa",
        "0xé1",
        "0x\u0661",
        "",
        "0",
        "0x0F",
    ]
    rows = db.execute(
        "SELECT h, atm.canonical_nullifier(h) IS NOT NULL, h ~ '^0[xX][0-9a-fA-F]{1,128}$' FROM unnest(%s::text[]) h",
        [spellings],
    ).fetchall()
    assert [(h, ok) for h, ok, _ in rows] == [(h, shaped) for h, _, shaped in rows]
    assert [h for h, ok, _ in rows if ok] == ["0X1", "0x" + "0" * 128, "0Xa", "0x0F"]


# Catalog relations a definer function reads by bare name: the session's temporary schema is
# searched before pg_catalog for relations, so a temp table of that name would answer.
BARE_CATALOG = re.compile(r"\b(?:from|join)\s+(?!pg_catalog\.)(pg_\w+|information_schema\.\w+)", re.I)


def test_definer_functions_name_catalog_relations_with_their_schema(db):
    rows = db.execute(
        """SELECT p.oid::regprocedure::text, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('api', 'core', 'ledger', 'cards', 'kiosk', 'atm', 'checkout', 'dex')"""
    ).fetchall()
    bare = [(fn, m.group(1)) for fn, src in rows for m in BARE_CATALOG.finditer(src)]
    assert bare == []


def test_a_temp_table_cannot_pose_as_pg_roles(migrated, db):
    """dispense_reconcile lets a superuser session through; a temp pg_roles must not make one."""
    kiosk_id = "h" + secrets.token_hex(5)
    call_as(db, "admin", "SELECT api.atm_kiosk_register(%s, 'H', NULL, 0, 1000, %s)", (kiosk_id, "kr-" + kiosk_id))
    [job] = paid_jobs(db, kiosk_id, 1)
    db.execute("UPDATE atm.dispense_jobs SET status = 'needs_reconciliation' WHERE id = %s", [job])
    role = "agent_" + secrets.token_hex(4)
    db.execute(f"CREATE ROLE {role} NOLOGIN IN ROLE kiosk_agent")  # a kiosk agent login mapped to no kiosk
    try:
        with psycopg.connect(migrated.url, autocommit=True) as conn:
            conn.execute(f"SET SESSION AUTHORIZATION {role}")
            conn.execute("CREATE TEMP TABLE pg_roles (rolname name, rolsuper boolean)")
            conn.execute("INSERT INTO pg_temp.pg_roles VALUES (session_user, true)")
            try:
                with pytest.raises(psycopg.Error, match="FORBIDDEN"):
                    conn.execute("SELECT api.dispense_reconcile(%s, 10, 'forged superuser')", [job])
            finally:
                conn.execute("DROP TABLE pg_temp.pg_roles")
    finally:
        db.execute(f"DROP ROLE {role}")
    status = db.execute("SELECT status FROM atm.dispense_jobs WHERE id = %s", [job]).fetchone()[0]
    assert status == "needs_reconciliation"


def test_two_customers_with_the_same_request_id_both_pay(client, kiosk, world_fake, db):
    """Every /atm/pay caller is the same anonymous principal: keys are scoped per transaction."""
    key = "pay-1"  # what two mini apps might both pick
    first, second = create_tx(client, kiosk), create_tx(client, kiosk)
    a = pay(client, world_fake, first, request_id=key)
    b = pay(client, world_fake, second, request_id=key)
    assert a.status_code == 200 and b.status_code == 200, (a.text, b.text)
    assert "idempotent-replayed" not in b.headers
    assert (a.json()["transaction_id"], b.json()["transaction_id"]) == (first["id"], second["id"])
    assert job_count(db, first) == 1 and job_count(db, second) == 1
    replay = client.post("/atm/pay", json=pay_body(first, request_id=key))  # the key still guards its own transaction
    assert replay.status_code == 422 and replay.json()["code"] == "IDEMPOTENCY_MISMATCH"
    assert_ledger_invariants(db)


def test_atm_pay_without_a_transaction_id_is_400(db):
    with pytest.raises(psycopg.Error, match="INVALID_REQUEST: transaction_id is required"):
        call_as(db, "payments", "SELECT api.atm_pay(NULL, '0xab', 'wp', 'mined', 'r', 1, 'k')", claims={})


# Payments off the happy path are booked: honoured, or owed back to the payer.


def refund_of(db, payment_id) -> dict | None:
    row = db.execute(
        """SELECT r.id, r.reason, r.amount, r.status, sum(p.amount) FILTER (WHERE a.kind = 'atm_refund_due'),
                  sum(p.amount) FILTER (WHERE a.kind = 'world_payment_clearing'),
                  (SELECT count(*) FROM atm.alerts x WHERE x.refund_id = r.id AND x.resolved_at IS NULL)
             FROM atm.refunds r JOIN ledger.postings p ON p.transfer_id = r.transfer_id
             JOIN ledger.accounts a ON a.id = p.account_id
            WHERE r.world_payment_id = %s GROUP BY r.id""",
        [payment_id],
    ).fetchone()
    if row is None:
        return None
    keys = ("id", "reason", "amount", "status", "refund_due", "clearing", "open_alerts")
    return dict(zip(keys, row, strict=True))


def pay_cents(client, world_fake, tx, cents, **kw):
    body = pay_body(tx, **kw)
    world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], cents)
    return body, client.post("/atm/pay", json=body)


def expire(db, tx, ago: str):
    db.execute("UPDATE atm.transactions SET expires_at = now() - %s::interval WHERE id = %s", [ago, tx["id"]])


def test_a_payment_within_the_grace_after_expiry_pays(client, kiosk, world_fake, db):
    tx = create_tx(client, kiosk)
    expire(db, tx, "2 minutes")  # the default grace is 5
    db.execute("SELECT atm.cleanup_expired_transactions()")  # even once the DBA's sweep marked it expired
    body, resp = pay_cents(client, world_fake, tx, tx["total"])
    assert resp.status_code == 200 and resp.json()["status"] == "paid", resp.text
    assert job_count(db, tx) == 1 and refund_of(db, body["payment"]["transaction_id"]) is None
    assert_ledger_invariants(db)


def test_a_payment_after_the_grace_is_booked_as_refund_due(client, kiosk, world_fake, db, admin_headers):
    tx = create_tx(client, kiosk)
    expire(db, tx, "6 minutes")
    body, resp = pay_cents(client, world_fake, tx, tx["total"])
    assert resp.status_code == 410 and resp.json()["code"] == "EXPIRED", resp.text
    payment = body["payment"]["transaction_id"]
    answer = resp.json()["details"]["refund"]
    assert answer["reason"] == "late" and answer["amount"] == tx["total"] and answer["status"] == "due"
    assert "due back" in resp.json()["message"]
    booked = refund_of(db, payment)
    assert booked == {
        "id": answer["refund_id"],
        "reason": "late",
        "amount": tx["total"],
        "status": "due",
        "refund_due": tx["total"],
        "clearing": -tx["total"],
        "open_alerts": 1,
    }
    assert job_count(db, tx) == 0
    # A retry replays the decline; a new key for the same payment books nothing twice.
    again = client.post("/atm/pay", json=body)
    assert again.status_code == 410 and again.headers["idempotent-replayed"] == "true"
    other = client.post("/atm/pay", json={**body, "request_id": "retry-" + body["request_id"]})
    assert other.status_code == 409 and other.json()["code"] == "PAYMENT_ALREADY_USED"
    assert db.execute("SELECT count(*) FROM atm.refunds WHERE world_payment_id = %s", [payment]).fetchone()[0] == 1
    listed = client.get("/rpc/atm_refunds_due", params={"kiosk_id": kiosk[0]}, headers=admin_headers)
    assert listed.status_code == 200 and [r["refund_id"] for r in listed.json()] == [answer["refund_id"]]
    assert_ledger_invariants(db)


def test_an_overpayment_pays_and_books_the_excess_as_refund_due(client, kiosk, world_fake, db):
    tx = create_tx(client, kiosk)
    body, resp = pay_cents(client, world_fake, tx, tx["total"] + 137)
    assert resp.status_code == 200 and resp.json()["status"] == "paid", resp.text
    assert resp.json()["refund"]["reason"] == "excess" and resp.json()["refund"]["amount"] == 137
    booked = refund_of(db, body["payment"]["transaction_id"])
    assert (booked["reason"], booked["amount"], booked["refund_due"], booked["clearing"]) == ("excess", 137, 137, -137)
    assert job_count(db, tx) == 1
    assert_ledger_invariants(db)


@pytest.mark.parametrize("case", ["already_paid", "underpaid", "person_limit"])
def test_a_confirmed_payment_that_cannot_pay_is_booked_as_refund_due(client, kiosk, world_fake, db, person_limit, case):
    tx = create_tx(client, kiosk)
    cents, expect = tx["total"], {"already_paid": 409, "underpaid": 402, "person_limit": 403}[case]
    if case == "already_paid":
        assert pay(client, world_fake, tx).status_code == 200
    elif case == "underpaid":
        cents = tx["total"] - 25
    else:
        assert pay(client, world_fake, create_tx(client, kiosk), nullifier="0xbeef01").status_code == 200
    body, resp = pay_cents(client, world_fake, tx, cents, nullifier="0xbeef01" if case == "person_limit" else None)
    assert resp.status_code == expect and resp.json()["details"]["refund"]["reason"] == case, resp.text
    assert refund_of(db, body["payment"]["transaction_id"])["amount"] == cents
    assert_ledger_invariants(db)


def test_settling_a_refund_moves_it_out_of_refund_due_once(client, kiosk, world_fake, db, token, admin_headers):
    tx = create_tx(client, kiosk)
    expire(db, tx, "1 hour")
    body, resp = pay_cents(client, world_fake, tx, tx["total"])
    refund_id = resp.json()["details"]["refund"]["refund_id"]
    call_as(db, "admin", "SELECT api.company_create(%s, 'Edge Co', %s)", ("edge-co", rid()))
    call_as(db, "admin", "SELECT api.kiosk_assign_company(%s, 'edge-co', %s)", (kiosk[0], rid()))
    operator = {"Authorization": "Bearer " + token("operator", sub="op-1", company_id="edge-co")}
    settle = {"refund_id": refund_id, "method": "world_app", "reference": "0xfeedbeef", "note": "sent back"}

    for bad, arg in (({"method": "gift"}, "method"), ({"reference": None}, "reference")):
        r = client.post("/rpc/atm_refund_settle", headers=operator, json={**settle, **bad, "request_id": "s-bad"})
        assert r.status_code == 400 and r.json()["details"] == {"argument": arg}, r.text
    missing = client.post(
        "/rpc/atm_refund_settle", headers=operator, json={**settle, "refund_id": 0, "request_id": "s0"}
    )
    assert missing.status_code == 404 and missing.json()["code"] == "ATM_REFUND_NOT_FOUND"
    kiosk_try = client.post("/rpc/atm_refund_settle", headers=kiosk[1], json={**settle, "request_id": "s-k"})
    assert kiosk_try.status_code == 403
    assert refund_of(db, body["payment"]["transaction_id"])["status"] == "due", "refused requests change nothing"

    done = client.post("/rpc/atm_refund_settle", headers=operator, json={**settle, "request_id": "s1"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "settled" and done.json()["method"] == "world_app"
    assert done.json()["reference"] == "0xfeedbeef" and done.json()["settled_by"] == "op-1"
    replay = client.post("/rpc/atm_refund_settle", headers=operator, json={**settle, "request_id": "s1"})
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    twice = client.post("/rpc/atm_refund_settle", headers=admin_headers, json={**settle, "request_id": "s2"})
    assert twice.status_code == 409 and twice.json()["code"] == "REFUND_ALREADY_SETTLED"

    moved = db.execute(
        """SELECT a.kind, a.owner_ref, p.amount FROM atm.refunds r JOIN ledger.postings p ON p.transfer_id = r.settled_transfer_id
             JOIN ledger.accounts a ON a.id = p.account_id WHERE r.id = %s ORDER BY p.amount""",
        [refund_id],
    ).fetchall()
    assert moved == [("atm_refund_due", "world_app", -tx["total"]), ("atm_refunds_paid", "world_app", tx["total"])]
    assert refund_of(db, body["payment"]["transaction_id"])["open_alerts"] == 0
    listed = client.get("/rpc/atm_refunds_due", params={"kiosk_id": kiosk[0]}, headers=operator).json()
    assert refund_id not in [r["refund_id"] for r in listed]
    assert_ledger_invariants(db)
