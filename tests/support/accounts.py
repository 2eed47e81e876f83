"""Login accounts in tests: made in SQL as an admin would, logged in over HTTP."""

from __future__ import annotations

import uuid

import httpx

from tests.support.helpers import call_as, rid

PASSWORD = "correct horse battery"


def fast_hashing(conn) -> None:
    """bcrypt at its lowest cost: the tests log in hundreds of times; the cost is a setting."""
    conn.execute("UPDATE core.settings SET value = '4' WHERE key = 'accounts.bcrypt_cost'")


def new_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}@example.org"


def create_account(conn, role: str = "staff", email: str | None = None, password: str = PASSWORD, **fields) -> dict:
    """A new account (the answer of api.account_create), made by a test admin."""
    return call_as(
        conn,
        "admin",
        "SELECT api.account_create(email => %s, password => %s, role => %s, display_name => %s, request_id => %s,"
        " company_id => %s, point_of_sale => %s, checkpoint => %s)",
        (
            email or new_email(role),
            password,
            role,
            fields.get("display_name", role.title()),
            rid(),
            fields.get("company_id"),
            fields.get("point_of_sale"),
            fields.get("checkpoint"),
        ),
    )


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/auth/login", json={"email": email, "password": password})
