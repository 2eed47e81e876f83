"""Benchmark: api.ledger_transfer called directly (pgbench) vs through HTTP /rpc (wrk).

Same cluster, same accounts, same run. Prints requests/s, p50/p99, the HTTP/direct
ratio, and the RPC server's CPU per call (utime+stime of its process / requests).
Targets: HTTP >= 0.6 x direct at 16 connections; <= 200 us server CPU per call.

    python -m bench.rpc [--seconds 10] [--connections 16 64]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess

import psycopg

from bench.common import (
    BENCH_DIR,
    bench_database,
    record,
    require_tool,
    rpc_server,
    run_pgbench,
    tree_cpu_seconds,
)
from kioskledger.ops.tokens import make_token

N_ACCOUNTS = 1000
HTTP_TARGET = 0.6
CPU_TARGET_US = 200
DEFAULT_WORKERS = 1  # RPC_WORKERS' default


def make_accounts(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        first = conn.execute(
            "SELECT min((ledger.open_account('bench', 'acct-' || i, 'EUR', -1000000000000)).id) "
            "FROM generate_series(1, %s) i",
            [N_ACCOUNTS],
        ).fetchone()[0]
    return first


def run_direct(url: str, first: int, clients: int, seconds: int) -> dict:
    return run_pgbench(url, "ledger_transfer.pgbench", clients, seconds, {"first": first, "n": N_ACCOUNTS})


def run_http(base: str, pid: int, token: str, first: int, clients: int, seconds: int) -> dict:
    wrk = require_tool("wrk", "wrk")
    env = dict(
        os.environ, BENCH_TOKEN=token, BENCH_FIRST=str(first), BENCH_N=str(N_ACCOUNTS), BENCH_RUN=secrets.token_hex(4)
    )
    cpu_before = tree_cpu_seconds(pid)
    out = subprocess.run(
        [wrk, "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "-s", str(BENCH_DIR / "ledger_transfer.lua"), base],
        capture_output=True,
        text=True,
        env=env,
    )
    cpu_after = tree_cpu_seconds(pid)
    user, system = (cpu_after[0] - cpu_before[0]), (cpu_after[1] - cpu_before[1])
    m = re.search(
        r"WRK_RESULT requests=(\d+) errors_status=(\d+) p50_us=(\d+) p99_us=(\d+) duration_us=(\d+)", out.stdout
    )
    if not m:
        raise SystemExit(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    requests, errors, p50, p99, duration = map(int, m.groups())
    return {
        "rps": requests / (duration / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "errors": errors,
        "user_us": user / max(requests, 1) * 1e6,
        "sys_us": system / max(requests, 1) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server worker processes to try")
    args = parser.parse_args()

    secret = secrets.token_urlsafe(32)
    token = make_token(secret, "admin", {"sub": "bench"}, ttl=3600)
    rows = []
    with bench_database() as (url, rpc_url, _cluster):
        first = make_accounts(url)
        for workers in args.workers:
            # Each worker has its own pool: together they hold what one worker would.
            pool_max = max(1, max(args.connections) // workers)
            with rpc_server(url, rpc_url, secret, pool_max=pool_max, workers=workers) as (base, pid):
                # Warm-up: prepared statements, the token cache, pool connections.
                run_http(base, pid, token, first, max(args.connections), 2)
                for c in args.connections:
                    direct = run_direct(url, first, c, args.seconds)
                    http = run_http(base, pid, token, first, c, args.seconds)
                    rows.append((workers, c, direct, http))
        with psycopg.connect(url) as conn:
            drift = conn.execute("SELECT count(*) FROM ledger.balance_drift").fetchone()[0]
            imbalances = conn.execute("SELECT count(*) FROM ledger.imbalances").fetchone()[0]

    print(f"\napi.ledger_transfer, {args.seconds}s per run, {N_ACCOUNTS} accounts, 2 cores shared by all processes")
    print(
        f"{'workers':>7} {'conns':>5} | {'direct rps':>10} {'p50 ms':>7} {'p99 ms':>7} | {'http rps':>9} {'p50 ms':>7} "
        f"{'p99 ms':>7} | {'http/direct':>11} | {'server CPU/call user+sys':>24} | errors"
    )
    for w, c, d, h in rows:
        print(
            f"{w:>7} {c:>5} | {d['rps']:>10.0f} {d['p50_ms']:>7.2f} {d['p99_ms']:>7.2f} | {h['rps']:>9.0f} "
            f"{h['p50_ms']:>7.2f} {h['p99_ms']:>7.2f} | {h['rps'] / d['rps']:>11.2f} | "
            f"{h['user_us']:>6.0f} + {h['sys_us']:>4.0f} = {h['user_us'] + h['sys_us']:>5.0f} us | "
            f"{d['errors']}/{h['errors']}"
        )
    print(
        f"targets ({DEFAULT_WORKERS} worker, the default): http/direct >= {HTTP_TARGET:.2f} at 16 connections; "
        f"server CPU <= {CPU_TARGET_US} us per call"
    )
    for w, c, d, h in rows:
        cpu = h["user_us"] + h["sys_us"]
        ratio = h["rps"] / d["rps"]
        # The targets are the server's as it runs (RPC_WORKERS, one worker unless set); the
        # other worker counts are there to show whether another choice would do better.
        judged = w == DEFAULT_WORKERS
        record(
            f"HTTP ledger_transfer, {w} worker(s), {c} conns",
            h["rps"],
            "rps",
            f"direct {d['rps']:.0f} rps",
            ratio,
            f">= {HTTP_TARGET}x" if c == 16 and judged else "-",
            ratio >= HTTP_TARGET if c == 16 and judged else None,
        )
        record(
            f"HTTP server CPU/call, {w} worker(s), {c} conns",
            cpu,
            "us",
            "budget",
            None,
            f"<= {CPU_TARGET_US} us" if judged else "-",
            cpu <= CPU_TARGET_US if judged else None,
        )
    print(f"ledger invariants after the run: {imbalances} imbalanced transfers, {drift} drifting accounts")


if __name__ == "__main__":
    main()
