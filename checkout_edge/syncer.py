"""Background work of the edge: push pending orders to the central, heartbeat, refresh the
catalog - and the link state, which is whatever these round trips observe (the UI has no
say in it: its "link up" claim says nothing about whether the central answers).

Sync: pending orders in creation order, in batches; an order is marked synced only after
the central's answer for it is in hand (accepted or duplicate). A crash between the
central's commit and the local mark only means a resend, which the central answers with
`duplicate`. While the central is unreachable the sync backs off exponentially (with
jitter, up to backoff_max); a successful heartbeat or catalog call ends the backoff early.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import Counter
from datetime import UTC, datetime

from .central import Central, CentralError, CentralRefused, CentralUnreachable, orders_that_fit
from .config import EdgeConfig
from .store import Store, utc_now

log = logging.getLogger("checkout_edge.sync")

TEST_EXIT_CODE = 86  # the crash-window test hook's exit status


class Catalog:
    """The cached catalog: what the edge prices from, online or not; and the central's
    limits that come with it (max_batch: the most orders one checkout_sync call takes)."""

    def __init__(self, data: dict | None):
        self.version: int | None = None
        self.items: dict[str, dict] = {}
        self.etag: str | None = None
        self.fetched_at: str | None = None
        self.max_batch: int | None = None
        if data:
            self.set(data["version"], data["items"], data.get("etag"), data.get("fetched_at"), data.get("limits"))

    def set(self, version: int, items: list, etag: str | None, fetched_at: str | None, limits: dict | None) -> None:
        self.version, self.etag, self.fetched_at = version, etag, fetched_at
        self.items = {i["sku"]: i for i in items}
        max_batch = (limits or {}).get("max_batch")
        self.max_batch = max_batch if type(max_batch) is int and max_batch >= 1 else None

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "items": sorted(self.items.values(), key=lambda i: i["sku"]),
            "fetched_at": self.fetched_at,
        }


class Syncer:
    def __init__(self, cfg: EdgeConfig, store: Store, central: Central, catalog: Catalog):
        self.cfg, self.store, self.central, self.catalog = cfg, store, central, catalog
        self.link_up: bool | None = None  # None until the first round trip
        self.failures = 0  # consecutive failed round trips
        self.last_ok_at: str | None = None
        self.last_error: str | None = None
        self.last_sync_at: str | None = None
        self.next_sync_at: float | None = None
        self.central_catalog_version: int | None = None
        self.totals: Counter = Counter()  # central statuses since start
        self._sync_lock = asyncio.Lock()
        self._catalog_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._catalog_due = 0.0

    # -- link state: what our own round trips saw --------------------------------------

    def _ok(self) -> None:
        recovered = self.failures > 0 or self.link_up is not True
        self.link_up, self.failures, self.last_ok_at = True, 0, utc_now()
        if recovered:
            self._wake.set()  # end the sync's backoff now

    def _failed(self, err: CentralError) -> None:
        if isinstance(err, CentralRefused):
            # The central answered: the link works, but this call was refused.
            self.link_up, self.last_ok_at = True, utc_now()
        else:
            self.link_up = False
        self.failures += 1
        self.last_error = str(err)
        log.warning("central: %s", err)

    def backoff_delay(self) -> float:
        delay = min(self.cfg.backoff_max, self.cfg.backoff_base * 2 ** max(0, self.failures - 1))
        return delay / 2 + random.random() * delay / 2

    def order_placed(self) -> None:
        """A new local order: sync soon - unless we are backing off from an unreachable central."""
        if self.failures == 0:
            self._wake.set()

    # -- sync ------------------------------------------------------------------------------

    def batch_size(self) -> int:
        """Orders per sync call: the configured size, never over the central's max_batch
        (the central refuses a bigger batch whole, and the edge would resend it forever)."""
        if self.catalog.max_batch is None:
            return self.cfg.batch_size
        return min(self.cfg.batch_size, self.catalog.max_batch)

    async def sync_now(self) -> dict:
        """Push everything pending, batch by batch. Raises CentralError when a call fails;
        what was acknowledged before that stays marked."""
        async with self._sync_lock:
            done: Counter = Counter()
            while True:
                limit = self.batch_size()
                rows = await asyncio.to_thread(self.store.pending_batch, limit)
                if not rows:
                    break
                # ...and no more than one request of the central's takes.
                batch = rows[: orders_that_fit([payload for _, _, payload in rows])]
                try:
                    answer = await self.central.sync([payload for _, _, payload in batch])
                except CentralError as err:
                    self._failed(err)
                    if isinstance(err, CentralRefused):
                        self._catalog_due = 0.0  # the central's limits may have changed: refetch them
                    raise
                results = answer["results"]
                if [r.get("index") for r in results] != list(range(len(batch))):
                    err = CentralUnreachable("checkout_sync answered for other orders than it was sent")
                    self._failed(err)
                    raise err
                if self.cfg.exit_after_central_ack:
                    # TEST HOOK (EDGE_TEST_EXIT_AFTER_CENTRAL_ACK=1): die in the crash window,
                    # after the central committed and before anything is marked here.
                    os._exit(TEST_EXIT_CODE)
                await asyncio.to_thread(
                    self.store.apply_results,
                    [(key, r["status"], r) for (_, key, _), r in zip(batch, results, strict=True)],
                )
                self._ok()
                self.last_sync_at = utc_now()
                statuses = Counter(r["status"] for r in results)
                done.update(statuses)
                self.totals.update(statuses)
                self.central_catalog_version = answer.get("catalog_version")
                if self.central_catalog_version is not None and self.central_catalog_version != self.catalog.version:
                    self._catalog_due = 0.0
                if len(rows) < limit:
                    break
            pending, _ = await asyncio.to_thread(self.store.backlog)
            return {
                "accepted": done["accepted"],
                "duplicate": done["duplicate"],
                "rejected": done["rejected"],
                "mismatch": done["mismatch"],
                "pending": pending,
            }

    async def sync_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.sync_now()
                delay = self.cfg.sync_interval
            except CentralError:
                delay = self.backoff_delay()
            except Exception:  # keep syncing whatever happened
                log.exception("sync pass failed")
                self.failures += 1
                delay = self.backoff_delay()
            self.next_sync_at = time.time() + delay
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    # -- heartbeat and catalog ---------------------------------------------------------------

    async def refresh_catalog(self) -> bool:
        """Fetch the catalog if it changed (ETag); True when a new version was stored."""
        async with self._catalog_lock:
            try:
                # Without the limits (a store from before they were published), ask for the
                # whole catalog again rather than hear "unchanged".
                known = self.catalog.etag if self.catalog.max_batch is not None else None
                data, etag = await self.central.catalog(known)
            except CentralError as err:
                self._failed(err)
                return False
            self._ok()
            self._catalog_due = time.monotonic() + self.cfg.catalog_interval
            if data is None:
                await asyncio.to_thread(self.store.touch_catalog)
                self.catalog.fetched_at = utc_now()
                return False
            await asyncio.to_thread(self.store.save_catalog, data["version"], data["items"], etag, data.get("limits"))
            self.catalog.set(data["version"], data["items"], etag, utc_now(), data.get("limits"))
            log.info("catalog version %s (%d items)", data["version"], len(data["items"]))
            return True

    async def heartbeat_once(self) -> None:
        pending, oldest = await asyncio.to_thread(self.store.backlog)
        try:
            # link_up as observed before this call: a heartbeat that gets through after an
            # outage reports the outage; the next one reports the recovery.
            await self.central.heartbeat(self.link_up is True, pending, self.cfg.app_version)
            await self.central.backlog(oldest)
        except CentralError as err:
            self._failed(err)
            return
        self._ok()

    async def heartbeat_loop(self) -> None:
        while True:
            try:
                if time.monotonic() >= self._catalog_due:
                    await self.refresh_catalog()
                await self.heartbeat_once()
            except Exception:  # keep heartbeating whatever happened
                log.exception("heartbeat failed")
            await asyncio.sleep(self.cfg.heartbeat_interval)

    def status(self) -> dict:
        return {
            "link_up": self.link_up,
            "consecutive_failures": self.failures,
            "last_ok_at": self.last_ok_at,
            "last_error": self.last_error,
            "last_sync_at": self.last_sync_at,
            "next_sync_at": (datetime.fromtimestamp(self.next_sync_at, UTC).isoformat() if self.next_sync_at else None),
            "central_catalog_version": self.central_catalog_version,
            "batch_size": self.batch_size(),
            "results_since_start": dict(self.totals),
        }
