"""What every traffic generator shares: a thread that loops until the soak ends, sending
requests the way a careful client does - on a timeout, a broken connection or a 5xx it sends
the same request (same request_id) again, a few times, then gives up."""

from __future__ import annotations

import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.soak.effects import Api, retryable

ATTEMPTS = 4


def request_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def send(api: Api, path: str, body: dict, op: str, key: str, attempts: int = ATTEMPTS):
    """Send until an answer that is not worth retrying; (status, answer) of the last try."""
    for attempt in range(attempts):
        status, answer = api.post(path, body, op, key)
        if not retryable(status):
            break
        time.sleep(min(2.0, 0.2 * 2**attempt))
    return status, answer


def send_copies(api: Api, path: str, body: dict, op: str, key: str, copies: int):
    """The same request `copies` times at once (a double-tap, a proxy retrying), then as
    send() does for a copy that got no answer. Returns every copy's final (status, answer)."""
    with ThreadPoolExecutor(copies) as pool:
        return list(pool.map(lambda _: send(api, path, body, op, key), range(copies)))


def send_like_a_client(api: Api, rng: random.Random, path: str, body: dict, op: str, key: str):
    """Mostly once; sometimes resent after its answer, sometimes sent twice or thrice at once."""
    roll = rng.random()
    if roll < 0.2:
        return send_copies(api, path, body, op, key, rng.randint(2, 3))[0]
    first = send(api, path, body, op, key)
    if roll < 0.4:
        return send(api, path, body, op, key)
    return first


class Generator(threading.Thread):
    """Calls step() until stop is set, pausing `pause` seconds between steps."""

    name_prefix = "traffic"

    def __init__(self, stop: threading.Event, seed: int, pause: float):
        super().__init__(name=f"{self.name_prefix}-{seed}", daemon=True)
        self.stop_event, self.rng, self.pause = stop, random.Random(seed), pause
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                self.step()
                self.stop_event.wait(self.rng.uniform(0.5, 1.5) * self.pause)
        except BaseException as err:  # noqa: BLE001 - reported by the main thread after the run
            self.error = err

    def step(self) -> None:
        raise NotImplementedError
