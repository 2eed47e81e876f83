"""Edge settings: environment variables, overridden by command-line options.

EDGE_CENTRAL_URL        the central RPC server, e.g. https://ledger.example.com (required)
EDGE_TOKEN              the kiosk's bearer token (role kiosk, kiosk_id claim) (required)
EDGE_KIOSK_ID           defaults to the token's kiosk_id claim
EDGE_DB                 SQLite file (default ./checkout-edge-<kiosk_id>.db)
EDGE_HOST, EDGE_PORT    where the UI reaches the edge (127.0.0.1:8700)
EDGE_BATCH_SIZE         orders per sync call (100); fewer when the central's max_batch (sent
                        with the catalog) is lower or they would not fit one request (1 MiB)
EDGE_SYNC_INTERVAL      seconds between sync passes while idle (2)
EDGE_HEARTBEAT_INTERVAL seconds between heartbeats to the central (5)
EDGE_CATALOG_INTERVAL   seconds between catalog refreshes (60; 304 when unchanged)
EDGE_BACKOFF_BASE, EDGE_BACKOFF_MAX   retry delay while the central is unreachable (0.5, 30)
EDGE_TIMEOUT            seconds per call to the central (10)
EDGE_TEST_EXIT_AFTER_CENTRAL_ACK=1    TEST HOOK: exit right after the central answered a
                        sync and before the local "synced" mark (crash-window tests)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import jwt

from . import APP_VERSION

KIOSK_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")


class ConfigError(Exception):
    pass


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class EdgeConfig:
    central_url: str
    token: str = field(repr=False)
    kiosk_id: str
    db_path: str
    host: str = "127.0.0.1"
    port: int = 8700
    batch_size: int = 100
    sync_interval: float = 2.0
    heartbeat_interval: float = 5.0
    catalog_interval: float = 60.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 10.0
    app_version: str = APP_VERSION
    exit_after_central_ack: bool = False


def kiosk_id_from_token(token: str) -> str | None:
    """The kiosk_id claim, read without verifying: only the central can verify the token,
    and it does on every call. This only names the local database."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("kiosk_id")
    except jwt.PyJWTError:
        return None


def from_env(**overrides) -> EdgeConfig:
    values = dict(
        central_url=os.environ.get("EDGE_CENTRAL_URL", ""),
        token=os.environ.get("EDGE_TOKEN", ""),
        kiosk_id=os.environ.get("EDGE_KIOSK_ID", ""),
        db_path=os.environ.get("EDGE_DB", ""),
        host=os.environ.get("EDGE_HOST", "127.0.0.1"),
        port=_int("EDGE_PORT", 8700),
        batch_size=_int("EDGE_BATCH_SIZE", 100),
        sync_interval=_float("EDGE_SYNC_INTERVAL", 2.0),
        heartbeat_interval=_float("EDGE_HEARTBEAT_INTERVAL", 5.0),
        catalog_interval=_float("EDGE_CATALOG_INTERVAL", 60.0),
        backoff_base=_float("EDGE_BACKOFF_BASE", 0.5),
        backoff_max=_float("EDGE_BACKOFF_MAX", 30.0),
        timeout=_float("EDGE_TIMEOUT", 10.0),
        exit_after_central_ack=os.environ.get("EDGE_TEST_EXIT_AFTER_CENTRAL_ACK") == "1",
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    if not values["central_url"]:
        raise ConfigError("EDGE_CENTRAL_URL (or --central) is required")
    if not values["token"]:
        raise ConfigError("EDGE_TOKEN (or --token) is required: a kiosk token with a kiosk_id claim")
    if not values["kiosk_id"]:
        values["kiosk_id"] = kiosk_id_from_token(values["token"]) or ""
    if not KIOSK_ID_RE.match(values["kiosk_id"]):
        raise ConfigError("kiosk id missing or malformed: set EDGE_KIOSK_ID or use a token with a kiosk_id claim")
    if not values["db_path"]:
        values["db_path"] = f"checkout-edge-{values['kiosk_id']}.db"
    if not 1 <= values["batch_size"] <= 500:
        raise ConfigError("EDGE_BATCH_SIZE must be 1..500")
    values["central_url"] = values["central_url"].rstrip("/")
    return EdgeConfig(**values)
