"""Benchmark by instruction count: api.bar_order next to the reference debit
(bench/cards_reference.sql, on the data of bench.cards), and api.dispense_claim next to
the bare SKIP LOCKED claim on the minimal table (bench/dispense_reference.sql). Each call
is counted by callgrind in a single-user backend. Unlike tps on a shared 2-core machine,
the figure does not move with the load, so it shows what a change to the SQL costs or
saves. It leaves out what both sides pay alike (network, protocol, the client), so its
ratios read a little lower than the benchmarks' ratios of throughputs.

    python -m bench.instructions [--calls 300]
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

from bench.cards import N_CARDS, setup
from bench.common import bench_database, require_tool
from bench.dispense import fill_queues
from kioskledger.ops.local_cluster import SUPERUSER

WARMUP = 20  # plans and caches; subtracted by running WARMUP calls alone as well

KIOSK = "bench_k00"
# name -> (session set-up, the call); {card} {rid} {pos} vary per call.
STATEMENTS = {
    "reference debit": ("", "SELECT bench_ref.debit({card}, 450, {rid}, {pos})"),
    "api.bar_order": (
        "",
        """SELECT api.bar_order({card}, '[{{"product_id": "bench-beer", "quantity": 1}}]', {rid}, {pos})""",
    ),
    # Prepared, as pgbench -M prepared runs it in bench.dispense: a top-level statement
    # would otherwise be parsed and planned on every call (~530k instructions).
    "bare claim": (
        "PREPARE bare_claim AS UPDATE bench_queue.jobs_min j SET status = 'claimed', "
        "claim_token = gen_random_uuid(), "
        "attempts = j.attempts + 1, lease_until = now() + interval '30 seconds', updated_at = now() "
        "WHERE j.id = (SELECT x.id FROM bench_queue.jobs_min x WHERE x.kiosk_id = '" + KIOSK + "' "
        "AND x.status IN ('pending', 'retry_wait') AND x.due_at <= now() ORDER BY x.due_at, x.id "
        "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING j.id, j.claim_token, j.lease_until",
        "EXECUTE bare_claim",
    ),
    # As the RPC calls it for a kiosk token: role kiosk and the verified claims.
    "api.dispense_claim": (
        'SET ROLE kiosk;SET request.jwt.claims = \'{"sub": "kiosk:' + KIOSK + '", "kiosk_id": "' + KIOSK + "\"}'",
        "SELECT api.dispense_claim()",
    ),
}
PAIRS = [
    ("reference debit", "api.bar_order", "bar_order >= 0.60 x reference"),
    ("bare claim", "api.dispense_claim", "api.dispense_claim >= 0.80 x the bare SKIP LOCKED claim"),
]


def script(session_setup: str, template: str, calls: int) -> str:
    """One statement per line, as the single-user backend reads them. Generic plans, as
    every api function uses (its SET clause), for the references too."""
    lines = ["SET plan_cache_mode = force_generic_plan;"] + [f"{x};" for x in session_setup.split(";") if x]
    for _ in range(calls):
        lines.append(
            template.format(
                card=f"'C{random.randint(1, N_CARDS):07d}'",
                rid=f"'{uuid.uuid4()}'",
                pos=f"'bar-{random.randint(1, 100)}'",
            )
            + ";"
        )
    return "\n".join(lines) + "\n"


def instructions(bindir: Path, datadir: Path, dbname: str, sql: str, workdir: Path) -> int:
    """Instructions of a single-user backend running sql (one statement per line)."""
    path = workdir / f"in-{uuid.uuid4().hex}.sql"
    path.write_text(sql)
    path.chmod(0o644)
    with path.open() as stdin:
        out = subprocess.run(
            [
                "runuser",
                "-u",
                SUPERUSER,
                "--",
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                str(bindir / "postgres"),
                "--single",
                "-D",
                str(datadir),
                dbname,
            ],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    if "ERROR" in out.stderr:
        raise SystemExit(
            "a measured call failed:\n" + next(line for line in out.stderr.splitlines() if "ERROR" in line)
        )
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    require_tool("valgrind", "valgrind")

    per_call = {}
    with bench_database() as (url, _rpc_url, cluster), tempfile.TemporaryDirectory() as tmp:
        setup(url)
        with psycopg.connect(url, autocommit=True) as conn:
            # Every bar's revenue account exists, as after the first minutes of a festival.
            conn.execute(
                "SELECT ledger.house_account('bar_revenue', 'bar-' || i, 'EUR') FROM generate_series(1, 100) i"
            )
            conn.execute("SELECT kiosk.register(%s, 'atm', 'Bench ATM', NULL)", [KIOSK])
        fill_queues(url, [KIOSK], 4 * (WARMUP + args.calls))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # the queues were filled after setup's ANALYZE
        cluster.stop()
        workdir = Path(tmp)
        workdir.chmod(0o755)
        for name, (session_setup, template) in STATEMENTS.items():
            alone = instructions(
                cluster.bindir, cluster.datadir, "bench", script(session_setup, template, WARMUP), workdir
            )
            more = instructions(
                cluster.bindir, cluster.datadir, "bench", script(session_setup, template, WARMUP + args.calls), workdir
            )
            per_call[name] = (more - alone) / args.calls

    print(
        f"\ninstructions per call (callgrind, single-user backend, {args.calls} calls after {WARMUP} warm-up, "
        "commit included)"
    )
    for base, subject, target in PAIRS:
        print(
            f"{base:>15} {per_call[base] / 1000:6.0f}k | {subject:<18} {per_call[subject] / 1000:6.0f}k | "
            f"ratio {per_call[base] / per_call[subject]:.2f}  (throughput target: {target})"
        )


if __name__ == "__main__":
    main()
