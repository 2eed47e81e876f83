"""A refund needs proof of possession: the card's refund code (shown once at issue, or
imported for a pre-printed batch), or a refund desk (staff/admin), never the printed card id
alone. Wrong codes are counted by committed declines and lock the card's refund."""

from __future__ import annotations

import pytest

from tests.support.concurrency import at_once
from tests.support.helpers import (
    assert_ledger_invariants,
    call_as,
    card_balance,
    issue_card,
    new_card_id,
    refund_code,
    rid,
)

IBAN = "DE89370400440532013000"


def refund(client, card, code=None, headers=None, key=None):
    body = {"card_id": card, "name": "Ann Holder", "email": "ann@example.org", "iban": IBAN, "request_id": key or rid()}
    if code is not None:
        body["refund_code"] = code
    return client.post("/rpc/refund_request", headers=headers or {}, json=body)


def card_status(db, card):
    return db.execute("SELECT status FROM cards.cards WHERE card_id = %s", [card]).fetchone()[0]


@pytest.fixture
def staff(token):
    return {"Authorization": "Bearer " + token("staff", sub="desk-7")}


def test_the_card_id_alone_does_not_refund(client, db):
    """Anyone who read the wristband could send the balance to their own IBAN."""
    card = issue_card(db, balance=5000)
    resp = refund(client, card)
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST", resp.text
    assert resp.json()["details"]["argument"] == "refund_code"
    assert card_status(db, card) == "active" and card_balance(db, card) == 5000
    assert db.execute("SELECT count(*) FROM cards.refund_requests WHERE card_id = %s", [card]).fetchone()[0] == 0


def test_the_holder_refunds_with_the_code_given_at_issue(client, db):
    card = issue_card(db, balance=5000)
    code = refund_code(card)
    resp = refund(client, card, code=" " + code.lower().replace("-", " ") + " ")  # as typed on a phone
    assert resp.status_code == 200 and resp.json()["amount"] == 4800, resp.text
    row = db.execute("SELECT proof, filed_by_role FROM cards.refund_requests WHERE card_id = %s", [card]).fetchone()
    assert row == ("refund_code", "anon")
    assert_ledger_invariants(db)


def test_issue_shows_the_code_once_and_never_stores_it(client, db, token):
    staff = {"Authorization": "Bearer " + token("staff", sub="issuer")}
    card, key = new_card_id(), rid()
    first = client.post("/rpc/card_issue", headers=staff, json={"card_id": card, "request_id": key})
    assert first.status_code == 200, first.text
    code = first.json()["refund_code"]
    again = client.post("/rpc/card_issue", headers=staff, json={"card_id": card, "request_id": key})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert "refund_code" not in again.json() and again.json()["card_id"] == card
    bare = code.replace("-", "")
    stored = db.execute(
        "SELECT count(*) FROM core.idempotency_responses WHERE response::text LIKE %s OR response::text LIKE %s",
        [f"%{code}%", f"%{bare}%"],
    ).fetchone()[0]
    assert stored == 0, "the clear refund code is in the idempotency store"
    code_hash = db.execute("SELECT code_hash FROM cards.refund_codes WHERE card_id = %s", [card]).fetchone()[0]
    assert code_hash.startswith("$2a$08$") and bare not in code_hash


def test_wrong_codes_are_counted_and_lock_the_refund(client, db):
    """Each wrong code is a committed decline: the count survives the refusal, and after five
    the right code is not even compared until the lock expires."""
    card = issue_card(db, balance=5000)
    for left in (4, 3, 2, 1, 0):
        resp = refund(client, card, code="WRONG-CODE-0000")
        assert resp.status_code == 403 and resp.json()["code"] == "REFUND_CODE_INVALID", resp.text
        assert resp.json()["details"]["attempts_left"] == left
    locked = refund(client, card, code=refund_code(card))
    assert locked.status_code == 429 and locked.json()["code"] == "REFUND_CODE_LOCKED", locked.text
    assert locked.json()["details"]["locked_until"]
    assert card_status(db, card) == "active" and card_balance(db, card) == 5000
    # The lock expires (moved, not waited for); the right code then works and resets the count.
    db.execute("UPDATE cards.refund_codes SET locked_until = now() - interval '1 second' WHERE card_id = %s", [card])
    wrong = refund(client, card, code="WRONG-CODE-0000")
    assert wrong.json()["details"]["attempts_left"] == 4, "a lock starts a fresh count"
    ok = refund(client, card, code=refund_code(card))
    assert ok.status_code == 200, ok.text
    row = db.execute(
        "SELECT failed_attempts, locked_until FROM cards.refund_codes WHERE card_id = %s", [card]
    ).fetchone()
    assert row == (0, None)
    assert_ledger_invariants(db)


def test_a_replayed_wrong_code_is_not_counted_twice(client, db):
    card = issue_card(db, balance=5000)
    key = rid()
    for _ in range(3):
        resp = refund(client, card, code="WRONG-CODE-0000", key=key)
        assert resp.status_code == 403 and resp.json()["details"]["attempts_left"] == 4
    assert db.execute("SELECT failed_attempts FROM cards.refund_codes WHERE card_id = %s", [card]).fetchone()[0] == 1


