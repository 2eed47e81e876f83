"""Benchmark: our dispense queue next to the peers PgQueuer and Procrastinate doing the same
job, on the same cluster in the same run (each peer in a database of its own, its schema
installed by its own code).

One producer enqueues N jobs, one committed transaction each, while W worker processes
(1, 4, 16) work them to completion; every worker is woken by LISTEN/NOTIFY as each system
does it. Measured: jobs/s from the first enqueue to the last job done, and enqueue->start
latency (the enqueue's COMMIT to the worker's handler/claim answer, CLOCK_MONOTONIC, which is
system-wide). The peers run with their recommended settings and a handler that does nothing;
PgQueuer with batch_size 1 and 10, Procrastinate with concurrency 1 per worker.

Ours does more per job, as the product does: the enqueue is a paid ATM transaction
(atm.pay: the payment checks, the ledger transfer, the dispense job, the NOTIFY) and every
job is claimed, begun and finished (api.dispense_claim -> dispense_begin -> dispense_finish,
each its own transaction, with history rows and the coins-dispensed ledger transfer), by
worker i on kiosk i's own login (a kiosk claims only its own jobs), jobs dealt round-robin.

Target: ahead of both peers (and both PgQueuer batch sizes) at every worker count.

    python -m bench.peers_queue [--jobs 2000] [--workers 1 4 16]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import bench_database, percentile, record
from bench.dispense import kiosk_dsn
from bench.peers import package_version

# ---------------------------------------------------------------------------------------
# Worker processes. Each sends back [(job_id, t_start)] and counts done jobs in `done`.


def _ours_worker(dsn: str, ready, stop, done, out) -> None:
    from dispenser.connection import Backoff, Link
    from dispenser.listener import Listener

    listener = Listener(Link(dsn, "listen", backoff=Backoff()), app_version="bench")
    listener.ensure()
    starts = []
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as conn:
        ready.set()
        while not stop.is_set():
            job = conn.execute("SELECT api.dispense_claim()").fetchone()[0]
            if job is None:
                listener.wait(0.05)
                continue
            starts.append((int(job["job_id"]), time.perf_counter()))
            conn.execute("SELECT api.dispense_begin(%s, %s)", [job["job_id"], job["claim_token"]]).fetchone()
            finished = conn.execute(
                "SELECT api.dispense_finish(%s, %s, %s)", [job["job_id"], job["claim_token"], job["quarters"]]
            ).fetchone()[0]
            if finished["status"] != "completed":
                raise SystemExit(f"job {job['job_id']} ended {finished['status']}")
            with done.get_lock():
                done.value += 1
    out.put(starts)


def _pgqueuer_worker(url: str, batch_size: int, ready, stop, done, out) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries, QueueManager

    starts = []

    async def main():
        conn = await asyncpg.connect(url)
        qm = QueueManager(Queries(AsyncpgDriver(conn)))

        @qm.entrypoint("bench")
        async def work(job) -> None:
            starts.append((int(job.id), time.perf_counter()))
            with done.get_lock():
                done.value += 1

        async def stopper():
            while not stop.is_set():
                await asyncio.sleep(0.02)
            qm.shutdown.set()

        ready.set()
        await asyncio.gather(qm.run(batch_size=batch_size), stopper())
        await conn.close()

    asyncio.run(main())
    out.put(starts)


def _procrastinate_app(url: str):
    import logging

    import procrastinate

    # It warns when the App is made in __main__ (its CLI's import path); we never use its CLI.
    logging.getLogger("procrastinate").setLevel(logging.ERROR)

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
    return app


def _procrastinate_worker(url: str, ready, stop, done, out) -> None:
    starts = []
    app = _procrastinate_app(url)

    @app.task(name="bench", queue="bench", pass_context=True)
    async def work(context) -> None:
        starts.append((int(context.job.id), time.perf_counter()))
        with done.get_lock():
            done.value += 1

    async def main():
        async with app.open_async():
            worker = asyncio.create_task(
                app.run_worker_async(queues=["bench"], concurrency=1, install_signal_handlers=False, wait=True)
            )
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.02)
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass

    asyncio.run(main())
    out.put(starts)


# ---------------------------------------------------------------------------------------
# Producers: one connection, one committed enqueue per job; {job_id: t_commit}.


def _produce_ours(owner_url: str, kiosk_ids: list[str], jobs: int) -> tuple[dict, float]:
    # Autocommit: each payment is one statement in its own transaction, committed when its
    # answer arrives - one round trip, as the peers' producers enqueue (asyncpg and
    # Procrastinate run autocommit). A psycopg transaction would add a BEGIN and a COMMIT
    # round trip per job that the peers do not pay.
    with psycopg.connect(owner_url, autocommit=True) as conn:
        txs = conn.execute(
            "SELECT atm.transaction_create((%s::text[])[1 + i %% %s], 25) FROM generate_series(0, %s - 1) i",
            [kiosk_ids, len(kiosk_ids), jobs],
        ).fetchall()
        enqueued = {}
        t_first = time.perf_counter()
        for (tx,) in txs:
            res = conn.execute(
                "SELECT atm.pay(%s, %s, %s, 'mined', %s, %s, NULL)",
                [tx["id"], "0x" + secrets.token_hex(16), "wp-" + tx["id"], tx["payment_reference"], tx["total"]],
            ).fetchone()[0]
            enqueued[int(res["job_id"])] = time.perf_counter()
    return enqueued, t_first


def _produce_pgqueuer(url: str, jobs: int) -> tuple[dict, float]:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries

    async def main():
        conn = await asyncpg.connect(url)
        queries = Queries(AsyncpgDriver(conn))
        enqueued = {}
        t_first = time.perf_counter()
        for _ in range(jobs):
            (job_id,) = await queries.enqueue("bench", None)
            enqueued[int(job_id)] = time.perf_counter()
        await conn.close()
        return enqueued, t_first

    return asyncio.run(main())


def _produce_procrastinate(url: str, jobs: int) -> tuple[dict, float]:
    app = _procrastinate_app(url)

    @app.task(name="bench", queue="bench")
    async def work() -> None:  # the producer's view of the task: only its name and queue
        pass

    async def main():
        async with app.open_async():
            enqueued = {}
            t_first = time.perf_counter()
            for _ in range(jobs):
                job_id = await work.defer_async()
                enqueued[int(job_id)] = time.perf_counter()
            return enqueued, t_first

    return asyncio.run(main())


# ---------------------------------------------------------------------------------------


def run_system(worker_target, worker_args: list[tuple], produce) -> dict:
    """Start the workers, wait until all are ready, produce, wait until all jobs are done."""
    ctx = multiprocessing.get_context("spawn")
    stop, done, out = ctx.Event(), ctx.Value("i", 0), ctx.Queue()
    procs, readies = [], []
    for args in worker_args:
        ready = ctx.Event()
        p = ctx.Process(target=worker_target, args=(*args, ready, stop, done, out), daemon=True)
        p.start()
        procs.append(p)
        readies.append(ready)
    for r in readies:
        if not r.wait(60):
            raise SystemExit("a worker process did not start")
    time.sleep(0.5)  # the workers' LISTEN and first (empty) fetch
    enqueued, t_first = produce()
    deadline = time.monotonic() + 300
    while done.value < len(enqueued):
        if any(not p.is_alive() for p in procs):
            stop.set()
            raise SystemExit("a worker process died")
        if time.monotonic() > deadline:
            stop.set()
            raise SystemExit(f"only {done.value} of {len(enqueued)} jobs were done in 300 s")
        time.sleep(0.002)
    t_last_done = time.perf_counter()
    stop.set()
    starts = []
    for _ in procs:
        starts += out.get(timeout=60)
    for p in procs:
        p.join(30)
    latencies = sorted((t - enqueued[j]) * 1000 for j, t in starts if j in enqueued)
    if len(latencies) != len(enqueued):
        raise SystemExit(f"{len(enqueued)} jobs enqueued, {len(latencies)} started")
    return {
        "jobs_s": len(enqueued) / (t_last_done - t_first),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


def install_peers(cluster) -> tuple[str, str]:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries

    cluster.create_database("pgqueuer")
    cluster.create_database("procrastinate")
    pgq_url, pro_url = cluster.url("pgqueuer"), cluster.url("procrastinate")

    async def pgq():
        conn = await asyncpg.connect(pgq_url)
        await Queries(AsyncpgDriver(conn)).install()
        await conn.close()

    async def pro():
        app = _procrastinate_app(pro_url)
        async with app.open_async():
            await app.schema_manager.apply_schema_async()

    asyncio.run(pgq())
    asyncio.run(pro())
    return pgq_url, pro_url


def clear_peers(pgq_url: str, pro_url: str) -> None:
    """Each run starts on empty queues."""
    with psycopg.connect(pgq_url, autocommit=True) as conn:
        conn.execute("TRUNCATE pgqueuer, pgqueuer_log")
    with psycopg.connect(pro_url, autocommit=True) as conn:
        conn.execute("TRUNCATE procrastinate_jobs CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    versions = {"pgqueuer": package_version("pgqueuer"), "procrastinate": package_version("procrastinate")}

    results: dict[int, dict[str, dict]] = {}
    with bench_database() as (url, _rpc_url, cluster), tempfile.TemporaryDirectory() as tmp:
        pgq_url, pro_url = install_peers(cluster)
        kiosk_ids = [f"bench_q{i:02d}" for i in range(max(args.workers))]
        dsns = [kiosk_dsn(url, f"Bench {k}", k, Path(tmp)) for k in kiosk_ids]
        for w in args.workers:
            clear_peers(pgq_url, pro_url)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            row = {}
            row["ours"] = run_system(
                _ours_worker, [(dsns[i],) for i in range(w)], lambda w=w: _produce_ours(url, kiosk_ids[:w], args.jobs)
            )
            for batch in (1, 10):
                clear_peers(pgq_url, pro_url)
                row[f"pgqueuer b{batch}"] = run_system(
                    _pgqueuer_worker, [(pgq_url, batch)] * w, lambda: _produce_pgqueuer(pgq_url, args.jobs)
                )
            row["procrastinate"] = run_system(
                _procrastinate_worker, [(pro_url,)] * w, lambda: _produce_procrastinate(pro_url, args.jobs)
            )
            results[w] = row
        with psycopg.connect(url) as conn:
            drift = conn.execute("SELECT count(*) FROM ledger.balance_drift").fetchone()[0]
            imbalances = conn.execute("SELECT count(*) FROM ledger.imbalances").fetchone()[0]
            left = conn.execute("SELECT count(*) FROM atm.dispense_jobs WHERE status <> 'completed'").fetchone()[0]

    peers = ["pgqueuer b1", "pgqueuer b10", "procrastinate"]
    print(
        f"\nqueue vs {versions['pgqueuer']} and {versions['procrastinate']}: {args.jobs} jobs, one producer "
        "(one committed enqueue per job) while W worker processes work them; same cluster, one run"
    )
    print(
        f"{'workers':>7} | {'system':<14} | {'jobs/s':>7} | {'start p50 ms':>12} | {'start p99 ms':>12} | "
        f"{'ours / it':>9}"
    )
    for w, row in results.items():
        for name in ["ours", *peers]:
            r = row[name]
            ratio = row["ours"]["jobs_s"] / r["jobs_s"]
            print(
                f"{w:>7} | {name:<14} | {r['jobs_s']:>7.0f} | {r['p50_ms']:>12.2f} | {r['p99_ms']:>12.2f} | "
                f"{'' if name == 'ours' else f'{ratio:.2f}':>9}"
            )
        for name in peers:
            ratio = row["ours"]["jobs_s"] / row[name]["jobs_s"]
            version = versions["procrastinate" if name == "procrastinate" else "pgqueuer"]
            label = version + (f" batch {name[-2:].strip('b')}" if name.startswith("pgqueuer") else "")
            record(
                f"queue jobs/s, {w} workers",
                row["ours"]["jobs_s"],
                "jobs/s",
                f"{label} {row[name]['jobs_s']:.0f} jobs/s",
                ratio,
                "> 1.0x",
                ratio > 1.0,
            )
    print("target: ours ahead of every peer at every worker count (ours/it > 1)")
    print(
        f"ours after the runs: {left} jobs not completed, ledger {imbalances} imbalanced transfers, "
        f"{drift} drifting accounts"
    )


if __name__ == "__main__":
    main()
