"""Benchmark by instruction count, and the guard a noisy machine cannot move: each hot api
function's instructions per call, compared with the committed baseline
(bench/instructions_baseline.json); a call more than 10 % dearer than its baseline is
flagged. `--save-baseline` writes the figures of this run as the new baseline (commit it
with the change that moved them, and say why in its message).

Also: api.bar_order next to the reference debit
(bench/cards_reference.sql, on the data of bench.cards), and api.dispense_claim next to
the bare SKIP LOCKED claim on the minimal table (bench/dispense_reference.sql). Each call
is counted by callgrind in a single-user backend. Unlike tps on a shared 2-core machine,
the figure does not move with the load, so it shows what a change to the SQL costs or
saves. It leaves out what both sides pay alike (network, protocol, the client), so its
ratios read a little lower than the benchmarks' ratios of throughputs.

    python -m bench.instructions [--calls 300] [--only NAME ...] [--save-baseline]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

from bench.cards import N_CARDS, setup
from bench.common import BENCH_DIR, bench_database, record, require_tool
from bench.dex import audit_file
from bench.dispense import fill_queues
from bench.peers_ledger import load_pgledger
from bench.rpc import N_ACCOUNTS, make_accounts
from kioskledger.ops.local_cluster import SUPERUSER
from kioskledger.protocol import SET_REQUEST_LOCAL as RPC_SETTINGS
from kioskledger.protocol import SET_REQUEST_PARAMS as RPC_SETTINGS_PREPARED
from kioskledger.protocol import request

BASELINE = BENCH_DIR / "instructions_baseline.json"
FLAG_ABOVE = 0.10  # a call this much dearer than its baseline is flagged

WARMUP = 20  # plans and caches; subtracted by running WARMUP calls alone as well
WARMUPS = {"api.checkout_sync (100 orders)": 3}  # dearer calls warm up in fewer

KIOSK = "bench_k00"
CHECKOUT = "bench_c00"
ADMIN_SESSION = 'SET ROLE admin;SET request.jwt.claims = \'{"sub": "bench", "role": "admin"}\''
# The audit as one line of SQL (the single-user backend reads a statement per line).
AUDIT = "E'" + audit_file().replace("\\", "\\\\").replace("'", "''").replace("\r", "\\r").replace("\n", "\\n") + "'"
MACHINES = itertools.count()
INTENTS: list[str] = []  # recharge intents for the stripe credits, one per call (made in main)
NEXT_INTENT = itertools.count()
KIOSK_SESSION = (
    'SET ROLE kiosk;SET request.jwt.claims = \'{"sub": "kiosk:' + KIOSK + '", "kiosk_id": "' + KIOSK + "\"}'"
)
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
    "api.checkpoint_recharge": (
        "",
        "SELECT api.checkpoint_recharge({card}, 500, 'cash', {pos}, {rid})",
    ),
    # The ledger primitive alone, and as the api calls it (validation, idempotency, answer).
    "ledger.post_transfer": (
        "",
        "SELECT ledger.post_transfer('bench', ARRAY[{a}, {b}]::bigint[], ARRAY[-1, 1]::bigint[], {rid})",
    ),
    "api.ledger_transfer": (
        "",
        "SELECT api.ledger_transfer(jsonb_build_array(jsonb_build_object('account_id', {a}, 'amount', -1), "
        "jsonb_build_object('account_id', {b}, 'amount', 1)), 'bench', {rid})",
    ),
    # What one POST /rpc/ledger_transfer costs the backend: the request settings
    # (rpc/database.py) and the call as rpc/catalogue.py writes it, in one simple query.
    "RPC ledger_transfer": (
        "",
        RPC_SETTINGS.replace("{", "{{").replace("}", "}}")
        % ("'admin'", """'{{"sub": "bench", "role": "admin"}}'""", "'30000'", "'kioskledger-rpc {uuid}'")
        + "; SELECT r::text, current_setting('response.decline', true), current_setting('response.replayed', true) "
        """FROM api."ledger_transfer"("postings" => ('[{{"account_id": {a}, "amount": -1}}, """
        """{{"account_id": {b}, "amount": 1}}]')::jsonb, "kind" => ('bench')::text, "request_id" => ({rid})::text) AS r""",
    ),
    # The same, as the RPC sends it by default (rpc/prepared_call.py): the settings and the
    # call as two statements prepared once per connection, executed by name in one
    # transaction. (The single-user backend speaks only the simple protocol, so EXECUTE
    # stands in for the extended protocol's Bind/Execute; the form above is the RPC's
    # fallback where prepared statements do not survive.)
    "RPC ledger_transfer (prepared)": (
        f"PREPARE kl_settings AS {RPC_SETTINGS_PREPARED};"
        "PREPARE kl_call AS SELECT r::text, current_setting('response.decline', true), "
        "current_setting('response.replayed', true) "
        """FROM api."ledger_transfer"("postings" => ($1)::jsonb, "kind" => ($2)::text, "request_id" => ($3)::text) AS r""",
        """EXECUTE kl_settings('admin', '{{"sub": "bench", "role": "admin"}}', '30000', 'kioskledger-rpc {uuid}'); """
        """EXECUTE kl_call('[{{"account_id": {a}, "amount": -1}}, {{"account_id": {b}, "amount": 1}}]', 'bench', {rid})""",
    ),
    # The peer, in its own database on the same cluster (bench.peers_ledger loads it).
    "pgledger_create_transfer": (
        "",
        "SELECT id FROM pgledger_create_transfer('pgla_' || lpad('{pa}', 26, '0'), 'pgla_' || lpad('{pb}', 26, '0'), 1)",
    ),
    # As the RPC calls it for a kiosk token: role kiosk and the verified claims.
    "api.dispense_claim": (
        'SET ROLE kiosk;SET request.jwt.claims = \'{"sub": "kiosk:' + KIOSK + '", "kiosk_id": "' + KIOSK + "\"}'",
        "SELECT api.dispense_claim()",
    ),
    # begin and finish after a claim in the same statement (each needs a live claim): the
    # summary takes the claim (and the begin) off, by difference.
    "dispense claim+begin": (
        KIOSK_SESSION,
        "SELECT api.dispense_begin((c ->> 'job_id')::bigint, (c ->> 'claim_token')::uuid) "
        "FROM (SELECT api.dispense_claim() AS c OFFSET 0) x",
    ),
    "dispense claim+begin+finish": (
        KIOSK_SESSION,
        "WITH c AS (SELECT api.dispense_claim() AS c), "
        "b AS (SELECT api.dispense_begin((c ->> 'job_id')::bigint, (c ->> 'claim_token')::uuid) AS b FROM c) "
        "SELECT api.dispense_finish((b ->> 'job_id')::bigint, (b ->> 'claim_token')::uuid, (b ->> 'quarters')::int) "
        "FROM b",
    ),
    # The queue's enqueue, as bench.peers_queue's producer runs it: a paid ATM transaction
    # (payment checks, the payment transfer, the dispense job, its history row, the NOTIFY).
    # The transaction is created in the same statement; the summary takes it off.
    "atm create": ("", "SELECT atm.transaction_create('" + KIOSK + "', 25)"),
    "atm create+pay": (
        "",
        "SELECT atm.pay((t ->> 'id')::uuid, '0x' || md5('{uuid}'), 'wp-{uuid}', 'mined', t ->> 'payment_reference', "
        "(t ->> 'total')::bigint, NULL) FROM (SELECT atm.transaction_create('" + KIOSK + "', 25) AS t OFFSET 0) x",
    ),
    # One order of two lines per call, as a checkout kiosk's edge sends it.
    "api.checkout_sync (1 order)": (
        'SET ROLE kiosk;SET request.jwt.claims = \'{"sub": "kiosk:' + CHECKOUT + '", "kiosk_id": "' + CHECKOUT + "\"}'",
        """SELECT api.checkout_sync('[{{"idempotency_key": "{uuid}", "created_at": "2026-07-01T12:00:00Z", """
        """"payment_method": "card", "currency": "EUR", "catalog_version": {catalog}, "lines": """
        """[{{"sku": "bench-a", "qty": 2, "unit_price": 250}}, {{"sku": "bench-b", "qty": 1, "unit_price": 400}}]}}]')""",
    ),
    # A batch of 100 such orders (1-3 lines each, the three payment methods), as an edge
    # sends its backlog: what a batch pays once is spread over its orders.
    "api.checkout_sync (100 orders)": (
        'SET ROLE kiosk;SET request.jwt.claims = \'{"sub": "kiosk:' + CHECKOUT + '", "kiosk_id": "' + CHECKOUT + "\"}'",
        "SELECT api.checkout_sync('{batch}')",
    ),
    # The Stripe webhook's credit (rpc/payments.py, role payments): a paid checkout session
    # for a recharge intent created beforehand, one fresh intent and event per call.
    "stripe credit": (
        "SET ROLE payments;SET request.jwt.claims = '{}'",
        """SELECT api.stripe_payload_apply('{{"id": "evt_{uuid}", "type": "checkout.session.completed", """
        """"data": {{"object": {{"id": "cs_{uuid}", "client_reference_id": "{intent}", "amount_total": 1500, """
        """"currency": "eur", "payment_intent": "pi_{uuid}", "payment_status": "paid"}}}}}}')""",
    ),
    # One ~5 KB audit (bench.dex) per call, each a distinct machine's first read.
    "api.dex_ingest (1 file)": (
        ADMIN_SESSION,
        "SELECT api.dex_ingest('{serial}', {audit}, 'bench', {rid})",
    ),
}
# Dearer calls run fewer times (valgrind runs ~50x slower than the CPU): the count per
# call settles within a few dozen calls.
CALLS = {
    "api.dex_ingest (1 file)": 30,
    "api.checkout_sync (100 orders)": 10,
    "api.checkout_sync (1 order)": 100,
    "stripe credit": 100,
    "RPC ledger_transfer": 100,
    "RPC ledger_transfer (prepared)": 100,
}
# Differences reported as their own rows: name -> (minuend, subtrahend).
DERIVED = {
    "api.dispense_begin": ("dispense claim+begin", "api.dispense_claim"),
    "api.dispense_finish": ("dispense claim+begin+finish", "dispense claim+begin"),
    "atm.pay": ("atm create+pay", "atm create"),
}
DATABASE = {"pgledger_create_transfer": "pgledger"}  # the rest run in the bench database
PAIRS = [
    ("pgledger_create_transfer", "api.ledger_transfer", "api.ledger_transfer >= 1.5 x pgledger"),
    ("reference debit", "api.bar_order", "none, information (withdrawn)"),
    ("bare claim", "api.dispense_claim", "none, information (withdrawn)"),
]


