"""Benchmark: self-checkout sync throughput into the central - orders/s through
POST /rpc/checkout_sync (batches of 100, 4 kiosks in parallel, each kiosk's batches in
sequence as its edge sends them) - next to a plain multi-row INSERT of the same orders and
lines into bare tables (primary keys only) by 4 connections in the same run. Also: the same
sync called in SQL without HTTP, and a resend of every batch (all `duplicate`).

The two sides take turns over a few rounds (plain INSERT, then the sync of the same orders),
so a change of load on the shared machine weighs on both alike; the ratio is that of the
totals, and each round's ratio is printed to show the spread. Both sides are warmed up
alike and keep their connections (opened before any timing) from round to round.

    python -m bench.checkout [--rounds 3] [--batches 20] [--batch-size 100] [--kiosks 4]
"""

from __future__ import annotations

import argparse
import random
import secrets
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime

import httpx
import orjson
import psycopg

from bench.common import bench_database, record, rpc_server
from kioskledger.ops.tokens import make_token
from kioskledger.protocol import request

N_SKUS = 50
SYNC_TARGET = 0.5

PLAIN_TABLES = """
CREATE SCHEMA bench_plain;
CREATE TABLE bench_plain.orders (
    order_id text PRIMARY KEY, kiosk_id text NOT NULL, idempotency_key text NOT NULL, payment_method text NOT NULL,
    currency text NOT NULL, catalog_version bigint NOT NULL, total bigint NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE bench_plain.order_lines (
    order_id text NOT NULL, line_no int NOT NULL, sku text NOT NULL, qty int NOT NULL, unit_price bigint NOT NULL,
    PRIMARY KEY (order_id, line_no));
"""


def setup(url: str, kiosks: list[str]) -> tuple[int, dict[str, int]]:
    prices = {f"sku-{i:03d}": random.randint(50, 5000) for i in range(N_SKUS)}
    with psycopg.connect(url, autocommit=True) as conn:
        for sku, price in prices.items():
            conn.execute("SELECT checkout.catalog_upsert(%s, %s, %s, 'EUR', true)", [sku, sku.upper(), price])
        for k in kiosks:
            conn.execute("SELECT kiosk.register(%s, 'checkout', %s, 'bench')", [k, k])
        conn.execute(PLAIN_TABLES)
        version = conn.execute("SELECT checkout.catalog_version()").fetchone()[0]
        conn.execute("VACUUM ANALYZE")
    return version, prices


def make_batches(
    kiosk: str, run: str, n_batches: int, size: int, version: int, prices: dict[str, int]
) -> list[list[dict]]:
    skus = list(prices)
    now = datetime.now(UTC).isoformat()
    batches = []
    for b in range(n_batches):
        batch = []
        for i in range(size):
            lines = [
                {"sku": s, "qty": random.randint(1, 3), "unit_price": prices[s]}
                for s in random.sample(skus, random.randint(1, 5))
            ]
            batch.append(
                {
                    "idempotency_key": f"{run}-{kiosk}-{b:04d}-{i:04d}",
                    "created_at": now,
                    "payment_method": random.choice(("card", "mobile", "cash")),
                    "currency": "EUR",
                    "catalog_version": version,
                    "lines": lines,
                }
            )
        batches.append(batch)
    return batches


def parallel(work: dict[str, callable]) -> float:
    """Run one callable per kiosk in threads; wall-clock seconds (connections are opened
    before, so only the work is timed)."""
    errors = []

    def wrap(fn):
        try:
            fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the main thread
            errors.append(err)

    threads = [threading.Thread(target=wrap, args=(fn,)) for fn in work.values()]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def sync_http(clients: dict[str, httpx.Client], batches: dict[str, list[list[dict]]], expect: str) -> float:
    def kiosk_work(k):
        def run():
            c = clients[k]
            for batch in batches[k]:
                resp = c.post(
                    "/rpc/checkout_sync",
                    content=orjson.dumps({"orders": batch}),
                    headers={"Content-Type": "application/json"},
                )
                resp.raise_for_status()
                answer = resp.json()
                if answer[expect] != len(batch):
                    raise RuntimeError(f"expected {len(batch)} {expect}, got {answer}")

        return run

    return parallel({k: kiosk_work(k) for k in batches})


