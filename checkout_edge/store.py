"""The edge's durable store: SQLite in WAL mode with synchronous=FULL, so a commit is on
disk before the UI hears "sold" - zero lost sales at the acceptance boundary.

One connection, guarded by a lock; callers in the event loop use asyncio.to_thread. An
order's `payload` is the exact JSON the central receives, written once at checkout: every
resend is byte-identical, so the central answers `duplicate`, never a second order.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,   -- creation order = sync order
    idempotency_key  TEXT    NOT NULL UNIQUE,
    request_hash     TEXT    NOT NULL,                    -- what the UI asked for (replay vs 422)
    created_at       TEXT    NOT NULL,
    payment_method   TEXT    NOT NULL CHECK (payment_method IN ('card', 'mobile', 'cash')),
    currency         TEXT    NOT NULL,
    catalog_version  INTEGER NOT NULL,
    total            INTEGER NOT NULL CHECK (total > 0 AND typeof(total) = 'integer'),
    lines            TEXT    NOT NULL,                    -- receipt lines with names and amounts
    payload          TEXT    NOT NULL,                    -- exactly what the central receives
    sync_state       TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (sync_state IN ('pending', 'synced', 'rejected', 'mismatch')),
    central_status   TEXT,                                -- accepted | duplicate | rejected | mismatch
    central_result   TEXT,
    synced_at        TEXT
);
CREATE INDEX IF NOT EXISTS orders_pending ON orders (seq) WHERE sync_state = 'pending';
CREATE TABLE IF NOT EXISTS catalog (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    version     INTEGER NOT NULL,
    items       TEXT    NOT NULL,
    etag        TEXT,
    fetched_at  TEXT    NOT NULL
);
"""

# What the central's answer makes of a pending order locally. Both accepted and duplicate
# mean "the central has exactly this order"; rejected and mismatch are final and shown.
STATE_BY_CENTRAL_STATUS = {"accepted": "synced", "duplicate": "synced", "rejected": "rejected", "mismatch": "mismatch"}
ORDER_COLUMNS = (
    "seq, idempotency_key, request_hash, created_at, payment_method, currency, catalog_version, total, "
    "lines, sync_state, central_status, central_result, synced_at"
)


class StoreError(Exception):
    pass


def utc_iso(t: datetime) -> str:
    """2024-05-01T10:00:00.123456Z: the form the central parses (checkout.parse_time)."""
    return t.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return utc_iso(datetime.now(UTC))


@dataclass
class Order:
    seq: int
    idempotency_key: str
    request_hash: str
    created_at: str
    payment_method: str
    currency: str
    catalog_version: int
    total: int
    lines: list
    sync_state: str
    central_status: str | None
    central_result: dict | None
    synced_at: str | None

    def to_json(self, kiosk_id: str) -> dict:
        body = {
            "order_id": f"{kiosk_id}:{self.idempotency_key}",
            "seq": self.seq,
            "idempotency_key": self.idempotency_key,
            "created_at": self.created_at,
            "payment_method": self.payment_method,
            "currency": self.currency,
            "catalog_version": self.catalog_version,
            "lines": self.lines,
            "total": self.total,
            "sync_state": self.sync_state,
            "central_status": self.central_status,
            "synced_at": self.synced_at,
        }
        if self.central_result and self.sync_state in ("rejected", "mismatch"):
            body["reason"] = self.central_result.get("reason")
            body["message"] = self.central_result.get("message")
        return body


def _order(row) -> Order:
    (seq, key, rhash, created, method, currency, version, total, lines, state, cstatus, cresult, synced) = row
    return Order(
        seq,
        key,
        rhash,
        created,
        method,
        currency,
        version,
        total,
        orjson.loads(lines),
        state,
        cstatus,
        orjson.loads(cresult) if cresult else None,
        synced,
    )


