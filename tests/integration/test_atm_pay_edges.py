"""ATM payments off the happy path, over POST /atm/pay with the World fakes: the person
behind a re-spelled nullifier, keys of different customers, and the catalog lookups of
the definer functions."""

from __future__ import annotations

import re
import secrets

import psycopg
import pytest

from tests.integration.test_atm_pay import create_tx, job_count, pay_body
from tests.support.dispenser_rig import paid_jobs
from tests.support.helpers import assert_ledger_invariants, call_as, rid


@pytest.fixture
def kiosk(db, token):
    kiosk_id = "e" + secrets.token_hex(5)
    call_as(db, "admin", "SELECT api.atm_kiosk_register(%s, %s, NULL, NULL, 5000, %s)", (kiosk_id, "Edge ATM", rid()))
    return kiosk_id, {"Authorization": "Bearer " + token("kiosk", kiosk_id=kiosk_id, sub="kiosk:" + kiosk_id)}


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