def sync_sql(conns: dict[str, psycopg.Connection], batches: dict[str, list[list[dict]]]) -> float:
    def kiosk_work(k):
        def run():
            conn = conns[k]
            claims = {"sub": "bench", "kiosk_id": k}
            for batch in batches[k]:
                with request(conn, "kiosk", claims):
                    answer = conn.execute(
                        "SELECT api.checkout_sync(%s::jsonb)", [orjson.dumps(batch).decode()]
                    ).fetchone()[0]
                if answer["accepted"] != len(batch):
                    raise RuntimeError(f"expected all accepted, got {answer}")

        return run

    return parallel({k: kiosk_work(k) for k in batches})


def plain_insert(conns: dict[str, psycopg.Connection], batches: dict[str, list[list[dict]]]) -> float:
    def kiosk_work(k):
        def run():
            conn = conns[k]
            for batch in batches[k]:
                orders, lines = [], []
                for o in batch:
                    oid = f"{k}:{o['idempotency_key']}"
                    orders += [
                        oid,
                        k,
                        o["idempotency_key"],
                        o["payment_method"],
                        o["currency"],
                        o["catalog_version"],
                        sum(li["qty"] * li["unit_price"] for li in o["lines"]),
                        o["created_at"],
                    ]
                    for n, li in enumerate(o["lines"], 1):
                        lines += [oid, n, li["sku"], li["qty"], li["unit_price"]]
                with conn.transaction():
                    conn.execute(
                        "INSERT INTO bench_plain.orders VALUES "
                        + ",".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(batch)),
                        orders,
                    )
                    conn.execute(
                        "INSERT INTO bench_plain.order_lines VALUES "
                        + ",".join(["(%s, %s, %s, %s, %s)"] * (len(lines) // 5)),
                        lines,
                    )

        return run

    return parallel({k: kiosk_work(k) for k in batches})


def refresh_statistics(url: str) -> None:
    """ANALYZE after the warm-up, as autovacuum does once a table has grown (its default
    threshold is 50 rows + 10 %), which a run of seconds gives it no time to do. Without it,
    the pooled connections keep the generic plans they cached while checkout.orders was
    nearly empty (the order lines' foreign-key checks, checkout.sync's look-up of stored
    orders): sequential scans of a table that grows by thousands of rows during the run
    (measured: 20-28 instead of 17-19 ms of backend CPU per batch of 100; ~50 ms after a
    warm-up of small batches), while the fresh connections of the SQL run plan for its
    real size. A live server's connections are replanned at each autovacuum ANALYZE."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="turns of plain INSERT then sync")
    parser.add_argument("--batches", type=int, default=20, help="batches per kiosk per round")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--kiosks", type=int, default=4)
    args = parser.parse_args()
    random.seed(6)

    kiosks = [f"bench_k{i + 1}" for i in range(args.kiosks)]
    secret = secrets.token_urlsafe(32)
    tokens = {k: make_token(secret, "kiosk", {"sub": f"kiosk:{k}", "kiosk_id": k}, ttl=3600) for k in kiosks}
    per_round = args.kiosks * args.batches * args.batch_size
    per_run = per_round * args.rounds
    with bench_database() as (url, rpc_url, _cluster), ExitStack() as stack:
        version, prices = setup(url, kiosks)

        def gen(run, n=args.batches):
            return {k: make_batches(k, run, n, args.batch_size, version, prices) for k in kiosks}

        def connections():
            return {k: stack.enter_context(psycopg.connect(url, autocommit=True)) for k in kiosks}

        warm, rewarm, sql_warm = gen("warm", 2), gen("rewarm", 1), gen("sqlwarm", 1)
        rounds = [gen(f"round{r}") for r in range(args.rounds)]
        sql_run = gen("sql", args.batches * args.rounds)
        plain_conns, sql_conns = connections(), connections()
        base, _pid = stack.enter_context(rpc_server(url, rpc_url, secret, pool_max=8))
        clients = {
            k: stack.enter_context(
                httpx.Client(base_url=base, timeout=60, headers={"Authorization": "Bearer " + tokens[k]})
            )
            for k in kiosks
        }
        # The same warm-up for both sides: their connections, plans and caches; then, once
        # the tables have grown, fresh statistics and a second warm-up, so that no measured
        # round re-plans what the ANALYZE invalidated (a one-off cost that weighed on the
        # sync's first batches only).
        sync_http(clients, warm, "accepted")
        plain_insert(plain_conns, warm)
        refresh_statistics(url)
        sync_http(clients, rewarm, "accepted")
        plain_insert(plain_conns, rewarm)
        sync_sql(sql_conns, sql_warm)
        base_times, http_times = [], []
        for batches in rounds:
            base_times.append(plain_insert(plain_conns, batches))  # the same orders and lines the sync stores next
            http_times.append(sync_http(clients, batches, "accepted"))
        sql_s = sync_sql(sql_conns, sql_run)
        resend_s = sum(sync_http(clients, batches, "duplicate") for batches in rounds)
        stack.close()  # the server, clients and connections, before the counts
        with psycopg.connect(url) as conn:
            orders = conn.execute("SELECT count(*) FROM checkout.orders").fetchone()[0]
            lines = conn.execute("SELECT count(*) FROM checkout.order_lines").fetchone()[0]
            unbooked = conn.execute("SELECT count(*) FROM checkout.unbooked_orders").fetchone()[0]
            drift = conn.execute("SELECT count(*) FROM ledger.balance_drift").fetchone()[0]
            imbalances = conn.execute("SELECT count(*) FROM ledger.imbalances").fetchone()[0]

    base_s, http_s = sum(base_times), sum(http_times)
    base_rate, http_rate, sql_rate, resend_rate = (per_run / s for s in (base_s, http_s, sql_s, resend_s))
    print(
        f"\ncheckout sync, {args.kiosks} kiosks in parallel x {args.batches} batches of {args.batch_size} orders "
        f"x {args.rounds} rounds ({per_run} orders, ~{lines * per_run // max(orders, 1)} lines per run), "
        "2 cores shared by all processes"
    )
    print(f"{'run':<44} {'orders/s':>9} {'x plain INSERT':>15}")
    print(f"{'plain multi-row INSERT (orders + lines)':<44} {base_rate:>9.0f} {1:>15.2f}")
    print(f"{'POST /rpc/checkout_sync (accepted)':<44} {http_rate:>9.0f} {http_rate / base_rate:>15.2f}")
    print(f"{'api.checkout_sync in SQL, no HTTP (accepted)':<44} {sql_rate:>9.0f} {sql_rate / base_rate:>15.2f}")
    print(f"{'POST /rpc/checkout_sync resend (duplicate)':<44} {resend_rate:>9.0f} {resend_rate / base_rate:>15.2f}")
    spread = ", ".join(f"{b / h:.2f}" for b, h in zip(base_times, http_times, strict=True))
    print(f"sync/plain INSERT per round: {spread}")
    print(f"ratio sync/plain INSERT: {http_rate / base_rate:.2f} (target >= {SYNC_TARGET})")
    record(
        "checkout sync over HTTP",
        http_rate,
        "orders/s",
        f"plain INSERT {base_rate:.0f} orders/s",
        http_rate / base_rate,
        f">= {SYNC_TARGET}x",
        http_rate / base_rate >= SYNC_TARGET,
    )
    print(
        f"{orders} orders stored; unbooked orders {unbooked}; ledger: {imbalances} imbalanced transfers, "
        f"{drift} drifting accounts"
    )


if __name__ == "__main__":
    main()
