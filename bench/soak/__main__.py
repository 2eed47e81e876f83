"""Soak: N seconds (default 180) of mixed HTTP traffic - cards, ATM with a real dispenser
agent, self-checkout sync, DEX ingest - on a throwaway durable cluster (fsync and
synchronous_commit on) while a chaos thread crash-restarts Postgres, stops it for 10 s,
SIGKILLs the RPC server and fires 200-copy bursts of one request. Then, with everything
stopped, every acknowledged effect is reconciled against the database. Exit status 1 if
anything acknowledged was lost or doubled, an invariant is violated, or the run itself
broke (a traffic thread failed, the agent died, paid jobs left unfinished).

    python -m bench.soak [--seconds 180] [--seed N] [--chaos-every S]
"""

from __future__ import annotations

import argparse
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from bench.soak import cards as cards_domain
from bench.soak import checkout as checkout_domain
from bench.soak import dex as dex_domain
from bench.soak.atm import Atm, AtmTraffic
from bench.soak.cards import Cards, CardsTraffic
from bench.soak.chaos import Chaos
from bench.soak.checkout import CheckoutTraffic
from bench.soak.dex import DexTraffic
from bench.soak.effects import Api, EffectLog
from bench.soak.reconcile import reconcile
from bench.soak.report import render
from bench.soak.stack import AtmKiosk, RpcServer
from kioskledger.ops.tokens import make_token
from tests.support.database import migrated_cluster, server_env

HOT_CARDS = 4
CARD_THREADS = 3
FINAL_JOB_STATES = ("completed", "failed", "needs_reconciliation")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180, help="traffic duration (default 180)")
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument(
        "--chaos-every", type=float, default=None, help="seconds between chaos events (default: duration / 12, 4 to 15)"
    )
    parser.add_argument("--drain", type=float, default=90, help="seconds to wait for the agent to finish the paid jobs")
    args = parser.parse_args()
    if args.chaos_every is None:
        args.chaos_every = min(15.0, max(4.0, args.seconds / 12))
    return args


def wait_for_jobs(owner_url: str, kiosk_id: str, timeout: float) -> int:
    """Wait until every job of the kiosk is in a final state; returns how many are not."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(owner_url) as conn:
            open_jobs = conn.execute(
                "SELECT count(*) FROM atm.dispense_jobs WHERE kiosk_id = %s AND status <> ALL(%s)",
                [kiosk_id, list(FINAL_JOB_STATES)],
            ).fetchone()[0]
        if open_jobs == 0 or time.monotonic() > deadline:
            return open_jobs
        time.sleep(0.5)


def log_findings(path: Path) -> str:
    """What a program logged beyond the expected connection warnings of an outage."""
    text = path.read_text(errors="replace") if path.exists() else ""
    lines = text.splitlines()
    counts = {
        "tracebacks": text.count("Traceback (most recent call last)"),
        "ERROR lines": sum(" ERROR " in line for line in lines),
        "CRITICAL lines": sum(" CRITICAL " in line for line in lines),
    }
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    logdir = Path(tempfile.mkdtemp(prefix="kioskledger-soak-"))
    print(
        f"soak: {args.seconds:.0f} s, seed {args.seed}, chaos every {args.chaos_every:.0f} s; logs in {logdir}",
        flush=True,
    )
    jwt_secret = secrets.token_urlsafe(32)
    problems: list[str] = []
    with migrated_cluster("kioskledger-soak-", "soak", durable=True) as db:
        cards_domain.setup(db.url)
        version = checkout_domain.setup(db.url)
        dex_domain.setup(db.url)
        kiosk = AtmKiosk(db.url, jwt_secret, logdir)
        env = server_env(db, jwt_secret, WORLD_ID_MODE="dev", RPC_POOL_MIN="2", RPC_POOL_MAX="16")
        server = RpcServer(env, logdir / "rpc.log")
        server.start()
        kiosk.start()

        log = EffectLog()

        def api(role: str | None, **claims) -> Api:
            token = make_token(jwt_secret, role, claims) if role else None
            return Api(server.base, token, log)

        cards = Cards(api("staff", sub=cards_domain.STAFF_SUB), log)
        for _ in range(HOT_CARDS):
            if card := cards.issue(hot=True):
                for _ in range(3):
                    cards.recharge(rng, card)
        atm = Atm(Api(server.base, kiosk.token, log), api(None), log)
        checkout_api = api("kiosk", sub="kiosk:" + checkout_domain.KIOSK_ID, kiosk_id=checkout_domain.KIOSK_ID)

        stop = threading.Event()
        seeds = iter(range(args.seed, args.seed + 100))
        generators = [CardsTraffic(cards, stop, next(seeds)) for _ in range(CARD_THREADS)]
        generators += [
            AtmTraffic(atm, stop, next(seeds)),
            CheckoutTraffic(checkout_api, log, version, stop, next(seeds)),
            DexTraffic(api("admin", sub="soak-telemetry"), log, stop, next(seeds)),
        ]
        chaos = Chaos(db.cluster, server, {"bar_order": cards.burst, "atm_pay": atm.burst}, stop, args.chaos_every, rng)
        t0 = time.monotonic()
        for thread in [*generators, chaos]:
            thread.start()
        stop.wait(args.seconds)
        stop.set()
        t_end = time.monotonic()
        chaos.join()  # an event in progress runs to its end: Postgres and the server are up again
        for g in generators:
            g.join(120)
        print(f"soak: traffic stopped after {time.monotonic() - t0:.0f} s; waiting for the agent", flush=True)

        for thread in [*generators, chaos]:
            if thread.error is not None:
                problems.append(f"{thread.name} failed: {thread.error!r}")
        if not kiosk.alive():
            problems.append(f"the dispenser agent exited early ({kiosk.proc.returncode}); see {kiosk.log_path}")
        if open_jobs := wait_for_jobs(db.url, kiosk.kiosk_id, args.drain):
            problems.append(f"{open_jobs} dispense jobs not final after {args.drain:.0f} s")
        kiosk.stop()
        server.stop()
        rec = reconcile(db.url, log, kiosk.kiosk_id, kiosk.hopper.total_paid)
        print(render(args, log, rec, chaos.events, t0, t_end, problems), flush=True)
        for path in (server.log_path, kiosk.log_path):
            print(f"{path.name}: {log_findings(path)}")
    if rec.lost == rec.doubled == rec.violations == 0 and not problems:
        shutil.rmtree(logdir, ignore_errors=True)
        return 0
    print(f"logs kept (RPC server, agent): {logdir}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
