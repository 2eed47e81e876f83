"""Many HTTP clients released at the same instant: the concurrent-duplicate and race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import httpx


def at_once(
    base: str, items: Iterable, send: Callable[[httpx.Client, object], httpx.Response], timeout: float = 60
) -> list[httpx.Response]:
    """send(client, item) for every item, each on its own client and connection, all released
    together by a barrier; the responses in the items' order."""
    items = list(items)
    barrier = threading.Barrier(len(items))

    def one(item):
        with httpx.Client(base_url=base, timeout=timeout) as client:
            barrier.wait()
            return send(client, item)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(one, items))
