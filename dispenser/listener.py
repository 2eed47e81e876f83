"""Waking up: LISTEN on the kiosk's channel, and the reasons to claim without a NOTIFY.

NOTIFY is a hint, never the only path: the agent claims on start-up, after every
(re)connect, on every notification, and on a fallback timer (5-10 s, jittered) - which
also finds retries that became due later, since those send no NOTIFY. The LISTEN
connection is checked with a periodic `SELECT 1` on top of TCP keepalives; when it fails
it comes back through `Link`'s backoff.
"""

from __future__ import annotations

import logging
import random
import time

import psycopg
from psycopg import sql

from .connection import DbUnavailable, Link
from .queue import queries

log = logging.getLogger("dispenser.listener")


def channel_for(kiosk_id: str) -> str:
    return "atm_kiosk_" + kiosk_id


class Listener:
    def __init__(self, link: Link, *, app_version: str, keepalive_seconds: float = 15.0):
        self.link = link
        self.app_version = app_version
        self.keepalive_seconds = keepalive_seconds
        self.kiosk_id: str | None = None
        self.link.on_connect = self._subscribe
        self._last_ping = time.monotonic()
        self._seen_connects = 0

    def _subscribe(self, conn: psycopg.Connection) -> None:
        # The database says which kiosk this login is; that decides the channel.
        kiosk_id = conn.execute(queries()["whoami"], {"app_version": self.app_version}).fetchone()[0]
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel_for(kiosk_id))))
        self.kiosk_id = kiosk_id
        log.info("listening on %s", channel_for(kiosk_id))

    def ensure(self) -> bool:
        """Connect and LISTEN if down and the backoff allows. True when a new connection
        was made since the last call (a reason to claim: NOTIFYs were missed meanwhile)."""
        try:
            self.link.get()
        except DbUnavailable:
            return False
        if self.link.connects != self._seen_connects:
            self._seen_connects = self.link.connects
            self._last_ping = time.monotonic()
            return True
        return False

    def wait(self, timeout: float) -> list[str]:
        """Notification payloads (job ids) that arrive within `timeout`; [] when none or
        when the connection is down (then it just sleeps until its next reconnect is due)."""
        if not self.link.up:
            time.sleep(max(0.0, min(timeout, self.link.due_in())))
            return []
        try:
            self._maybe_ping()
            conn = self.link.conn
            notes = list(conn.notifies(timeout=max(0.0, timeout), stop_after=1))
            if notes:
                notes += conn.notifies(timeout=0)  # whatever else is already there
            return [n.payload for n in notes]
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            self.link.broken(err)
            return []

    def _maybe_ping(self) -> None:
        if time.monotonic() - self._last_ping >= self.keepalive_seconds:
            self.link.conn.execute("SELECT 1")
            self._last_ping = time.monotonic()

    def time_to_ping(self) -> float:
        return max(0.0, self.keepalive_seconds - (time.monotonic() - self._last_ping))


class FallbackTimer:
    """Claim anyway every `low`..`high` seconds (jittered so a fleet does not poll in step)."""

    def __init__(self, low: float, high: float, rng: random.Random | None = None):
        self.low, self.high = low, high
        self.rng = rng or random.Random()
        self.due = 0.0  # due at once: claim on start-up

    def rearm(self) -> None:
        self.due = time.monotonic() + self.rng.uniform(self.low, self.high)

    def remaining(self) -> float:
        return max(0.0, self.due - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.due
