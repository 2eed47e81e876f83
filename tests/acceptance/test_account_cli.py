"""`kioskledger account-create` and `account-password` as processes, and the first admin
`make run` makes: the printed password logs in, and nothing but its bcrypt hash is kept."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import psycopg
import pytest

from kioskledger.ops.accounts import FIRST_ADMIN_EMAIL, first_admin
from tests.support.accounts import fast_hashing, login, new_email
from tests.support.answers import ok

PRINTED_PASSWORD = re.compile(r"password \(shown this once\): (\S+)")


def kioskledger(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kioskledger", *args],
        env=dict(os.environ, DATABASE_URL=url, KL_NO_DOTENV="1"),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module", autouse=True)
def settings(migrated):
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        fast_hashing(conn)


def test_account_create_prints_a_password_that_logs_in(migrated, db, client):
    email = new_email("cli")
    out = kioskledger(migrated.url, "account-create", email, "--role", "staff", "--point-of-sale", "bar-3")
    assert out.returncode == 0, out.stderr
    password = PRINTED_PASSWORD.search(out.stdout).group(1)
    session = ok(login(client, email, password))
    assert session["account"]["point_of_sale"] == "bar-3" and session["account"]["role"] == "staff"
    created_by = db.execute("SELECT created_by FROM accounts.accounts WHERE email = %s", [email]).fetchone()[0]
    assert created_by == "kioskledger-cli"
    kept = db.execute("SELECT count(*) FROM core.idempotency_responses WHERE response::text LIKE %s", [f"%{password}%"])
    assert kept.fetchone()[0] == 0


def test_account_create_refusals_are_a_message_not_a_traceback(migrated):
    out = kioskledger(migrated.url, "account-create", new_email("op"), "--role", "operator")
    assert out.returncode == 1
    assert out.stderr.strip() == "INVALID_REQUEST: an operator account needs company_id: operators act for one company"


def test_account_password_sets_a_new_one(migrated, client):
    email = new_email("reset")
    assert kioskledger(migrated.url, "account-create", email, "--role", "admin").returncode == 0
    out = kioskledger(migrated.url, "account-password", email, "--password-stdin", stdin="a chosen password\n")
    assert out.returncode == 0, out.stderr
    assert "shown this once" not in out.stdout, "a password the user typed is not printed back"
    ok(login(client, email, "a chosen password"))
    missing = kioskledger(migrated.url, "account-password", new_email("nobody"))
    assert missing.returncode == 1 and missing.stderr.startswith("USER_NOT_FOUND")


def test_the_first_admin_is_made_once(template_db):
    fresh = template_db.clone("first_admin")
    try:
        with psycopg.connect(fresh.url, autocommit=True) as conn:
            fast_hashing(conn)
        email, password = first_admin(fresh.url)
        assert email == FIRST_ADMIN_EMAIL and len(password) >= 20
        assert first_admin(fresh.url) == (FIRST_ADMIN_EMAIL, None), "the second run makes none and shows no password"
        with psycopg.connect(fresh.url) as conn:
            role, right = conn.execute(
                "SELECT role, crypto.crypt(%s, password_hash) = password_hash FROM accounts.accounts WHERE email = %s",
                [password, email],
            ).fetchone()
        assert role == "admin" and right
    finally:
        fresh.drop()