class Store:
    def __init__(self, path: str, kiosk_id: str):
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"SQLite refused WAL mode for {path} (got {mode})")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        with self._tx():
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('kiosk_id', ?) ON CONFLICT (key) DO NOTHING", [kiosk_id]
            )
            owner = self._db.execute("SELECT value FROM meta WHERE key = 'kiosk_id'").fetchone()[0]
        if owner != kiosk_id:
            # Its orders carry that kiosk's ids; syncing them as another kiosk would be wrong.
            raise StoreError(f"{path} belongs to kiosk {owner}, not {kiosk_id}")

    @contextmanager
    def _tx(self):
        """One write transaction. COMMIT returns once the WAL is fsynced (synchronous=FULL)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def durability(self) -> dict:
        with self._lock:
            mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
            sync = self._db.execute("PRAGMA synchronous").fetchone()[0]
        return {"journal_mode": mode, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, sync)}

    # -- orders ---------------------------------------------------------------------------

    def get(self, key: str) -> Order | None:
        with self._lock:
            row = self._db.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE idempotency_key = ?", [key]).fetchone()
        return _order(row) if row else None

    def insert(
        self,
        *,
        key: str,
        request_hash: str,
        created_at: str,
        payment_method: str,
        currency: str,
        catalog_version: int,
        total: int,
        lines: list,
        payload: bytes,
    ) -> tuple[Order, bool]:
        """Insert the order unless its key exists; returns (the stored order, inserted?).
        The UNIQUE key decides, inside one write transaction - never a read-then-insert."""
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO orders (idempotency_key, request_hash, created_at, payment_method, currency, "
                "catalog_version, total, lines, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (idempotency_key) DO NOTHING",
                [
                    key,
                    request_hash,
                    created_at,
                    payment_method,
                    currency,
                    catalog_version,
                    total,
                    orjson.dumps(lines).decode(),
                    payload.decode(),
                ],
            )
            inserted = cur.rowcount == 1
            row = self._db.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE idempotency_key = ?", [key]).fetchone()
        return _order(row), inserted

    def list(self, state: str | None, limit: int, before: int | None) -> list[Order]:
        sql = f"SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1"
        args: list = []
        if state:
            sql += " AND sync_state = ?"
            args.append(state)
        if before:
            sql += " AND seq < ?"
            args.append(before)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_order(r) for r in rows]

    def pending_batch(self, limit: int) -> list[tuple[int, str, str]]:
        """(seq, idempotency_key, payload) of the oldest pending orders, in creation order."""
        with self._lock:
            return self._db.execute(
                "SELECT seq, idempotency_key, payload FROM orders WHERE sync_state = 'pending' ORDER BY seq LIMIT ?",
                [limit],
            ).fetchall()

    def apply_results(self, results: list[tuple[str, str, dict]]) -> int:
        """Record the central's answers [(key, central status, result)] in one transaction;
        only pending orders change. Returns how many did."""
        now = utc_now()
        changed = 0
        with self._tx():
            for key, status, result in results:
                cur = self._db.execute(
                    "UPDATE orders SET sync_state = ?, central_status = ?, central_result = ?, synced_at = ? "
                    "WHERE idempotency_key = ? AND sync_state = 'pending'",
                    [STATE_BY_CENTRAL_STATUS[status], status, orjson.dumps(result).decode(), now, key],
                )
                changed += cur.rowcount
        return changed

    def counts(self) -> dict:
        with self._lock:
            rows = self._db.execute(
                "SELECT sync_state, count(*), coalesce(sum(total), 0) FROM orders GROUP BY sync_state"
            ).fetchall()
            oldest = self._db.execute("SELECT min(created_at) FROM orders WHERE sync_state = 'pending'").fetchone()[0]
        by_state = {s: {"orders": 0, "total": 0} for s in ("pending", "synced", "rejected", "mismatch")}
        for state, n, total in rows:
            by_state[state] = {"orders": n, "total": total}
        return {"by_state": by_state, "oldest_pending_at": oldest}

    def backlog(self) -> tuple[int, str | None]:
        with self._lock:
            n, oldest = self._db.execute(
                "SELECT count(*), min(created_at) FROM orders WHERE sync_state = 'pending'"
            ).fetchone()
        return n, oldest

    # -- catalog --------------------------------------------------------------------------

    def save_catalog(self, version: int, items: list, etag: str | None, limits: dict | None) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO catalog (id, version, items, etag, fetched_at) VALUES (1, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, items = excluded.items, "
                "etag = excluded.etag, fetched_at = excluded.fetched_at",
                [version, orjson.dumps(items).decode(), etag, utc_now()],
            )
            # In meta, not a catalog column: stores created before the central sent limits
            # have no such column, and CREATE TABLE IF NOT EXISTS would not add one.
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('central_limits', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [orjson.dumps(limits).decode()],
            )

    def touch_catalog(self) -> None:
        with self._tx():
            self._db.execute("UPDATE catalog SET fetched_at = ? WHERE id = 1", [utc_now()])

    def load_catalog(self) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT version, items, etag, fetched_at FROM catalog WHERE id = 1").fetchone()
            limits = self._db.execute("SELECT value FROM meta WHERE key = 'central_limits'").fetchone()
        if not row:
            return None
        return {
            "version": row[0],
            "items": orjson.loads(row[1]),
            "etag": row[2],
            "fetched_at": row[3],
            "limits": orjson.loads(limits[0]) if limits else None,
        }
