"""Benchmark: api.bar_order called directly, next to a reference single-card debit
(bench/cards_reference.sql) in the same run, and a hot bar (every order on one point of
sale) next to orders spread over 100 points of sale.

Target: hot bar >= 0.9 x spread. bar_order next to the reference is information (the
0.6 x target was withdrawn: the gap is the design's guarantees, which stay).

    python -m bench.cards [--seconds 8] [--clients 16 64] [--rounds 2]
"""

from __future__ import annotations

import argparse

import psycopg

from bench.common import BENCH_DIR, bench_database, run_pgbench

N_CARDS = 2000


def setup(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((BENCH_DIR / "cards_reference.sql").read_text())
        conn.execute("SELECT cards.product_upsert('bench-beer', 'Beer', 'drinks', 450, false)")
        conn.execute(
            """
            WITH issued AS (SELECT c.card_id, cards.issue(c.card_id)
                              FROM (SELECT 'C' || lpad(i::text, 7, '0') AS card_id FROM generate_series(1, %s) i) c)
            SELECT count(*) FROM issued""",
            [N_CARDS],
        )
        # Ample balance on every card (one funding transfer each), and the same on the reference cards.
        conn.execute("""
            SELECT ledger.post_transfer('bench_funding', ARRAY[ledger.house_account('bench_funding', 'bench', 'EUR'), c.account_id],
                                        ARRAY[-1000000000, 1000000000]::bigint[])
              FROM cards.cards c""")
        conn.execute("INSERT INTO bench_ref.cards SELECT card_id, 1000000000 FROM cards.cards")
        conn.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per client count (best counts)")
    args = parser.parse_args()

    with bench_database() as (url, _rpc_url, _cluster):
        setup(url)
        defs = {"ncards": N_CARDS}
        rows = []
        runs = {
            "ref": ("cards_reference.pgbench", 100),
            "spread": ("bar_order.pgbench", 100),
            "hot": ("bar_order.pgbench", 1),
        }
        for c in args.clients:
            best = {}
            for _ in range(args.rounds):  # alternate and keep the best: two cores shared with pgbench
                for name, (script, pos_spread) in runs.items():
                    res = run_pgbench(url, script, c, args.seconds, {**defs, "pos_spread": pos_spread})
                    if name not in best or res["rps"] > best[name]["rps"]:
                        best[name] = res
            rows.append((c, best["ref"], best["spread"], best["hot"]))
        with psycopg.connect(url) as conn:
            drift = conn.execute("SELECT count(*) FROM ledger.balance_drift").fetchone()[0]
            imbalances = conn.execute("SELECT count(*) FROM ledger.imbalances").fetchone()[0]
            orders = conn.execute("SELECT count(*) FROM cards.bar_orders").fetchone()[0]

    print(
        f"\ncards bench, best of {args.rounds} alternating {args.seconds}s runs, {N_CARDS} cards with ample balance, "
        "direct calls (pgbench -M prepared)"
    )
    print(
        f"{'clients':>7} | {'reference tps':>13} | {'bar_order tps (100 POS)':>23} {'ratio':>6} | "
        f"{'hot bar tps (1 POS)':>19} {'hot/spread':>10} | p99 ms ref/spread/hot"
    )
    for c, ref, spread, hot in rows:
        print(
            f"{c:>7} | {ref['rps']:>13.0f} | {spread['rps']:>23.0f} {spread['rps'] / ref['rps']:>6.2f} | "
            f"{hot['rps']:>19.0f} {hot['rps'] / spread['rps']:>10.2f} | "
            f"{ref['p99_ms']:.1f}/{spread['p99_ms']:.1f}/{hot['p99_ms']:.1f}"
        )
    print(
        "target: hot bar >= 0.90 x spread (bar_order next to the bare debit is information: that target was withdrawn)"
    )
    print(
        f"{orders} orders; ledger invariants after the run: {imbalances} imbalanced transfers, {drift} drifting accounts"
    )


if __name__ == "__main__":
    main()
