"""Alerts in tests: run the sweep, find a problem's active alert, set up companies."""

from __future__ import annotations

import uuid

import psycopg

from tests.support.helpers import call_as, rid


def sweep(db: psycopg.Connection) -> dict:
    row = db.execute("SELECT active, raised, cleared FROM core.alert_sweep()").fetchone()
    return {"active": row[0], "raised": row[1], "cleared": row[2]}


def active_alert(db: psycopg.Connection, domain: str, kind: str, subject: str) -> dict | None:
    """The problem's open or acknowledged alert, as the api shows it; None when there is none."""
    row = db.execute(
        "SELECT core.alert_json(a) FROM core.alerts a WHERE a.domain = %s AND a.kind = %s AND a.subject = %s "
        "AND a.status <> 'resolved'",
        [domain, kind, subject],
    ).fetchone()
    return row[0] if row else None


def last_alert(db: psycopg.Connection, domain: str, kind: str, subject: str) -> dict:
    """The problem's newest alert, whatever its status."""
    row = db.execute(
        "SELECT core.alert_json(a) FROM core.alerts a WHERE a.domain = %s AND a.kind = %s AND a.subject = %s "
        "ORDER BY a.id DESC LIMIT 1",
        [domain, kind, subject],
    ).fetchone()
    assert row, f"no alert ({domain}, {kind}, {subject})"
    return row[0]


def new_company(db: psycopg.Connection, prefix: str = "co") -> str:
    company = f"{prefix}-{uuid.uuid4().hex[:8]}"
    call_as(db, "admin", "SELECT api.company_create(%s, %s, %s)", (company, "Company " + company, rid()))
    return company


def raise_alert(db: psycopg.Connection, company: str | None, domain: str = "upkeep", kind: str = "test_problem") -> int:
    """An alert raised as the sweep or an upkeep job raises one, about a fresh subject. In
    domain upkeep by default: the sweep clears the other domains' alerts it did not raise."""
    subject = "subject-" + uuid.uuid4().hex[:10]
    return db.execute(
        "SELECT core.alert_raise(%s, %s, %s, %s, 'warning', %s, '{}')",
        [domain, kind, subject, company, f"test problem {subject}"],
    ).fetchone()[0]
