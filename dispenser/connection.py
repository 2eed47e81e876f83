"""Direct Postgres connections that come back by themselves: TCP keepalives, and on any
connection error a reconnect with exponential backoff (1 s doubling to 30 s, jittered so a
fleet of kiosks does not reconnect in step after an outage)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import psycopg

log = logging.getLogger("dispenser.connection")


class DbUnavailable(Exception):
    """The database cannot be reached right now; try again later."""


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class Backoff:
    def __init__(self, minimum: float = 1.0, maximum: float = 30.0, rng: random.Random | None = None):
        self.minimum, self.maximum = minimum, maximum
        self.rng = rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        """Delay before the next attempt: min * 2^failures, capped, with +-25 % jitter."""
        base = min(self.maximum, self.minimum * (2**self.failures))
        self.failures += 1
        return min(self.maximum, base * self.rng.uniform(0.75, 1.25))

    def reset(self) -> None:
        self.failures = 0


class Link:
    """One named connection (the agent has two: `work` for api calls, `listen` for
    LISTEN) that reconnects on demand, never more often than its backoff allows."""

    def __init__(
        self,
        dsn: str,
        name: str,
        *,
        backoff: Backoff,
        connect_timeout: int = 5,
        statement_timeout_ms: int = 10_000,
        on_connect: Callable[[psycopg.Connection], None] | None = None,
    ):
        self.dsn = dsn
        self.name = name
        self.backoff = backoff
        self.connect_timeout = connect_timeout
        self.statement_timeout_ms = statement_timeout_ms
        self.on_connect = on_connect
        self.conn: psycopg.Connection | None = None
        self.next_attempt = 0.0  # monotonic time of the next allowed attempt
        self.connects = 0  # successful (re)connections so far
        self.last_error: str | None = None

    @property
    def up(self) -> bool:
        return self.conn is not None and not self.conn.closed and not self.conn.broken

    def due_in(self) -> float:
        return 0.0 if self.up else max(0.0, self.next_attempt - time.monotonic())

    def get(self) -> psycopg.Connection:
        """The connection, connecting first if it is down and the backoff allows."""
        if self.up:
            return self.conn
        if time.monotonic() < self.next_attempt:
            raise DbUnavailable(f"{self.name}: waiting {self.due_in():.1f}s to reconnect ({self.last_error})")
        try:
            conn = psycopg.connect(
                self.dsn,
                autocommit=True,
                connect_timeout=self.connect_timeout,
                application_name=f"kioskledger-dispenser-{self.name}",
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
                tcp_user_timeout=15_000,
                options=f"-c statement_timeout={self.statement_timeout_ms}",
            )
            if self.on_connect is not None:
                self.on_connect(conn)
        except psycopg.Error as err:
            self._failed(err)
            if "conn" in locals():
                conn.close()
            raise DbUnavailable(f"{self.name}: {first_line(err)}") from err
        self.conn = conn
        self.backoff.reset()
        self.connects += 1
        if self.connects > 1:
            log.info("%s connection re-established", self.name)
        return conn

    def broken(self, err: BaseException) -> None:
        """Called on a connection error: drop the connection, back off before the next try."""
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a dead connection may fail in any way
                pass
        self.conn = None
        self._failed(err)

    def _failed(self, err: BaseException) -> None:
        delay = self.backoff.next_delay()
        self.next_attempt = time.monotonic() + delay
        self.last_error = first_line(err)
        log.warning("%s connection: %s; next attempt in %.1fs", self.name, self.last_error, delay)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
