"""Benchmark: DEX ingest in SQL (api.dex_ingest) vs a plain INSERT of the same raw text.

One throwaway cluster, one run: 1000 copies of a ~5 KB audit (40 selections, tubes,
events, MA5) ingested on 1000 distinct machines (so none is a duplicate, and each is a
machine's first read), one transaction and one round trip per file as the RPC runs a
request, after 200 untimed files and ANALYZE (the planner sees tables that hold data, as
in production); then the same
raw text INSERTed 1000 times into a bare table the same way. Prints files/s for both and
the ratio: the price of parsing, verifying and deriving everything in the database.
Then `dex-import --jobs N` (kioskledger.ops.dex_import.ingest_all, as the command runs
it) on 1 and 2 connections, each over the same number of files for fresh machines: files/s
and the ratio to 1 job (this machine has 2 cores, shared with the server).

    python -m bench.dex [--files 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench.common import bench_database, record
from kioskledger.ops.dex_import import ingest_all
from kioskledger.protocol import SET_REQUEST, claims_json, request

N_SELECTIONS = 40
PRIMING = 200  # files ingested (untimed) before ANALYZE, on machines of their own
INGEST_TARGET = 250
JOBS = (1, 2)  # the cores of this machine
SCALING_TARGET = 0.8  # per added core: near-linear


def crc16_arc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def audit_file() -> str:
    """A realistic ~5 KB EVA-DTS audit (AMS-like layout) with a valid G85 and SE."""
    body = [
        "ST*001*0001",
        "ID1*BENCH0001*AMS SENSIT III*3872-v1.25****6*0",
        "ID4*2*1840*USD",
        "ID5*250709*1831**NA",
        "CB1*BENCH0001*AMS SENSIT III*3872-v1.25*1.04",
    ]
    pa, value_total, count_total = [], 0, 0
    for i in range(N_SELECTIONS):
        sel, price, count = 10 + i, 100 + 25 * (i % 12), 300 + 37 * i
        cash = count // 4
        value_total += price * count
        count_total += count
        pa += [
            f"PA1*{sel}*{price}*",
            f"PA2*{count}*{price * count}*0*0*0*0*0*0*{i}*{10 * i}",
            f"PA7*{sel}*CA*0*{price}*{cash}*{price * cash}*0*0",
            f"PA7*{sel}*DA*0*{price}*{count - cash}*{price * (count - cash)}*0*0",
        ]
    body += [
        f"VA1*{value_total}*{count_total}*0*0*0*0*0*0",
        f"CA2*{value_total // 4}*{count_total // 4}*0*0",
        f"DA2*{value_total - value_total // 4}*{count_total - count_total // 4}*0*0",
        "CA15*7415",
        "CA17*0*5*73",
        "CA17*2*25*98",
        "CA17*4*100*46",
        *pa,
    ]
    body += [f"EA1*EGS*2507{d:02d}*0712***40" for d in range(1, 9)]
    body += [
        "EA2*EGS*0*12**0",
        "EA7*0*252",
        "EA3*8022*250709*1831*XYZ1234567*250709*1235*XYZ1234567**8022*8022",
        "SD1*****AUTO*AUTO",
        "MA5*TEMP*41*5",
    ]
    g85 = f"G85*{crc16_arc(''.join(line + chr(13) + chr(10) for line in body).encode()):04X}"
    lines = ["DXS*AUTSENSIT3*VA*V0/6*1", *body, g85, f"SE*{len(body) + 2}*0001", "DXE*1*1"]
    return "\r\n".join(lines) + "\r\n"


def cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of the whole machine so far (/proc/stat): what the other processes
    on the shared cores left over during a run bounds how far a second job can scale."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)


def as_admin(conn):
    return request(conn, "admin", {"sub": "bench"})


def one_round_trip(cur: psycopg.ClientCursor, sql: str, params: list):
    """`sql` as the RPC sends a request (rpc/database.py): the request settings and the
    statement in one query string, one implicit transaction, one round trip."""
    cur.execute(f"{SET_REQUEST}; {sql}", ["admin", claims_json("admin", {"sub": "bench"}), *params])
    cur.nextset()
    return cur.fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    raw = audit_file()
    run = uuid.uuid4().hex[:6]
    load_before = os.getloadavg()[0]
    serials = [f"BENCH-{run}-{i}" for i in range(args.files)]
    priming = [f"BENCH-{run}-p{i}" for i in range(PRIMING)]

    with bench_database() as (url, _rpc_url, _cluster), psycopg.connect(url, autocommit=True) as conn:
        with as_admin(conn):
            conn.execute("SELECT api.company_create('bench', 'Bench', %s)", [f"co-{run}"])
            for s in serials + priming:
                conn.execute(
                    "SELECT api.machine_register(%s, 'bench', NULL, 'AMS Sensit III', 'USD', 2, %s)", [s, f"reg-{s}"]
                )
        conn.execute(
            "CREATE TABLE public.bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "case_serial text NOT NULL, raw text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
        )
        # The baseline runs as the same request role (throwaway cluster: grants are harmless).
        conn.execute("GRANT USAGE ON SCHEMA public TO admin; GRANT INSERT, SELECT ON public.bench_raw TO admin")
        # Statistics of tables that hold data, as in production: without this, autovacuum
        # analyzes the DEX tables while they hold a handful of rows, and every plan made after
        # that - the foreign-key checks' too - scans them sequentially for the rest of the
        # run (measured: ~48 scans of dex.reads per file, the run O(n^2), 46 files/s).
        # Autovacuum re-analyzes a growing table in production; within a short run it does not.
        for s in priming:
            with as_admin(conn):
                conn.execute("SELECT api.dex_ingest(%s, %s, 'bench', %s)", [s, raw, f"prime-{s}"])
        conn.execute("ANALYZE")

        # Warm-up on a spare machine (plans cached for the session, as in the RPC pool).
        with as_admin(conn):
            conn.execute("SELECT api.machine_register('BENCH-WARM', 'bench', NULL, 'AMS Sensit III', 'USD', 2, 'w')")
            assert (
                conn.execute("SELECT api.dex_ingest('BENCH-WARM', %s, 'bench', 'w')", [raw]).fetchone()[0]["status"]
                == "accepted"
            )

        cur = psycopg.ClientCursor(conn)
        started = time.perf_counter()
        statuses = {}
        for s in serials:
            res = one_round_trip(cur, "SELECT api.dex_ingest(%s, %s, 'bench', %s)", [s, raw, f"in-{s}"])[0]
            key = (res["status"], res["crc_status"])
            statuses[key] = statuses.get(key, 0) + 1
        ingest_s = time.perf_counter() - started

        started = time.perf_counter()
        for s in serials:
            one_round_trip(
                cur, "INSERT INTO public.bench_raw (case_serial, raw) VALUES (%s, %s) RETURNING id", [s, raw]
            )
        insert_s = time.perf_counter() - started

        reads = conn.execute("SELECT count(*) FROM dex.reads").fetchone()[0] - PRIMING
        selections = conn.execute("SELECT count(*) FROM dex.read_selections").fetchone()[0] - PRIMING * N_SELECTIONS

        # dex-import --jobs N: fresh machines per run, each file on disk as the command reads it.
        jobs_rate, jobs_idle = {}, {}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "audit.dex"
            path.write_bytes(raw.encode())
            for n in JOBS:
                batch = [f"BENCH-{run}-j{n}-{i}" for i in range(args.files)]
                with as_admin(conn):
                    conn.execute(
                        "SELECT api.machine_register(s, 'bench', NULL, 'AMS Sensit III', 'USD', 2, 'reg-' || s) "
                        "FROM unnest(%s::text[]) s",
                        [batch],
                    )
                started, (idle0, total0) = time.perf_counter(), cpu_times()
                outcomes = ingest_all(url, [(path, s) for s in batch], n, "admin", {"sub": "bench"}, "bench")
                jobs_rate[n] = args.files / (time.perf_counter() - started)
                idle1, total1 = cpu_times()
                jobs_idle[n] = (idle1 - idle0) / max(total1 - total0, 1)
                bad = [o for o in outcomes if o.category not in ("ok", "warnings")]
                assert not bad, f"dex-import --jobs {n}: {bad[0]}"

    ingest_rate, insert_rate = args.files / ingest_s, args.files / insert_s
    print(
        f"\nDEX ingest: {args.files} copies of a {len(raw.encode())}-byte audit ({N_SELECTIONS} selections), "
        f"distinct machines, one transaction each, 1 connection, 2 cores shared by all processes "
        f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    print(f"{'':<28} {'files/s':>9} {'ms/file':>8}  target")
    print(
        f"{'api.dex_ingest (parse+book)':<28} {ingest_rate:>9.0f} {1000 / ingest_rate:>8.2f}  "
        f">= {INGEST_TARGET} files/s per connection: {'met' if ingest_rate >= INGEST_TARGET else 'NOT met'}"
    )
    print(f"{'plain INSERT of the raw text':<28} {insert_rate:>9.0f} {1000 / insert_rate:>8.2f}")
    print(
        f"ratio ingest/insert: {ingest_rate / insert_rate:.3f} (the plain INSERT is {insert_rate / ingest_rate:.0f}x faster)"
    )
    record(
        "DEX ingest, 1 connection",
        ingest_rate,
        "files/s",
        f"plain INSERT {insert_rate:.0f} files/s",
        ingest_rate / insert_rate,
        f">= {INGEST_TARGET} files/s",
        ingest_rate >= INGEST_TARGET,
    )
    print(
        f"results: {statuses}; {reads - 1} reads and {selections - N_SELECTIONS} selection rows booked "
        f"(besides the warm-up and {PRIMING} priming files before ANALYZE)"
    )

    print(f"\ndex-import --jobs N: {args.files} files for fresh machines each, 2 cores shared with the server")
    print(f"{'jobs':>4} {'files/s':>9} {'x 1 job':>8} {'idle CPU':>9}  target")
    for n in JOBS:
        target = 1 + SCALING_TARGET * (n - 1)
        verdict = "" if n == 1 else f">= {target:.1f}x: {'met' if jobs_rate[n] / jobs_rate[1] >= target else 'NOT met'}"
        print(f"{n:>4} {jobs_rate[n]:>9.0f} {jobs_rate[n] / jobs_rate[1]:>8.2f} {jobs_idle[n]:>9.0%}  {verdict}")
    for n in JOBS[1:]:
        target = 1 + SCALING_TARGET * (n - 1)
        record(
            f"dex-import --jobs {n}",
            jobs_rate[n],
            "files/s",
            f"--jobs 1 {jobs_rate[1]:.0f} files/s",
            jobs_rate[n] / jobs_rate[1],
            f">= {target:.1f}x --jobs 1",
            jobs_rate[n] / jobs_rate[1] >= target,
        )
    print(
        "idle CPU: the machine's idle share during the run (all cores); a second job can only use what the "
        f"first left idle (load average now {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
