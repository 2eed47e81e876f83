"""`kioskledger scheduler`: the upkeep schedule where the server has no pg_cron.

It does what pg_cron's job does: every tick, `CALL upkeep.run_due('scheduler')`, which runs
the jobs of upkeep.jobs that are due (each in its own transaction, logged in upkeep.runs,
a failure an alert). The schedule is the table, not this program, and several schedulers
(or a scheduler beside pg_cron) never run one job twice at once: upkeep.run_job takes an
advisory lock per job. A lost connection is retried with backoff; SIGTERM/SIGINT end it
after the call in progress.

With `--host-jobs` (or UPKEEP_HOST_JOBS=1) it also runs the host jobs of the table - the
pgBackRest backups and the restore drill, commands pg_cron cannot run - in a thread of their
own (kioskledger/ops/host_jobs.py); a command in progress is stopped with the scheduler.
"""

from __future__ import annotations

import logging
import random
import signal
import threading

import psycopg

from .host_jobs import HostJobs

log = logging.getLogger("kioskledger.scheduler")

RUN_DUE = "CALL upkeep.run_due('scheduler')"
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0


class Scheduler:
    def __init__(self, url: str, tick_s: float = 10.0, host_jobs: bool = False):
        self.url = url
        self.tick_s = tick_s
        self.stopping = threading.Event()
        self.host_jobs = HostJobs(self._connect, self.stopping) if host_jobs else None

    def stop(self, *_args) -> None:
        self.stopping.set()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5, application_name="kioskledger-scheduler")

    def run_once(self) -> None:
        with self._connect() as conn:
            conn.execute(RUN_DUE)
        if self.host_jobs is not None:
            self.host_jobs.run_due()

    def run(self) -> None:
        host = None
        if self.host_jobs is not None:
            log.info("scheduler: running the due host jobs (upkeep.jobs kind 'host') too, every %.0f s", self.tick_s)
            host = threading.Thread(target=self._loop, args=("host jobs", self.host_jobs.run_due), daemon=True)
            host.start()
        self._loop("upkeep.run_due()", self._run_due_forever)
        if host is not None:
            host.join(timeout=60)

    def _run_due_forever(self) -> None:
        with self._connect() as conn:
            log.info("scheduler connected; running upkeep.run_due() every %.0f s", self.tick_s)
            while not self.stopping.is_set():
                conn.execute(RUN_DUE)
                self.stopping.wait(self.tick_s)

    def _loop(self, what: str, step) -> None:
        """`step` every tick until stopped; a lost connection retried with backoff."""
        delay = RETRY_MIN_S
        while not self.stopping.is_set():
            try:
                step()
                delay = RETRY_MIN_S
                self.stopping.wait(self.tick_s)
            except psycopg.Error as err:
                if self.stopping.is_set():
                    break
                wait = delay * (0.5 + random.random() / 2)
                log.warning(
                    "scheduler (%s): %s; reconnecting in %.1f s", what, str(err).strip() or type(err).__name__, wait
                )
                self.stopping.wait(wait)
                delay = min(delay * 2, RETRY_MAX_S)


def main(url: str, tick_s: float, once: bool, host_jobs: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scheduler = Scheduler(url, tick_s, host_jobs)
    if once:
        scheduler.run_once()
        return 0
    signal.signal(signal.SIGTERM, scheduler.stop)
    signal.signal(signal.SIGINT, scheduler.stop)
    scheduler.run()
    log.info("scheduler stopped")
    return 0
