"""The client-side log: every HTTP request the soak sends and what each 200 claims to have
done. Reconciliation trusts only this log and the database, never the server's word."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

# Answers that are not an answer: the effect may or may not have committed.
TIMEOUT, CONNECTION = "timeout", "connection"


@dataclass
class Sent:
    """One HTTP exchange."""

    op: str  # e.g. "bar_order", "checkout_sync"
    key: str  # the effect it is about: a request_id, or a checkout order key per order
    sent_at: float
    answered_at: float
    status: int | str  # HTTP status, TIMEOUT or CONNECTION
    answer: Any = None


@dataclass
class Effect:
    """What one idempotency key is meant to do (the same key may be sent many times)."""

    op: str
    key: str
    intent: dict  # what the client asked for (card, amount, items...)
    claims: list[dict] = field(default_factory=list)  # the body of every 200 about this key

    @property
    def acknowledged(self) -> bool:
        return bool(self.claims)


class EffectLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[Sent] = []
        self.effects: dict[tuple[str, str], Effect] = {}

    def intend(self, op: str, key: str, **intent) -> Effect:
        with self._lock:
            return self.effects.setdefault((op, key), Effect(op, key, intent))

    def record(self, sent: Sent) -> None:
        with self._lock:
            self.sent.append(sent)

    def claim(self, op: str, key: str, claim: dict) -> None:
        """A 200 says the effect of (op, key) is done, as `claim` describes."""
        with self._lock:
            self.effects[(op, key)].claims.append(claim)

    def of(self, op: str) -> list[Effect]:
        with self._lock:
            return [e for (o, _), e in self.effects.items() if o == op]

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        with self._lock:
            for s in self.sent:
                counts[str(s.status)] += 1
        return dict(counts)

    def first_ok_after(self, t: float) -> float | None:
        """When the first request sent at or after t was answered 200 (None: never)."""
        with self._lock:
            answered = [s.answered_at for s in self.sent if s.status == 200 and s.sent_at >= t]
        return min(answered, default=None)

    def failures_between(self, t0: float, t1: float) -> int:
        with self._lock:
            return sum(1 for s in self.sent if t0 <= s.sent_at < t1 and s.status in (TIMEOUT, CONNECTION, 502, 503))


class Api:
    """POST /rpc/<fn> (or another path) as one caller; every exchange goes into the log.
    The server may be restarted underneath: it comes back on the same port."""

    def __init__(self, base: str, token: str | None, log: EffectLog, timeout: float = 5.0):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        self.log = log
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=32)
        self.http = httpx.Client(base_url=base, headers=headers, timeout=timeout, limits=limits)

    def post(self, path: str, body: dict, op: str, key: str) -> tuple[int | str, Any]:
        """One exchange; a 200 about a single effect is claimed at once."""
        started = time.monotonic()
        try:
            resp = self.http.post(path, content=orjson.dumps(body))
            status, answer = resp.status_code, _json(resp)
        except httpx.TimeoutException:
            status, answer = TIMEOUT, None
        except httpx.TransportError:
            status, answer = CONNECTION, None
        self.log.record(Sent(op, key, started, time.monotonic(), status, answer))
        if status == 200 and (op, key) in self.log.effects:
            self.log.claim(op, key, answer)
        return status, answer

    def close(self) -> None:
        self.http.close()


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


def retryable(status: int | str) -> bool:
    """Answers after which a client sends the same request again (same request_id)."""
    return status in (TIMEOUT, CONNECTION, 500, 502, 503, 504)