FIRST_ACCOUNT = 0  # set once the accounts exist
CATALOG_VERSION = 0  # likewise the checkout catalogue


def script(session_setup: str, template: str, calls: int, generic: bool = True) -> str:
    """One statement per line, as the single-user backend reads them. Generic plans, as
    every api function uses (its SET clause), for the references too; the peer keeps its
    own settings (the defaults)."""
    lines = ["SET plan_cache_mode = force_generic_plan;"] if generic else []
    lines += [f"{x};" for x in session_setup.split(";") if x]
    for _ in range(calls):
        a = random.randrange(N_ACCOUNTS)
        b = (a + random.randrange(1, N_ACCOUNTS)) % N_ACCOUNTS
        lines.append(
            template.format(
                card=f"'C{random.randint(1, N_CARDS):07d}'",
                rid=f"'{uuid.uuid4()}'",
                pos=f"'bar-{random.randint(1, 100)}'",
                a=FIRST_ACCOUNT + a,
                b=FIRST_ACCOUNT + b,
                pa=a,
                pb=b,
                uuid=uuid.uuid4(),
                serial=f"BENCH-M{next(MACHINES)}" if "{serial}" in template else "",
                audit=AUDIT,
                intent=INTENTS[next(NEXT_INTENT)] if "{intent}" in template else "",
                catalog=CATALOG_VERSION,
                batch=checkout_batch(100) if "{batch}" in template else "",
            )
            + ";"
        )
    return "\n".join(lines) + "\n"


