"""Where the ATM's QR codes point: `make run` serves the customer's page itself, so a
local system's pay_url follows the address it serves on."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

# The base the migrations ship: this server's page on the default port.
SHIPPED_BASE = "http://127.0.0.1:8000/miniapp"


def follow_served_address(owner_url: str, served_url: str) -> str:
    """Point atm.pay_url_base at served_url + /miniapp while it still holds the shipped
    default (an operator's own base is kept). Returns the base now in force."""
    wanted = served_url.rstrip("/") + "/miniapp"
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE core.settings SET value = %s WHERE key = 'atm.pay_url_base' AND value = %s AND value <> %s",
            (Jsonb(wanted), Jsonb(SHIPPED_BASE), Jsonb(wanted)),
        )
        return conn.execute("SELECT value #>> '{}' FROM core.settings WHERE key = 'atm.pay_url_base'").fetchone()[0]
