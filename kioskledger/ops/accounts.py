"""Login accounts from the command line: `kioskledger account-create`, `account-password`,
and the first admin that `make run` makes.

Both go through the same api functions an admin calls over HTTP (api.account_create,
api.account_set_password), as the owner acting as admin (`kioskledger-cli` in the
records). A password is generated here when none is given, printed once and stored
nowhere: the database keeps only its bcrypt hash.
"""

from __future__ import annotations

import secrets
import uuid

import psycopg

from kioskledger.protocol import call, refusal

CLI_CLAIMS = {"sub": "kioskledger-cli"}
FIRST_ADMIN_EMAIL = "admin@kioskledger.local"


class AccountError(Exception):
    """The api refused (its code and message), for the command to print."""


def generate_password() -> str:
    # 144 random bits in 24 URL-safe characters: typeable, and within bcrypt's 72 bytes.
    return secrets.token_urlsafe(18)


def _call(owner_url: str, query: str, params: list):
    with psycopg.connect(owner_url, autocommit=True) as conn:
        try:
            return call(conn, "admin", query, params, claims=CLI_CLAIMS)
        except psycopg.Error as err:
            ours = refusal(err)
            if ours is None:
                raise
            raise AccountError(str(ours)) from None


def create_account(
    owner_url: str,
    email: str,
    role: str,
    display_name: str,
    password: str,
    *,
    company_id: str | None = None,
    point_of_sale: str | None = None,
    checkpoint: str | None = None,
) -> dict:
    return _call(
        owner_url,
        "SELECT api.account_create(email => %s, password => %s, role => %s, display_name => %s, request_id => %s,"
        " company_id => %s, point_of_sale => %s, checkpoint => %s)",
        [email, password, role, display_name, "cli-" + uuid.uuid4().hex, company_id, point_of_sale, checkpoint],
    )


def set_password(owner_url: str, email: str, password: str) -> dict:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        row = conn.execute("SELECT id FROM accounts.accounts WHERE email = lower(btrim(%s))", [email]).fetchone()
    if row is None:
        raise AccountError(f"USER_NOT_FOUND: no account with email {email}")
    return _call(
        owner_url,
        "SELECT api.account_set_password(account_id => %s, new_password => %s, request_id => %s)",
        [row[0], password, "cli-" + uuid.uuid4().hex],
    )


def first_admin(owner_url: str) -> tuple[str, str | None]:
    """The login `make run` shows: (email, password) of an admin account made now when no
    enabled admin account exists, else (an enabled admin's email, None): its password was
    printed when it was made."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        existing = conn.execute(
            "SELECT email FROM accounts.accounts WHERE role = 'admin' AND NOT disabled ORDER BY created_at LIMIT 1"
        ).fetchone()
        taken = conn.execute("SELECT 1 FROM accounts.accounts WHERE email = %s", [FIRST_ADMIN_EMAIL]).fetchone()
    if existing:
        return existing[0], None
    email = FIRST_ADMIN_EMAIL if not taken else f"admin-{secrets.token_hex(3)}@kioskledger.local"
    password = generate_password()
    create_account(owner_url, email, "admin", "First admin", password)
    return email, password