def checkout_batch(size: int) -> str:
    """A batch of checkout orders as a JSON text: order i has 1 + i % 3 lines and pays
    with one of the three methods in turn; fresh idempotency keys."""
    run = uuid.uuid4()
    skus = [("bench-a", 2, 250), ("bench-b", 1, 400), ("bench-a", 1, 250)]
    orders = [
        {
            "idempotency_key": f"{run}-{i:03d}",
            "created_at": "2026-07-01T12:00:00Z",
            "payment_method": ("card", "mobile", "cash")[i % 3],
            "currency": "EUR",
            "catalog_version": CATALOG_VERSION,
            "lines": [{"sku": s, "qty": q, "unit_price": p} for s, q, p in skus[: 1 + i % 3]],
        }
        for i in range(size)
    ]
    return json.dumps(orders)


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
                # KL_CALLGRIND_DIR keeps the profiles (callgrind_annotate --inclusive=yes FILE).
                f"--callgrind-out-file={os.environ.get('KL_CALLGRIND_DIR', '/dev/null')}"
                + (f"/{path.stem}.out" if os.environ.get("KL_CALLGRIND_DIR") else ""),
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
    parser.add_argument("--only", nargs="+", choices=list(STATEMENTS), help="measure only these")
    parser.add_argument("--save-baseline", action="store_true", help="write this run's figures as the baseline")
    args = parser.parse_args()
    require_tool("valgrind", "valgrind")
    global FIRST_ACCOUNT, CATALOG_VERSION
    names = args.only or list(STATEMENTS)

    per_call = {}
    with bench_database() as (url, _rpc_url, cluster), tempfile.TemporaryDirectory() as tmp:
        setup(url)
        with psycopg.connect(url, autocommit=True) as conn:
            # Every bar's revenue account exists, as after the first minutes of a festival.
            conn.execute(
                "SELECT ledger.house_account('bar_revenue', 'bar-' || i, 'EUR') FROM generate_series(1, 100) i"
            )
            conn.execute("SELECT kiosk.register(%s, 'atm', 'Bench ATM', NULL)", [KIOSK])
            conn.execute(
                "INSERT INTO atm.kiosk_config (kiosk_id, fee_flat, max_amount) VALUES (%s, 50, 100000)", [KIOSK]
            )
            conn.execute("SELECT kiosk.register(%s, 'checkout', 'Bench checkout', 'bench')", [CHECKOUT])
            conn.execute("SELECT checkout.catalog_upsert('bench-a', 'A', 250, 'EUR', true)")
            conn.execute("SELECT checkout.catalog_upsert('bench-b', 'B', 400, 'EUR', true)")
            CATALOG_VERSION = conn.execute("SELECT checkout.catalog_version()").fetchone()[0]
            with request(conn, "admin", {"sub": "bench"}):
                conn.execute("SELECT api.company_create('bench', 'Bench', 'bench-co')")
                conn.execute(
                    "SELECT api.machine_register('BENCH-M' || i, 'bench', NULL, 'AMS Sensit III', 'USD', 2, 'm' || i) "
                    "FROM generate_series(0, %s) i",
                    [2 * (WARMUP + args.calls) + 10],
                )
            # A recharge intent per stripe credit (warm-up runs twice), on distinct cards.
            with request(conn, "anon", {}):
                INTENTS.extend(
                    row[0]
                    for row in conn.execute(
                        "SELECT api.recharge_intent_create('C' || lpad((i %% %s + 1)::text, 7, '0'), 1500, 'si' || i) "
                        "->> 'intent_id' FROM generate_series(0, %s) i",
                        [N_CARDS, 2 * WARMUP + args.calls + 10],
                    ).fetchall()
                )
        FIRST_ACCOUNT = make_accounts(url)
        cluster.create_database("pgledger")
        load_pgledger(cluster.url("pgledger"))
        fill_queues(url, [KIOSK], 6 * (WARMUP + args.calls))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # the queues were filled after setup's ANALYZE
        cluster.stop()
        workdir = Path(tmp)
        workdir.chmod(0o755)
        for name in names:
            session_setup, template = STATEMENTS[name]
            db = DATABASE.get(name, "bench")
            calls = min(args.calls, CALLS.get(name, args.calls))
            warmup = WARMUPS.get(name, WARMUP)
            alone = instructions(
                cluster.bindir, cluster.datadir, db, script(session_setup, template, warmup, db == "bench"), workdir
            )
            more = instructions(
                cluster.bindir,
                cluster.datadir,
                db,
                script(session_setup, template, warmup + calls, db == "bench"),
                workdir,
            )
            per_call[name] = (more - alone) / calls
        for name, (minuend, subtrahend) in DERIVED.items():
            if minuend in per_call and subtrahend in per_call:
                per_call[name] = per_call[minuend] - per_call[subtrahend]

    print(
        f"\ninstructions per call (callgrind, single-user backend, {args.calls} calls after {WARMUP} warm-up, "
        "commit included)"
    )
    for base, subject, target in PAIRS:
        if base not in per_call or subject not in per_call:
            continue
        print(
            f"{base:>15} {per_call[base] / 1000:6.0f}k | {subject:<18} {per_call[subject] / 1000:6.0f}k | "
            f"ratio {per_call[base] / per_call[subject]:.2f}  (throughput target: {target})"
        )

    compare_with_baseline(per_call, args.save_baseline)


def compare_with_baseline(per_call: dict[str, float], save: bool) -> None:
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    print(f"\ninstructions per call vs the committed baseline ({BASELINE.name}); > {FLAG_ABOVE:.0%} dearer is flagged")
    print(f"{'function':<24} {'baseline':>9} {'now':>9} {'change':>8}")
    for name, now in per_call.items():
        base = baseline.get(name)
        if base is None:
            print(f"{name:<24} {'-':>9} {now / 1000:>8.0f}k {'new':>8}")
            continue
        change = now / base - 1
        flag = "  FLAGGED: dearer than the baseline" if change > FLAG_ABOVE else ""
        print(f"{name:<24} {base / 1000:>8.0f}k {now / 1000:>8.0f}k {change:>+8.1%}{flag}")
        record(
            f"instructions/call {name}",
            now,
            "instr",
            f"baseline {base / 1000:.0f}k",
            now / base,
            f"<= {1 + FLAG_ABOVE:.2f}x baseline",
            change <= FLAG_ABOVE,
        )
    if save:
        BASELINE.write_text(json.dumps({**baseline, **{k: round(v) for k, v in per_call.items()}}, indent=2) + "\n")
        print(f"baseline written: {BASELINE}")


if __name__ == "__main__":
    main()
