"""Bounded polling for tests: wait for a condition, fail with what was last seen."""

from __future__ import annotations

import time

import httpx


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, message: str = "condition"):
    """Poll predicate() until it returns something truthy and return that; a connection error
    counts as "not yet". Fails after `timeout` seconds with the last value or error."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except (httpx.HTTPError, OSError) as err:
            last = err
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; last: {last!r}")
        time.sleep(interval)


def wait_http_ok(url: str, proc, timeout: float = 30.0, what: str = "the server") -> None:
    """Wait until GET `url` answers 200 while the process `proc` runs; fail if it exits."""

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        return httpx.get(url, timeout=1).status_code == 200

    wait_for(up, timeout, interval=0.05, message=f"{what} at {url}")
