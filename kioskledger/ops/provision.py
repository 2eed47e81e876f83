"""Provisioning that is configuration, not schema: role passwords, kiosk agents."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from kioskledger.protocol import call


def set_authenticator_password(owner_url: str, password: str) -> None:
    """Let the RPC pool log in as `authenticator` (created NOLOGIN by the migrations)."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE authenticator LOGIN PASSWORD {}").format(sql.Literal(password)))


def kiosk_id_from_name(name: str) -> str:
    slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
    return (slug or "kiosk")[:40]


def provision_kiosk(
    owner_url: str,
    jwt_secret: str,
    name: str,
    out_dir: Path,
    *,
    kiosk_id: str | None = None,
    location: str | None = None,
    fee_flat: int | None = None,
    max_amount: int = 10000,
    company_id: str | None = None,
    api_url: str = "http://127.0.0.1:8000",
    token_days: int = 365,
) -> Path:
    """Register the kiosk (if new), give its agent a LOGIN role and a token, write its config."""
    import secrets

    from .tokens import make_token

    kiosk_id = kiosk_id or kiosk_id_from_name(name)
    password = secrets.token_urlsafe(24)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM kiosk.kiosks WHERE kiosk_id = %s", [kiosk_id]).fetchone()
        if not exists:
            call(
                conn,
                "admin",
                "SELECT api.atm_kiosk_register(%s, %s, %s, %s, %s, %s, %s)",
                [kiosk_id, name, location, fee_flat, max_amount, "provision:" + kiosk_id, company_id],
                claims={"sub": "kiosk-provision"},
            )
        role = conn.execute("SELECT kiosk.provision_login(%s, %s)", [kiosk_id, password]).fetchone()[0]
    parts = urlsplit(owner_url)
    # Every host of a multi-host URL (a formation's `h1:p1,h2:p2`) and its query
    # (target_session_attrs=read-write): the agent follows the primary as the owner does.
    hosts = parts.netloc.rpartition("@")[2] or "127.0.0.1"
    dsn = urlunsplit(parts._replace(netloc=f"{role}:{quote(password)}@{hosts}"))
    token = make_token(jwt_secret, "kiosk", {"sub": f"kiosk:{kiosk_id}", "kiosk_id": kiosk_id}, ttl=token_days * 86400)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"dispenser-{kiosk_id}.toml"
    path.write_text(
        "# kioskledger dispenser config for one kiosk - written by `kioskledger kiosk-provision`.\n"
        "# Holds secrets: keep it 0600 on the Pi (/etc/kioskledger/dispenser.toml).\n"
        f'kiosk_id = "{kiosk_id}"\n'
        f'dsn = "{dsn}"\n'
        f'api_url = "{api_url}"\n'
        f'token = "{token}"\n\n'
        "[hopper]\n"
        'device = "sim"   # or /dev/ttyUSB0 for a ccTalk hopper\n'
        "address = 3\n"
    )
    path.chmod(0o600)
    return path
