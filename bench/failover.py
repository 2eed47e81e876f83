"""Benchmark: losing the primary, and what the synchronous standby costs.

1. Failover: the RPC server on a formation (monitor, primary, synchronous standby) under
   HTTP write load (bar orders and recharges, retried with the same request_id after a
   503); the primary is SIGKILLed (keeper, postmaster, backends) `--kills` times, the old
   primary rejoining as the standby each time. Measured: seconds from the kill to the first
   successful write sent after it (p50/p99), and at the end acknowledged writes lost or
   doubled (the ledger against every answer the clients got) and the invariant views.
2. Replication cost: api.bar_order through pgbench on the formation's primary (each
   commit waits for the standby) next to a single durable node in the same run, same
   settings and script.

Targets: writes resume < 15 s after the kill, 0 lost, synchronous commit costs <= 30 % of
single-node bar-order throughput.

    python -m bench.failover [--kills 5] [--seconds 8] [--clients 16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

import psycopg

from bench.cards import N_CARDS
from bench.cards import setup as setup_cards
from bench.common import percentile, record, run_pgbench
from kioskledger.ops.formation import new_formation
from kioskledger.ops.local_cluster import remove_cluster, throwaway_cluster
from kioskledger.ops.migrate import migrate
from kioskledger.ops.tokens import make_token
from tests.support.helpers import assert_ledger_invariants
from tests.support.rpc_process import rpc_server
from tests.support.write_load import WriteLoad, ledger_mismatches, seed

TARGET_S = 15
MAX_REPLICATION_COST = 0.30


def measure_failovers(formation, kills: int) -> tuple[list[float], list[str], int, dict]:
    secret = secrets.token_urlsafe(32)
    env = formation.server_env(secret)
    headers = {"Authorization": "Bearer " + make_token(secret, "staff", {"sub": "bench-failover"})}
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        cards = seed(conn, 4)
    times = []
    with rpc_server(env) as server, WriteLoad(server.base, headers, cards) as load:
        for i in range(kills):
            time.sleep(2)
            old = formation.primary()
            formation.kill(old)
            killed_at = time.monotonic()
            while load.result.first_write_after(killed_at) is None and time.monotonic() < killed_at + 60:
                time.sleep(0.05)
            resumed = load.result.first_write_after(killed_at)
            times.append(resumed if resumed is not None else float("inf"))
            print(f"kill {i + 1}: {old.name} killed, writes resumed after {times[-1]:.2f}s", flush=True)
            formation.rejoin(old)
            formation.wait_healthy(90)
        time.sleep(1)
    result = load.result
    with psycopg.connect(formation.uri(), autocommit=True) as conn:
        problems = ledger_mismatches(conn, result)
        assert_ledger_invariants(conn)
    problems += result.errors + result.gave_up + result.replay_mismatches
    return times, problems, sum(1 for o in result.outcomes if o.status == 200), result.retried_statuses


def measure_cost(formation, seconds: int, clients: int, rounds: int) -> tuple[dict, dict]:
    single = throwaway_cluster("kioskledger-bench-single-", durable=True)
    try:
        single.create_database("bench")
        single_url = single.url("bench")
        migrate(single_url)
        ha_url = formation.uri(dbname="bench")
        with psycopg.connect(formation.uri("postgres", dbname="postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        migrate(ha_url)
        for url in (single_url, ha_url):
            setup_cards(url)
        defs = {"ncards": N_CARDS, "pos_spread": 100}
        best: dict[str, dict] = {}
        for _ in range(rounds):  # alternate and keep the best: two cores shared with pgbench
            for name, url in (("single", single_url), ("formation", ha_url)):
                res = run_pgbench(url, "bar_order.pgbench", clients, seconds, defs)
                if name not in best or res["rps"] > best[name]["rps"]:
                    best[name] = res
        return best["single"], best["formation"]
    finally:
        remove_cluster(single)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    formation = new_formation(Path(tempfile.mkdtemp(prefix="kioskledger-bench-formation-")))
    try:
        started = time.monotonic()
        formation.up()
        print(f"formation up (with its first full backup) in {time.monotonic() - started:.1f}s", flush=True)
        migrate(formation.uri())
        formation.set_authenticator_password()
        times, problems, acknowledged, retried = measure_failovers(formation, args.kills)
        single, replicated = measure_cost(formation, args.seconds, args.clients, args.rounds)
    finally:
        formation.destroy()

    ordered = sorted(times)
    cost = 1 - replicated["rps"] / single["rps"]
    print(f"\nfailover bench: {args.kills} primary kills under HTTP write load (4 clients, retrying 503s)")
    print(
        f"  writes resumed after the kill: p50 {percentile(ordered, 50):.2f}s, p99 {percentile(ordered, 99):.2f}s, "
        f"max {ordered[-1]:.2f}s (target < {TARGET_S}s); each: {', '.join(f'{t:.2f}' for t in times)}"
    )
    print(f"  {acknowledged} writes acknowledged; retried: {retried}")
    print(f"  lost or doubled, errors: {len(problems)}" + (f" {problems[:5]}" if problems else ""))
    print(
        f"\nbar_order, pgbench -M prepared, {args.clients} clients, best of {args.rounds} alternating {args.seconds}s"
    )
    print(f"  single durable node:              {single['rps']:>7.0f} tps  p99 {single['p99_ms']:.1f} ms")
    print(f"  formation (synchronous standby):  {replicated['rps']:>7.0f} tps  p99 {replicated['p99_ms']:.1f} ms")
    print(f"  synchronous replication costs {cost * 100:.0f} % (target <= {MAX_REPLICATION_COST:.0%})")
    max_s = ordered[-1]
    record(
        "failover: writes resumed, slowest of kills", max_s, "s", "budget", None, f"< {TARGET_S} s", max_s < TARGET_S
    )
    record("failover: writes lost or doubled", len(problems), "", "budget", None, "0", not problems)
    record(
        "bar_order tps with a synchronous standby",
        replicated["rps"],
        "tps",
        f"single durable node {single['rps']:.0f} tps",
        replicated["rps"] / single["rps"],
        f">= {1 - MAX_REPLICATION_COST:.2f}x",
        cost <= MAX_REPLICATION_COST,
    )


if __name__ == "__main__":
    main()
