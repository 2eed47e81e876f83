"""Benchmark by instruction count: what the RPC server process itself spends on one
POST /rpc/ledger_transfer - HTTP parsing, the token, the arguments, the access log and
metrics, the database call's client side - counted by callgrind over a run of sequential
requests after a warm-up, compared with the committed baseline like bench.instructions.

The server's CPU time per call (bench.rpc) moves with the machine's load; this figure does
not (the kernel's share, the system calls themselves, is not in it), so it shows what a
change to the server's Python costs or saves.

    python -m bench.server_instructions [--requests 200]
"""

from __future__ import annotations

import argparse
import glob
import random
import secrets
import subprocess
import tempfile
from pathlib import Path

import httpx

from bench.common import bench_database, require_tool, rpc_server
from bench.instructions import compare_with_baseline
from bench.rpc import N_ACCOUNTS, make_accounts
from kioskledger.ops.tokens import make_token

NAME = "RPC server per /rpc/ledger_transfer"
WARMUP = 30


def counted(outdir: Path) -> int:
    """The instructions in callgrind's dumps (the counting is switched on only around the
    measured requests)."""
    total = 0
    for path in glob.glob(str(outdir / "callgrind.out.*")):
        for line in Path(path).read_text().splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--save-baseline", action="store_true", help="write this run's figure as the baseline")
    args = parser.parse_args()
    valgrind = require_tool("valgrind", "valgrind")
    control = require_tool("callgrind_control", "valgrind")
    secret = secrets.token_urlsafe(32)
    token = make_token(secret, "admin", {"sub": "bench"}, ttl=3600)
    rng = random.Random(1)
    with bench_database() as (url, rpc_url, _cluster), tempfile.TemporaryDirectory() as tmp:
        first = make_accounts(url)
        outdir = Path(tmp)
        # Not instrumented until switched on: the start-up is not counted (and is fast).
        prefix = (valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={outdir}/callgrind.out.%p")
        with (
            rpc_server(url, rpc_url, secret, pool_max=2, prefix=prefix) as (base, pid),
            httpx.Client(base_url=base, headers={"Authorization": "Bearer " + token}, timeout=60) as client,
        ):

            def transfer(i: int) -> None:
                a = rng.randrange(N_ACCOUNTS)
                b = (a + rng.randrange(1, N_ACCOUNTS)) % N_ACCOUNTS
                body = {
                    "postings": [{"account_id": first + a, "amount": -1}, {"account_id": first + b, "amount": 1}],
                    "kind": "bench",
                    "request_id": f"server-instructions-{i}",
                }
                resp = client.post("/rpc/ledger_transfer", json=body)
                if resp.status_code != 200:
                    raise SystemExit(f"/rpc/ledger_transfer answered {resp.status_code}: {resp.text}")

            for i in range(WARMUP):
                transfer(i)
            subprocess.run([control, "--instr=on", str(pid)], check=True, capture_output=True)
            for i in range(WARMUP, WARMUP + args.requests):
                transfer(i)
            subprocess.run([control, "--instr=off", str(pid)], check=True, capture_output=True)
            subprocess.run([control, "--dump", str(pid)], check=True, capture_output=True)
        per_call = {NAME: counted(outdir) / args.requests}

    print(f"\nRPC server process, instructions per request (callgrind, {args.requests} sequential requests)")
    compare_with_baseline(per_call, args.save_baseline)


if __name__ == "__main__":
    main()
