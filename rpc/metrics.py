"""Prometheus metrics: requests by function or route, status, error code and replay;
latency; pool usage; the process.

With several uvicorn workers each is its own process with its own counters, and a scrape
reaches one of them. So rpc.server sets PROMETHEUS_MULTIPROC_DIR (a fresh directory per
server start) before any worker imports prometheus_client: every worker then writes its
counters to files there, and a scrape adds up all the files. Gauges read at scrape time
(pool, process) describe the worker that answered; the business gauges (OpsGauges) are
the database's and the same from any worker.
"""

from __future__ import annotations

import logging
import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from .catalogue import QUERIES

log = logging.getLogger("rpc.metrics")

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

# The counters live here; with MULTIPROCESS_DIR they are also written to its files, which a
# scrape reads instead of this registry.
REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "rpc_requests_total",
    "HTTP requests by function (/rpc) or route, status, error code and idempotent replay",
    ["function", "status", "code", "replayed"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "rpc_request_seconds",
    "HTTP request latency by function (/rpc) or route",
    ["function"],
    registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


# The labelled children, looked up once per label set: `labels()` takes a lock and turns
# every value into a string on each call. The label sets are bounded (function or route
# label, status, declared error code), so is this dict.
_CHILDREN: dict[tuple, tuple] = {}


def count(function: str, status: int, code: str, replayed: bool, seconds: float) -> None:
    key = (function, status, code, replayed)
    children = _CHILDREN.get(key)
    if children is None:
        children = _CHILDREN[key] = (
            REQUESTS.labels(function, status, code, "true" if replayed else "false"),
            LATENCY.labels(function),
        )
    children[0].inc()
    children[1].observe(seconds)


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
        hub = _current_hub
        if hub is not None:
            g = GaugeMetricFamily("rpc_event_streams", "open GET /events streams (this worker)")
            g.add_metric([], hub.streams)
            yield g


_current_pool = None
_current_hub = None


def track_pool(pool) -> None:
    global _current_pool
    _current_pool = pool


def track_event_streams(hub) -> None:
    global _current_hub
    _current_hub = hub


# How long a scrape reuses the business gauges: several Prometheus servers, or a scrape of
# each worker, then cost the database one query per this interval and worker at most.
OPS_GAUGES_TTL_S = int(os.environ.get("RPC_OPS_GAUGES_TTL_MS", "5000")) / 1000


class OpsGauges:
    """The business gauges: core.ops_gauges() (sql/90_api_wide/18_ops_gauges.sql), read at
    scrape time and kept OPS_GAUGES_TTL_S. A number is a gauge; an object is one gauge
    labelled by its keys. When the database cannot answer, the scrape still succeeds, with
    kioskledger_ops_gauges_up 0 and no stale numbers."""

    def __init__(self):
        self.values: dict | None = None
        self.read_at = float("-inf")

    async def refresh(self, pool) -> None:
        if pool is None or time.monotonic() - self.read_at < OPS_GAUGES_TTL_S:
            return
        try:
            async with pool.connection(timeout=2) as conn:
                row = await (await conn.execute(QUERIES["ops_gauges"])).fetchone()
            self.values = row[0]
        except Exception as err:  # noqa: BLE001 - a scrape must not fail with the database
            log.warning("ops gauges unavailable: %s: %s", type(err).__name__, err)
            self.values = None
        self.read_at = time.monotonic()

    def describe(self):
        return []

    def collect(self):
        up = GaugeMetricFamily("kioskledger_ops_gauges_up", "1 when core.ops_gauges() answered at the last read")
        up.add_metric([], 0 if self.values is None else 1)
        yield up
        for key, value in (self.values or {}).items():
            if isinstance(value, dict):
                g = GaugeMetricFamily(f"kioskledger_{key}", key.replace("_", " "), labels=["kind"])
                for kind, n in value.items():
                    g.add_metric([kind], n)
            else:
                g = GaugeMetricFamily(f"kioskledger_{key}", key.replace("_", " "))
                g.add_metric([], value)
            yield g


OPS = OpsGauges()

# Collected at scrape time, in whichever worker answers.
_LIVE = [PoolCollector(lambda: _current_pool), ProcessCollector(registry=None), OPS]
for _collector in _LIVE:
    REGISTRY.register(_collector)


async def scrape() -> bytes:
    await OPS.refresh(_current_pool)
    return exposition()


def exposition() -> bytes:
    if MULTIPROCESS_DIR is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, MULTIPROCESS_DIR)
    for collector in _LIVE:
        registry.register(collector)
    return generate_latest(registry)
