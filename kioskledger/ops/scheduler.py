"""`kioskledger scheduler`: the upkeep schedule where the server has no pg_cron.

It does what pg_cron's job does: every tick, `CALL upkeep.run_due('scheduler')`, which runs
the jobs of upkeep.jobs that are due (each in its own transaction, logged in upkeep.runs,
a failure an alert). The schedule is the table, not this program, and several schedulers
(or a scheduler beside pg_cron) never run one job twice at once: upkeep.run_job takes an
advisory lock per job. A lost connection is retried with backoff; SIGTERM/SIGINT end it
after the call in progress.
"""

from __future__ import annotations

import logging
import random
import signal
import threading

import psycopg

log = logging.getLogger("kioskledger.scheduler")

RUN_DUE = "CALL upkeep.run_due('scheduler')"
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0


class Scheduler:
    def __init__(self, url: str, tick_s: float = 10.0):
        self.url = url
        self.tick_s = tick_s
        self.stopping = threading.Event()

    def stop(self, *_args) -> None:
        self.stopping.set()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5, application_name="kioskledger-scheduler")

    def run_once(self) -> None:
        with self._connect() as conn:
            conn.execute(RUN_DUE)

    def run(self) -> None:
        delay = RETRY_MIN_S
        while not self.stopping.is_set():
            try:
                with self._connect() as conn:
                    log.info("scheduler connected; running upkeep.run_due() every %.0f s", self.tick_s)
                    delay = RETRY_MIN_S
                    while not self.stopping.is_set():
                        conn.execute(RUN_DUE)
                        self.stopping.wait(self.tick_s)
            except psycopg.Error as err:
                if self.stopping.is_set():
                    break
                wait = delay * (0.5 + random.random() / 2)
                log.warning("scheduler: %s; reconnecting in %.1f s", str(err).strip() or type(err).__name__, wait)
                self.stopping.wait(wait)
                delay = min(delay * 2, RETRY_MAX_S)


def main(url: str, tick_s: float, once: bool) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scheduler = Scheduler(url, tick_s)
    if once:
        scheduler.run_once()
        return 0
    signal.signal(signal.SIGTERM, scheduler.stop)
    signal.signal(signal.SIGINT, scheduler.stop)
    scheduler.run()
    log.info("scheduler stopped")
    return 0
