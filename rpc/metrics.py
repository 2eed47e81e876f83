"""Prometheus metrics: requests by function and status, latency, pool usage."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "rpc_requests_total", "RPC requests by function and HTTP status", ["function", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "rpc_request_seconds",
    "RPC request latency by function",
    ["function"],
    registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class PoolCollector:
    """Reads the pool's own counters at scrape time."""

    def __init__(self, get_pool):
        self._get_pool = get_pool

    def describe(self):
        return []

    def collect(self):
        pool = self._get_pool()
        if pool is None:
            return
        stats = pool.get_stats()
        for key, help_text in (
            ("pool_size", "connections open"),
            ("pool_available", "connections idle in the pool"),
            ("requests_waiting", "requests waiting for a connection"),
        ):
            g = GaugeMetricFamily(f"rpc_{key}", help_text)
            g.add_metric([], stats.get(key, 0))
            yield g


_current_pool = None
REGISTRY.register(PoolCollector(lambda: _current_pool))


def track_pool(pool) -> None:
    global _current_pool
    _current_pool = pool


def exposition() -> bytes:
    return generate_latest(REGISTRY)
