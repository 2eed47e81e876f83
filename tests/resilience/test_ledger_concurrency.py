"""Concurrency on the ledger core: many connections at once, then the invariants."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.support.concurrency import at_once
from tests.support.helpers import assert_ledger_invariants, call_as, open_account, rid, transfer

pytestmark = pytest.mark.slow

# 32 threads on 3 accounts: every pair of lock orders meets thousands of times.
TRANSFERS_PER_THREAD = 100


def test_random_transfers_among_three_accounts_never_deadlock(migrated, db):
    # Two bounded accounts (locked by every transfer) and one hot house account.
    accounts = [
        open_account(db, lower_bound=-(10**12)),
        open_account(db, lower_bound=-(10**12)),
        open_account(db, lower_bound=None, kind="house"),
    ]
    errors: list[BaseException] = []
    posted = [0]
    lock = threading.Lock()

    def worker(seed: int):
        rnd = random.Random(seed)
        try:
            with psycopg.connect(migrated.url, autocommit=True) as conn:
                for _ in range(TRANSFERS_PER_THREAD):
                    a, b = rnd.sample(accounts, 2)
                    result = transfer(conn, [(a, -(n := rnd.randint(1, 10_000))), (b, n)])
                    assert "transfer_id" in result, result
                    with lock:
                        posted[0] += 1
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors[:3]
    assert posted[0] == 32 * TRANSFERS_PER_THREAD
    deadlocks = db.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]
    assert deadlocks == 0
    assert_ledger_invariants(db)
    total = db.execute("SELECT sum(balance) FROM ledger.account_balances WHERE id = ANY(%s)", [accounts]).fetchone()[0]
    assert total == 0, "money moved between the three accounts only"


def test_overdraft_race_spends_each_cent_once(migrated, db):
    card = open_account(db, lower_bound=0)
    house = open_account(db, lower_bound=None, kind="house")
    transfer(db, [(house, -1000), (card, 1000)])

    def spend(_):
        with psycopg.connect(migrated.url, autocommit=True) as conn:
            return transfer(conn, [(card, -100), (house, 100)])

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(spend, range(24)))
    assert sum("transfer_id" in r for r in results) == 10
    assert sum(r.get("code") == "INSUFFICIENT_FUNDS" for r in results) == 14
    assert db.execute("SELECT ledger.balance_of(%s)", [card]).fetchone()[0] == 0
    assert_ledger_invariants(db)


def test_concurrent_identical_requests_make_one_transfer(server, admin_headers, db):
    a = open_account(db, lower_bound=None, kind="house")
    b = open_account(db, lower_bound=0)
    key = rid()
    body = {
        "postings": [{"account_id": a, "amount": -250}, {"account_id": b, "amount": 250}],
        "kind": "dup_test",
        "request_id": key,
    }
    responses = at_once(
        server, range(16), lambda c, _: c.post("/rpc/ledger_transfer", json=body, headers=admin_headers)
    )
    assert [r.status_code for r in responses] == [200] * 16
    assert len({r.content for r in responses}) == 1, "every duplicate gets the identical response"
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 15
    n = db.execute(
        "SELECT count(*) FROM ledger.transfers WHERE kind = 'dup_test' AND idempotency_key LIKE %s", ["%:" + key]
    ).fetchone()[0]
    assert n == 1
    assert db.execute("SELECT ledger.balance_of(%s)", [b]).fetchone()[0] == 250

    body["postings"][1]["amount"], body["postings"][0]["amount"] = 999, -999
    with httpx.Client(base_url=server) as c:
        resp = c.post("/rpc/ledger_transfer", json=body, headers=admin_headers)
    assert resp.status_code == 422 and resp.json()["code"] == "IDEMPOTENCY_MISMATCH"
    assert db.execute("SELECT ledger.balance_of(%s)", [b]).fetchone()[0] == 250, "the mismatch changed nothing"
    assert_ledger_invariants(db)


def test_rollup_concurrent_with_transfers_keeps_invariants(migrated, db):
    house = open_account(db, lower_bound=None, kind="house")
    cards = [open_account(db, lower_bound=-(10**9)) for _ in range(4)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def roll():
        with psycopg.connect(migrated.url, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("SELECT ledger.rollup_balances()")

    def spend(seed):
        rnd = random.Random(seed)
        try:
            with psycopg.connect(migrated.url, autocommit=True) as conn:
                for _ in range(100):
                    transfer(conn, [(rnd.choice(cards), -5), (house, 5)])
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    rollers = [threading.Thread(target=roll) for _ in range(2)]
    for t in rollers:
        t.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(spend, range(8)))
    stop.set()
    for t in rollers:
        t.join()
    assert errors == []
    assert db.execute("SELECT ledger.balance_of(%s)", [house]).fetchone()[0] == 8 * 100 * 5
    assert_ledger_invariants(db)
    assert call_as(db, "admin", "SELECT api.ledger_account(%s)", [house])["balance"] == 4000