def test_guesses_at_once_are_all_counted(server, db):
    """Attempts on one card serialize on its row: eight guesses at once give five wrong-code
    answers and three locked ones, never more guesses than the limit."""
    card = issue_card(db, balance=5000)
    codes = [f"GUESS{i:03d}X" for i in range(8)]
    responses = at_once(server, codes, lambda c, code: refund(c, card, code=code))
    got = sorted(r.json()["code"] for r in responses)
    assert got == ["REFUND_CODE_INVALID"] * 5 + ["REFUND_CODE_LOCKED"] * 3, [r.text for r in responses]
    assert card_status(db, card) == "active"


def test_a_refund_desk_files_without_the_code_and_is_recorded(client, db, staff):
    card = issue_card(db, balance=3000)
    resp = refund(client, card, headers=staff)
    assert resp.status_code == 200 and resp.json()["amount"] == 2800, resp.text
    row = db.execute(
        "SELECT proof, filed_by_role, filed_by FROM cards.refund_requests WHERE card_id = %s", [card]
    ).fetchone()
    assert row == ("desk", "staff", "desk-7")
    assert_ledger_invariants(db)


def test_a_card_issued_before_codes_is_refunded_at_a_desk(client, db, staff):
    card = issue_card(db, balance=3000)
    db.execute("DELETE FROM cards.refund_codes WHERE card_id = %s", [card])  # as a card from before codes
    resp = refund(client, card, code="ANYCODE123")
    assert resp.status_code == 403 and resp.json()["code"] == "REFUND_CODE_NOT_SET", resp.text
    assert card_status(db, card) == "active"
    assert refund(client, card, headers=staff).status_code == 200


def test_import_of_a_pre_printed_batch(client, db, admin_headers, staff):
    cards = [new_card_id() for _ in range(3)]
    codes = [{"card_id": c.lower(), "refund_code": f"PRINTED-{i}{c}"} for i, c in enumerate(cards)]
    key = rid()
    resp = client.post("/rpc/card_refund_codes_import", headers=admin_headers, json={"codes": codes, "request_id": key})
    assert resp.status_code == 200 and resp.json() == {"imported": 3, "unchanged": 0}, resp.text
    again = client.post(
        "/rpc/card_refund_codes_import", headers=admin_headers, json={"codes": codes, "request_id": key}
    )
    assert again.json() == resp.json() and again.headers["idempotent-replayed"] == "true"
    fresh_key = client.post(
        "/rpc/card_refund_codes_import", headers=admin_headers, json={"codes": codes, "request_id": rid()}
    )
    assert fresh_key.json() == {"imported": 0, "unchanged": 3}, "importing the same codes again changes nothing"
    stored = db.execute(
        "SELECT count(*) FROM core.idempotency_responses WHERE response::text LIKE '%%PRINTED%%'"
    ).fetchone()[0]
    assert stored == 0, "the clear codes are in the idempotency store"

    # Issued later, a card keeps its printed code and no new one is handed out.
    issued = client.post("/rpc/card_issue", headers=staff, json={"card_id": cards[0], "request_id": rid()}).json()
    assert issued["refund_code_source"] == "imported" and "refund_code" not in issued
    call_as(db, "staff", "SELECT api.checkpoint_recharge(%s, 2000, 'cash', 'cp-test', %s)", (cards[0], rid()))
    assert refund(client, cards[0], code="PRINTED-1" + cards[0]).json()["code"] == "REFUND_CODE_INVALID"
    assert refund(client, cards[0], code="printed-0" + cards[0].lower()).status_code == 200

    # Another code for a card that has one refuses the whole batch.
    other = new_card_id()
    clash = client.post(
        "/rpc/card_refund_codes_import",
        headers=admin_headers,
        json={
            "codes": [
                {"card_id": other, "refund_code": "NEWCODE123"},
                {"card_id": cards[1], "refund_code": "NOTTHEONE1"},
            ],
            "request_id": rid(),
        },
    )
    assert clash.status_code == 409 and clash.json()["code"] == "CONFLICT", clash.text
    assert clash.json()["details"]["card_ids"] == [cards[1]]
    assert db.execute("SELECT count(*) FROM cards.refund_codes WHERE card_id = %s", [other]).fetchone()[0] == 0


@pytest.mark.parametrize(
    "codes",
    [
        None,
        "ABCDEFGH",
        [],
        ["x"],
        [{"card_id": "ABCD1234"}],
        [{"card_id": "ABCD1234", "refund_code": "short"}],
        [{"card_id": "ABCD1234", "refund_code": 12345678}],
        [{"card_id": "nope", "refund_code": "LONGENOUGH"}],
        [{"card_id": "ABCD1234", "refund_code": "LONGENOUGH"}, {"card_id": "abcd1234", "refund_code": "LONGENOUGH"}],
        [{"card_id": f"BULK{i:04d}", "refund_code": "LONGENOUGH"} for i in range(51)],
    ],
)
def test_import_refuses_bad_input_with_400(client, db, admin_headers, codes):
    before = db.execute("SELECT count(*) FROM cards.refund_codes").fetchone()[0]
    resp = client.post(
        "/rpc/card_refund_codes_import", headers=admin_headers, json={"codes": codes, "request_id": rid()}
    )
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST", resp.text
    assert db.execute("SELECT count(*) FROM cards.refund_codes").fetchone()[0] == before
