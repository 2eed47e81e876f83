"""Benchmark by instruction count: api.bar_order next to the reference debit
(bench/cards_reference.sql), each call counted by callgrind in a single-user backend on
the data of bench.cards. Unlike tps on a shared 2-core machine, the figure does not move
with the load, so it shows what a change to the SQL costs or saves. It leaves out what
both pay alike (network, protocol, the client), so its ratio reads a little lower than
bench.cards' ratio of throughputs.

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
from rpc.localdb import SUPERUSER

WARMUP = 20   # plans and caches; subtracted by running WARMUP calls alone as well

STATEMENTS = {
    "reference debit": "SELECT bench_ref.debit({card}, 450, {rid}, {pos})",
    "api.bar_order": """SELECT api.bar_order({card}, '[{{"product_id": "bench-beer", "quantity": 1}}]', {rid}, {pos})""",
}


def script(template: str, calls: int) -> str:
    # Generic plans, as every api function uses (their SET clause), for the reference too.
    lines = ["SET plan_cache_mode = force_generic_plan;"]
    for _ in range(calls):
        lines.append(template.format(card=f"'C{random.randint(1, N_CARDS):07d}'", rid=f"'{uuid.uuid4()}'",
                                     pos=f"'bar-{random.randint(1, 100)}'") + ";")
    return "\n".join(lines) + "\n"


def instructions(bindir: Path, datadir: Path, dbname: str, sql: str, workdir: Path) -> int:
    """Instructions of a single-user backend running sql (one statement per line)."""
    path = workdir / f"in-{uuid.uuid4().hex}.sql"
    path.write_text(sql)
    path.chmod(0o644)
    with path.open() as stdin:
        out = subprocess.run(["runuser", "-u", SUPERUSER, "--", "valgrind", "--tool=callgrind",
                              "--callgrind-out-file=/dev/null", str(bindir / "postgres"), "--single",
                              "-D", str(datadir), dbname], stdin=stdin, capture_output=True, text=True)
    if "ERROR" in out.stderr:
        raise SystemExit("a measured call failed:\n" + next(line for line in out.stderr.splitlines() if "ERROR" in line))
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
            conn.execute("SELECT ledger.house_account('bar_revenue', 'bar-' || i, 'EUR') FROM generate_series(1, 100) i")
        cluster.stop()
        workdir = Path(tmp)
        workdir.chmod(0o755)
        for name, template in STATEMENTS.items():
            alone = instructions(cluster.bindir, cluster.datadir, "bench", script(template, WARMUP), workdir)
            more = instructions(cluster.bindir, cluster.datadir, "bench", script(template, WARMUP + args.calls), workdir)
            per_call[name] = (more - alone) / args.calls

    ref, bar = per_call["reference debit"], per_call["api.bar_order"]
    print(f"\ninstructions per call (callgrind, single-user backend, {args.calls} calls after {WARMUP} warm-up, "
          f"{N_CARDS} cards, commit included)")
    print(f"reference debit {ref / 1000:8.0f}k")
    print(f"api.bar_order   {bar / 1000:8.0f}k")
    print(f"reference/bar_order = {ref / bar:.2f} (target for throughput: bar_order >= 0.60 x reference)")


if __name__ == "__main__":
    main()
