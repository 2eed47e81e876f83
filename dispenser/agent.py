"""The agent loop: wake, claim, dispense, report - and never pay a coin twice.

One job at a time, in one thread:

  claim -> journal (job + hopper event counter, fsynced) -> dispense_begin (committed)
        -> hopper dispense, heartbeating dispense_progress well inside the lease
        -> journal the hopper's count -> dispense_report(count)

The journal is written before the motor can run, so after a crash the hopper's counters
say what the interrupted command paid (dispenser.recovery). A result that cannot be
reported (Postgres down) waits in the journal and is reported after the reconnect, with
the same claim token. What a count settles (the job finished, reconciled because the
lease ran out meanwhile, or nothing paid under a claim that is over), which state a job
moves to, retries, backoff and money stay in SQL; the agent journals the answer.
"""

from __future__ import annotations

import json
import logging
import random
import time

from . import __version__
from .config import Config
from .connection import DbUnavailable, Link
from .hopper import Hopper, HopperError, HopperStateLost
from .journal import Attempt, Journal
from .listener import FallbackTimer, Listener
from .queue import ApiError, Queue
from .recovery import resolve

log = logging.getLogger("dispenser.agent")

APP_VERSION = f"kioskledger-dispenser/{__version__}"


class Agent:
    def __init__(
        self,
        cfg: Config,
        hopper: Hopper,
        journal: Journal,
        *,
        work: Link,
        listen: Link,
        rng: random.Random | None = None,
    ):
        self.cfg = cfg
        self.hopper = hopper
        self.journal = journal
        self.queue = Queue(work)
        self.listener = Listener(listen, app_version=APP_VERSION, keepalive_seconds=cfg.agent.keepalive_seconds)
        rng = rng or random.Random()
        self.fallback = FallbackTimer(cfg.agent.fallback_claim_min, cfg.agent.fallback_claim_max, rng)
        self.stopping = False
        self._woken = True  # claim on start-up
        self._work_connects = 0
        self._next_expire = 0.0
        self._hopper_retry_at = 0.0
        self._hopper_ok = False
        self._hopper_warned = False
        self._job: dict | None = None  # the job being dispensed
        self._paid_total = 0  # its running total, as the hopper counts it
        self._last_heartbeat = 0.0
        self._lease_lost = False
        self.stats = {"claims": 0, "empty_claims": 0, "notifications": 0, "jobs": 0}

    @classmethod
    def from_config(cls, cfg: Config, hopper: Hopper, journal: Journal) -> Agent:
        from .connection import Backoff

        a = cfg.agent

        def link(name: str) -> Link:
            return Link(
                cfg.dsn,
                name,
                backoff=Backoff(a.reconnect_min, a.reconnect_max),
                connect_timeout=a.connect_timeout,
                statement_timeout_ms=a.statement_timeout_ms,
            )

        return cls(cfg, hopper, journal, work=link("work"), listen=link("listen"))

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        self._report_unknown_attempts()
        if pruned := self.journal.prune():
            log.info("journal: pruned %s delivered entries older than 30 days", pruned)
        log.info("dispenser agent for kiosk %s started (%s)", self.cfg.kiosk_id, APP_VERSION)
        while not self.stopping:
            try:
                self.tick()
            except Exception:  # keep serving; the journal makes every step resumable
                log.exception("unexpected error in the agent loop; continuing in 1 s")
                time.sleep(1)
        self.listener.link.close()
        self.queue.link.close()
        log.info("dispenser agent stopped")

    def stop(self) -> None:
        """From a signal handler: finish the coin batch in progress, report, then exit."""
        self.stopping = True

    def tick(self) -> None:
        if self.listener.ensure():
            self._woken = True  # NOTIFYs may have been missed while it was down
            if self.listener.kiosk_id != self.cfg.kiosk_id:
                log.error(
                    "the database says this login is kiosk %s, the config says %s; serving %s",
                    self.listener.kiosk_id,
                    self.cfg.kiosk_id,
                    self.listener.kiosk_id,
                )
        self._ensure_work()
        self.recover()
        self.deliver()
        self._maybe_expire_leases()
        if (self._woken or self.fallback.expired()) and not self.stopping:
            self._woken = False
            self.claim_and_dispense()
            self.fallback.rearm()
            if not self._hopper_ok:  # claim again as soon as the hopper may be back
                self.fallback.due = min(self.fallback.due, self._hopper_retry_at)
        if self.stopping:
            return
        payloads = self.listener.wait(self._wait_budget())
        if payloads:
            self.stats["notifications"] += len(payloads)
            log.debug("notified: job(s) %s", ",".join(payloads))
            self._woken = True

    def _wait_budget(self) -> float:
        waits = [
            self.fallback.remaining(),
            max(0.0, self._next_expire - time.monotonic()),
            self.listener.time_to_ping(),
            1.0,
        ]
        if not self.queue.link.up:
            waits.append(max(0.05, self.queue.link.due_in()))
        if not self.listener.link.up:
            waits.append(max(0.05, self.listener.link.due_in()))
        if self.journal.in_state("in_flight"):
            waits.append(max(0.05, self._hopper_retry_at - time.monotonic()))
        return max(0.0, min(waits))

    def _ensure_work(self) -> bool:
        try:
            self.queue.link.get()
        except DbUnavailable:
            return False
        if self.queue.link.connects != self._work_connects:
            self._work_connects = self.queue.link.connects
            self._woken = True  # claim after every (re)connect
        return True

    def _maybe_expire_leases(self) -> None:
        if time.monotonic() < self._next_expire or not self.queue.link.up:
            return
        self._next_expire = time.monotonic() + self.cfg.agent.expire_leases_seconds
        try:
            res = self.queue.expire_leases()
        except (DbUnavailable, ApiError) as err:
            log.warning("expire_leases: %s", err)
            return
        if res and (res.get("requeued") or res.get("needs_reconciliation")):
            log.info("expired leases: %s", res)

    # -- claiming and dispensing -----------------------------------------------------------

    def claim_and_dispense(self) -> None:
        while not self.stopping:
            if self.journal.in_state("in_flight"):
                return  # the hopper's counters must be settled first
            if not self._hopper_ready():
                return
            try:
                job = self.queue.claim()
            except DbUnavailable as err:
                log.debug("claim: %s", err)
                return
            except ApiError as err:
                log.error("claim refused: %s", err)
                return
            self.stats["claims"] += 1
            if job is None:
                self.stats["empty_claims"] += 1
                log.debug("claim: no job due")
                return
            self.dispense(job)

    def _hopper_ready(self) -> bool:
        if time.monotonic() < self._hopper_retry_at:
            return False
        try:
            st = self.hopper.status()
        except HopperError as err:
            self._hopper_failed(f"hopper not ready: {err}")
            return False
        if st.remaining:
            self._hopper_failed(f"hopper is paying out on its own ({st.remaining} coins remaining)")
            return False
        if not self._hopper_ok:
            log.info("hopper ready (event counter %s)", st.event_counter)
        self._hopper_ok, self._hopper_warned = True, False
        return True

    def _hopper_failed(self, message: str) -> None:
        # Loud on the first failure, quiet while it lasts.
        log.log(logging.WARNING if self._hopper_ok or not self._hopper_warned else logging.DEBUG, message)
        self._hopper_warned = True
        self._hopper_ok = False
        self._hopper_retry_at = time.monotonic() + self.cfg.agent.hopper_retry_seconds

    def dispense(self, job: dict) -> None:
        job_id, token = int(job["job_id"]), str(job["claim_token"])
        base, remaining, quarters = int(job["coins_paid"]), int(job["remaining"]), int(job["quarters"])
        log.info("claimed job %s: %s of %s coins to pay (attempt %s)", job_id, remaining, quarters, job["attempts"])
        counter = self._counter_before_payout(job_id)
        if counter is None:
            return
        self.journal.start(job_id, token, quarters, base, remaining, counter)
        try:
            self.queue.begin(job_id, token)
        except (DbUnavailable, ApiError) as err:
            log.warning("job %s: dispense_begin failed (%s); the motor did not run", job_id, err)
            self.journal.record_result(job_id, token, base, "not_started", {"begin": str(err)})
            self.deliver()
            return
        self._job, self._paid_total = job, base
        self._last_heartbeat, self._lease_lost = time.monotonic(), False
        try:
            result = self.hopper.dispense(
                remaining,
                before_batch=lambda ec, paid, batch: self.journal.before_batch(job_id, token, ec, paid, batch),
                progress=lambda paid: self._progress(base + paid),
                should_continue=self._may_continue,
            )
        except HopperStateLost as err:
            self.journal.record_unknown(job_id, token, {"why": str(err), "hopper": err.evidence})
            log.error(
                "job %s: cannot establish what the hopper paid (%s); left for reconciliation: %s",
                job_id,
                err,
                json.dumps(err.evidence),
            )
            return
        except HopperError as err:
            # The count is in the hopper; the journal knows how to read it once it answers.
            self._hopper_failed(f"job {job_id}: hopper stopped answering mid-payout ({err}); will read its counters")
            return
        finally:
            self._job = None
        total = base + result.paid
        self.stats["jobs"] += 1
        log.info("job %s: hopper paid %s of %s (%s)", job_id, result.paid, remaining, result.error or "complete")
        self.journal.record_result(
            job_id,
            token,
            total,
            result.error,
            {"how": "hopper count at the end of the payout", "requested": remaining, "paid": result.paid},
        )
        self.deliver()

    def _counter_before_payout(self, job_id: int) -> int | None:
        """The hopper's event counter, waiting a little for a hopper that just went silent.
        None: give up - nothing moved, the claim's lease runs out and SQL re-queues the job."""
        deadline = time.monotonic() + self.cfg.agent.hopper_wait_seconds
        while True:
            try:
                return self.hopper.status().event_counter
            except HopperError as err:
                if self.stopping or time.monotonic() >= deadline:
                    self._hopper_failed(
                        f"job {job_id}: hopper not answering before the payout ({err}); leaving the claim to expire"
                    )
                    return None
                time.sleep(self.cfg.agent.hopper_retry_seconds)

    def _progress(self, total: int) -> None:
        """From the hopper's poll loop: heartbeat with the running total, throttled."""
        self._paid_total = total
        if time.monotonic() - self._last_heartbeat >= self.cfg.agent.heartbeat_seconds:
            self._heartbeat()

    def _heartbeat(self) -> bool:
        job = self._job
        if job is None:
            return True
        self._last_heartbeat = time.monotonic()
        try:
            self.queue.progress(int(job["job_id"]), str(job["claim_token"]), self._paid_total)
            return True
        except ApiError as err:
            if not self._lease_lost:
                log.error("job %s: heartbeat refused (%s); no further batch will start", job["job_id"], err)
            self._lease_lost = True
        except DbUnavailable as err:
            log.warning("job %s: heartbeat failed (%s)", job["job_id"], err)
        return False

    def _may_continue(self) -> bool:
        """Before each batch after the first: only while we provably still hold the lease."""
        if self.stopping or self._lease_lost:
            return False
        return self._heartbeat()

    # -- the journal: recovery and delivery ------------------------------------------------

    def recover(self) -> None:
        """Settle in-flight attempts from the hopper's counters (after a crash, or after the
        hopper went silent mid-payout)."""
        for attempt in self.journal.in_state("in_flight"):
            if time.monotonic() < self._hopper_retry_at:
                return
            token = attempt.claim_token
            self._job = {"job_id": attempt.job_id, "claim_token": token}
            self._paid_total, self._last_heartbeat = attempt.base_paid + attempt.paid_before_batch, time.monotonic()
            try:
                outcome = resolve(
                    attempt, self.hopper, progress=lambda paid, a=attempt: self._progress(a.base_paid + paid)
                )
            except HopperError as err:
                self._hopper_failed(f"job {attempt.job_id}: cannot read the hopper's counters yet ({err})")
                return
            finally:
                self._job = None
            if outcome.known:
                total = attempt.base_paid + outcome.attempt_paid
                log.info(
                    "job %s: recovered from the hopper's counters: this attempt paid %s (job total %s)",
                    attempt.job_id,
                    outcome.attempt_paid,
                    total,
                )
                self.journal.record_result(attempt.job_id, token, total, outcome.error_code, outcome.evidence)
            else:
                self.journal.record_unknown(attempt.job_id, token, outcome.evidence or {})
                log.error(
                    "job %s: what the interrupted payout paid cannot be known; left for reconciliation: %s",
                    attempt.job_id,
                    json.dumps(outcome.evidence),
                )

    def deliver(self) -> None:
        for attempt in self.journal.in_state("result"):
            try:
                self._deliver(attempt)
            except DbUnavailable as err:
                log.debug("result for job %s waits in the journal: %s", attempt.job_id, err)
                return
        for attempt in self.journal.in_state("unknown"):
            try:
                self._deliver_unknown(attempt)
            except DbUnavailable as err:
                log.debug("unknown payout of job %s waits in the journal: %s", attempt.job_id, err)
                return

    def _deliver_unknown(self, a: Attempt) -> None:
        """Park the job in needs_reconciliation now, with our evidence, rather than leave the
        evidence on the kiosk and the job to its lease. Nothing is paid or guessed."""
        try:
            job = self.queue.unknown(a.job_id, a.claim_token, a.evidence or {})
        except ApiError as err:
            self.journal.mark(a.job_id, a.claim_token, "rejected", f"unknown refused: {err}", from_state="unknown")
            log.error(
                "job %s: the database refused our unknown-payout report (%s); evidence kept in the journal",
                a.job_id,
                err,
            )
            return
        self.journal.mark(a.job_id, a.claim_token, "delivered", f"unknown: {job['status']}", from_state="unknown")
        log.warning("job %s: reported an unknown payout with its evidence -> %s", a.job_id, job["status"])

    def _deliver(self, a: Attempt) -> None:
        try:
            answer = self.queue.report(
                a.job_id, a.claim_token, a.coins_paid, a.base_paid, a.error_code, a.evidence or {}
            )
        except ApiError as err:
            self.journal.mark(a.job_id, a.claim_token, "rejected", str(err))
            log.error(
                "job %s: the database refused our count of %s coins (%s); kept in the journal",
                a.job_id,
                a.coins_paid,
                err,
            )
            return
        outcome, status = answer["outcome"], answer["job"]["status"]
        if outcome == "reconciled":
            self.journal.mark(a.job_id, a.claim_token, "delivered", f"reconcile: {status}")
            log.info("job %s: reconciled with %s coins paid -> %s", a.job_id, a.coins_paid, status)
        elif outcome == "nothing_paid":
            self.journal.mark(a.job_id, a.claim_token, "delivered", f"nothing paid; job is {status}")
            log.info("job %s: nothing paid under claim %s; job is %s", a.job_id, a.claim_token, status)
        else:
            self.journal.mark(a.job_id, a.claim_token, "delivered", f"finish: {status}")
            log.info("job %s: reported %s coins paid -> %s", a.job_id, a.coins_paid, status)

    def _report_unknown_attempts(self) -> None:
        for a in self.journal.in_state("unknown"):
            log.warning(
                "journal: job %s (claim %s) has an unknown payout; evidence: %s",
                a.job_id,
                a.claim_token,
                json.dumps(a.evidence),
            )
