"""Cards under concurrency: many connections on one card at once, then the invariants."""

from __future__ import annotations

import threading

import httpx

from tests.support.concurrency import at_once
from tests.support.helpers import assert_ledger_invariants, card_balance, ensure_product, issue_card, rid


def staff_headers(token, sub="bar-staff"):
    return {"Authorization": "Bearer " + token("staff", sub=sub)}


def resend_while_unavailable(server: str, headers: dict, body: dict, response: httpx.Response) -> httpx.Response:
    for _ in range(20):
        if response.status_code != 503:
            return response
        response = httpx.post(server + "/rpc/bar_order", headers=headers, json=body, timeout=30)
    return response


def test_fifty_orders_on_a_card_that_covers_ten(server, token, db):
    ensure_product(db, "conc-beer", 450)
    card = issue_card(db, balance=4500)
    hdr = staff_headers(token)
    bodies = [
        {
            "card_id": card,
            "items": [{"product_id": "conc-beer", "quantity": 1}],
            "request_id": rid(),
            "point_of_sale": "bar-conc",
        }
        for _ in range(50)
    ]
    responses = at_once(server, range(50), lambda c, i: c.post("/rpc/bar_order", headers=hdr, json=bodies[i]))
    # More requests than pooled connections: on a loaded machine some wait past the pool
    # timeout and are told 503 "retry"; a client resends the same request_id, as documented.
    responses = [resend_while_unavailable(server, hdr, body, r) for body, r in zip(bodies, responses, strict=True)]
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 10 + [402] * 40
    assert all(r.json()["code"] == "INSUFFICIENT_FUNDS" for r in responses if r.status_code == 402)
    balances = sorted(r.json()["new_balance"] for r in responses if r.status_code == 200)
    assert balances == list(range(0, 4500, 450)), "each success saw the previous one's balance"
    assert card_balance(db, card) == 0
    assert db.execute("SELECT count(*) FROM cards.bar_orders WHERE card_id = %s", [card]).fetchone()[0] == 10
    deadlocks = db.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]
    assert deadlocks == 0
    assert_ledger_invariants(db)


def test_twenty_retries_of_one_request_debit_once(server, token, db):
    ensure_product(db, "conc-beer", 450)
    card = issue_card(db, balance=5000)
    hdr = staff_headers(token)
    body = {
        "card_id": card,
        "items": [{"product_id": "conc-beer", "quantity": 2}],
        "request_id": rid(),
        "point_of_sale": "bar-conc",
    }
    responses = at_once(server, range(20), lambda c, _: c.post("/rpc/bar_order", headers=hdr, json=body))
    assert [r.status_code for r in responses] == [200] * 20
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert card_balance(db, card) == 5000 - 900
    with httpx.Client(base_url=server) as c:
        other = c.post(
            "/rpc/bar_order", headers=hdr, json={**body, "items": [{"product_id": "conc-beer", "quantity": 3}]}
        )
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_MISMATCH"
    assert card_balance(db, card) == 5000 - 900, "the mismatching request changed nothing"
    assert_ledger_invariants(db)


def test_stored_decline_replays_after_a_recharge(client, token, db):
    ensure_product(db, "conc-beer", 450)
    card = issue_card(db, balance=100)
    hdr = staff_headers(token)
    body = {
        "card_id": card,
        "items": [{"product_id": "conc-beer", "quantity": 1}],
        "request_id": rid(),
        "point_of_sale": "bar-conc",
    }
    first = client.post("/rpc/bar_order", headers=hdr, json=body)
    assert first.status_code == 402
    assert first.json()["details"] == {"card_id": card, "balance": 100, "total": 450}
    client.post(
        "/rpc/checkpoint_recharge",
        headers=hdr,
        json={"card_id": card, "amount": 1000, "payment_method": "card", "checkpoint_id": "cp-1", "request_id": rid()},
    )
    again = client.post("/rpc/bar_order", headers=hdr, json=body)
    assert again.status_code == 402 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert card_balance(db, card) == 1100
    fresh = client.post("/rpc/bar_order", headers=hdr, json={**body, "request_id": rid()})
    assert fresh.status_code == 200 and fresh.json()["new_balance"] == 650


def test_concurrent_orders_recharges_and_returns_on_many_cards(migrated, db):
    """Mixed traffic on a few cards from 16 connections: no deadlock, no money made or lost."""
    import random

    import psycopg

    from tests.support.helpers import call_as

    ensure_product(db, "conc-beer", 450)
    ensure_product(db, "conc-cup", 200, is_deposit=True)
    cards = [issue_card(db, balance=20_000) for _ in range(4)]
    errors: list[BaseException] = []

    def worker(seed):
        rnd = random.Random(seed)
        try:
            with psycopg.connect(migrated.url, autocommit=True) as conn:
                for _ in range(40):
                    card, op = rnd.choice(cards), rnd.random()
                    if op < 0.6:
                        call_as(
                            conn,
                            "staff",
                            "SELECT api.bar_order(%s, %s::jsonb, %s, %s)",
                            (
                                card,
                                '[{"product_id": "conc-beer", "quantity": 1}, {"product_id": "conc-cup", "quantity": 1}]',
                                rid(),
                                rnd.choice(["bar-a", "bar-b"]),
                            ),
                        )
                    elif op < 0.8:
                        call_as(
                            conn, "staff", "SELECT api.checkpoint_recharge(%s, 700, 'cash', 'cp-c', %s)", (card, rid())
                        )
                    else:
                        call_as(conn, "staff", "SELECT api.deposit_return(%s, 1, %s, 'bar-a')", (card, rid()))
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors[:3]
    for card in cards:
        paid_deposits = db.execute(
            "SELECT coalesce(sum(quantity), 0) FROM cards.order_lines WHERE card_id = %s AND is_deposit", [card]
        ).fetchone()[0]
        returned = db.execute(
            "SELECT coalesce(sum(quantity), 0) FROM cards.deposit_returns WHERE card_id = %s", [card]
        ).fetchone()[0]
        outstanding = db.execute(
            "SELECT coalesce(sum(quantity), 0) FROM cards.deposits_outstanding WHERE card_id = %s", [card]
        ).fetchone()[0]
        assert returned <= paid_deposits and outstanding == paid_deposits - returned
        assert card_balance(db, card) >= 0
    assert_ledger_invariants(db)
