"""Kiosks belong to a company: an operator sees only its company's ATM and self-checkout
kiosks and what hangs off them (jobs, refunds, orders, dashboards), through every api
function an operator may call; another company's rows are not found. Admin sees all."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tests.support.accounts import create_account, fast_hashing
from tests.support.helpers import assert_ledger_invariants, call_as, rid

# What operators may call that is not public (anon) and not DEX's (the DEX tests hold DEX's
# company isolation). A new operator function must be added here with its check.
COVERED = {
    "account_set_password",
    "atm_jobs",
    "atm_kiosk_health",
    "atm_kiosks",
    "atm_refunds_due",
    "atm_refund_settle",
    "atm_transactions",
    "checkout_orders",
    "checkout_refused_orders",
    "dashboard_kiosks",
    "dashboard_overview",
}
DEX_API = Path(__file__).resolve().parents[2] / "sql" / "60_dex" / "90_api.sql"
DEX = set(re.findall(r"^CREATE OR REPLACE FUNCTION api\.(\w+)\(", DEX_API.read_text(), flags=re.M))
# The alert functions' company scoping is tested in test_alerts_api.py.
ALERTS_API = DEX_API.parents[1] / "80_alerts" / "90_api.sql"
ALERTS = set(re.findall(r"^CREATE OR REPLACE FUNCTION api\.(\w+)\(", ALERTS_API.read_text(), flags=re.M))


def company_world(db, company: str) -> dict:
    """A company with an ATM kiosk (a paid job and a refund due) and a checkout kiosk (an order)."""
    call_as(db, "admin", "SELECT api.company_create(%s, %s, %s)", (company, company.title(), rid()))
    atm, shop = f"atm_{company}", f"co_{company}"
    call_as(db, "admin", "SELECT api.atm_kiosk_register(%s, 'ATM', NULL, 0, 5000, %s, %s)", (atm, rid(), company))
    call_as(db, "admin", "SELECT api.checkout_kiosk_register(%s, 'Lane', NULL, %s, %s)", (shop, rid(), company))
    tx = db.execute("SELECT atm.transaction_create(%s, 250)", [atm]).fetchone()[0]
    paid = db.execute(
        "SELECT atm.pay(%s::uuid, %s, %s, 'mined', %s, %s, %s)",
        [
            tx["id"],
            "0x" + secrets.token_hex(8),
            "wp-" + secrets.token_hex(6),
            tx["payment_reference"],
            tx["total"] + 75,
            "t-" + tx["id"],
        ],
    ).fetchone()[0]
    refund = db.execute("SELECT id FROM atm.refunds WHERE transaction_id = %s", [tx["id"]]).fetchone()[0]
    call_as(db, "admin", "SELECT api.catalog_upsert('tea', 'Tea', 250, 'EUR', true, %s)", (rid(),))
    version = db.execute("SELECT checkout.catalog_version()").fetchone()[0]
    order = {
        "idempotency_key": f"{company}-order-1",
        "created_at": datetime.now(UTC).isoformat(),
        "payment_method": "card",
        "currency": "EUR",
        "catalog_version": version,
        "lines": [{"sku": "tea", "qty": 1, "unit_price": 250}],
    }
    refused = {**order, "idempotency_key": f"{company}-order-2", "lines": [{"sku": "tea", "qty": 1, "unit_price": 2.5}]}
    synced = call_as(
        db,
        "kiosk",
        "SELECT api.checkout_sync(%s::jsonb)",
        (psycopg.types.json.Jsonb([order, refused]),),
        claims={"sub": "k", "kiosk_id": shop},
    )
    assert synced["accepted"] == 1 and synced["rejected"] == 1 and paid["job_id"], (synced, paid)
    return {
        "company": company,
        "atm": atm,
        "shop": shop,
        "refund": refund,
        "order": f"{shop}:{company}-order-1",
        "job": paid["job_id"],
        "tx": tx["id"],
    }


@pytest.fixture(scope="module")
def world(migrated):
    with psycopg.connect(migrated.url, autocommit=True) as db:
        return {name: company_world(db, name) for name in ("acme", "globex")}


def operator(company: str | None) -> dict:
    return {"sub": "ops", **({"company_id": company} if company else {})}


def as_operator(db, company, sql, params=()):
    return call_as(db, "operator", sql, params, claims=operator(company))


def test_every_operator_function_of_the_kiosk_domains_is_covered(db):
    callable_by_operator = {
        r[0]
        for r in db.execute("""
        SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace
           AND has_function_privilege('operator', p.oid, 'EXECUTE')
           AND NOT has_function_privilege('anon', p.oid, 'EXECUTE')""")
    }
    assert callable_by_operator - DEX - ALERTS == COVERED


def test_an_operator_reads_its_own_kiosks(world, db):
    a = world["acme"]
    assert as_operator(db, "acme", "SELECT api.atm_kiosk_health(%s)", (a["atm"],))["kiosk_id"] == a["atm"]
    assert [r["refund_id"] for r in as_operator(db, "acme", "SELECT api.atm_refunds_due()")] == [a["refund"]]
    assert [o["order_id"] for o in as_operator(db, "acme", "SELECT api.checkout_orders(NULL, NULL, 100)")] == [
        a["order"]
    ]
    assert [k["kiosk_id"] for k in as_operator(db, "acme", "SELECT api.dashboard_kiosks()")] == [a["shop"]]
    overview = as_operator(db, "acme", "SELECT api.dashboard_overview()")
    assert overview["kiosks"] == 1 and overview["orders_today"] == 1
    assert [k["kiosk_id"] for k in as_operator(db, "acme", "SELECT api.atm_kiosks()")] == [a["atm"]]
    assert [j["job_id"] for j in as_operator(db, "acme", "SELECT api.atm_jobs()")] == [a["job"]]
    day = as_operator(db, "acme", "SELECT api.atm_transactions()")
    assert [t["id"] for t in day["transactions"]] == [a["tx"]] and day["summary"]["transactions"] == 1
    refused = as_operator(db, "acme", "SELECT api.checkout_refused_orders()")
    assert [(r["kiosk_id"], r["idempotency_key"]) for r in refused] == [(a["shop"], "acme-order-2")]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT api.atm_kiosk_health(%(atm)s)",
        "SELECT api.checkout_orders(%(shop)s, NULL, 10)",
        "SELECT api.atm_jobs(NULL, %(atm)s)",
        "SELECT api.atm_transactions(NULL, %(atm)s)",
        "SELECT api.checkout_refused_orders(%(shop)s)",
    ],
)
def test_another_companys_kiosk_is_not_found(world, db, sql):
    b = world["globex"]
    with pytest.raises(psycopg.Error, match="KIOSK_NOT_FOUND"):
        as_operator(db, "acme", sql % {k: f"'{v}'" for k, v in b.items() if isinstance(v, str)})


def test_another_companys_rows_are_absent_from_every_list(world, db):
    b = world["globex"]
    assert as_operator(db, "acme", "SELECT api.atm_refunds_due(%s)", (b["atm"],)) == []
    assert b["refund"] not in {r["refund_id"] for r in as_operator(db, "acme", "SELECT api.atm_refunds_due()")}
    assert b["order"] not in {
        o["order_id"] for o in as_operator(db, "acme", "SELECT api.checkout_orders(NULL, NULL, 100)")
    }
    assert b["shop"] not in {k["kiosk_id"] for k in as_operator(db, "acme", "SELECT api.dashboard_kiosks()")}
    assert b["atm"] not in {k["kiosk_id"] for k in as_operator(db, "acme", "SELECT api.atm_kiosks()")}
    assert b["job"] not in {j["job_id"] for j in as_operator(db, "acme", "SELECT api.atm_jobs()")}
    assert b["tx"] not in {t["id"] for t in as_operator(db, "acme", "SELECT api.atm_transactions()")["transactions"]}
    assert b["shop"] not in {r["kiosk_id"] for r in as_operator(db, "acme", "SELECT api.checkout_refused_orders()")}


def test_another_companys_refund_cannot_be_settled(world, db):
    b = world["globex"]
    with pytest.raises(psycopg.Error, match="ATM_REFUND_NOT_FOUND"):
        as_operator(db, "acme", "SELECT api.atm_refund_settle(%s, 'cash', NULL, NULL, %s)", (b["refund"], rid()))
    assert db.execute("SELECT status FROM atm.refunds WHERE id = %s", [b["refund"]]).fetchone()[0] == "due"
    settled = as_operator(
        db, "globex", "SELECT api.atm_refund_settle(%s, 'cash', NULL, NULL, %s)", (b["refund"], rid())
    )
    assert settled["status"] == "settled", settled
    assert_ledger_invariants(db)


def test_an_operator_sets_only_its_own_password(world, db):
    fast_hashing(db)
    other = create_account(db, "operator", company_id="globex")
    with pytest.raises(psycopg.Error, match="FORBIDDEN: only an admin may set another account's password"):
        as_operator(
            db,
            "acme",
            "SELECT api.account_set_password(%s, 'a new password', %s, 'whatever it is')",
            (other["id"], rid()),
        )


def test_an_operator_without_a_company_sees_no_kiosk(world, db):
    assert as_operator(db, None, "SELECT api.dashboard_kiosks()") == []
    assert as_operator(db, None, "SELECT api.atm_refunds_due()") == []
    assert as_operator(db, None, "SELECT api.checkout_orders(NULL, NULL, 100)") == []
    assert as_operator(db, None, "SELECT api.atm_kiosks()") == []
    assert as_operator(db, None, "SELECT api.atm_jobs()") == []
    assert as_operator(db, None, "SELECT api.checkout_refused_orders()") == []
    assert as_operator(db, None, "SELECT api.atm_transactions()")["summary"]["transactions"] == 0
    with pytest.raises(psycopg.Error, match="KIOSK_NOT_FOUND"):
        as_operator(db, None, "SELECT api.atm_kiosk_health(%s)", (world["acme"]["atm"],))


def test_admin_sees_every_company(world, db):
    shops = {k["kiosk_id"] for k in call_as(db, "admin", "SELECT api.dashboard_kiosks()")}
    assert {world["acme"]["shop"], world["globex"]["shop"]} <= shops
    assert call_as(db, "admin", "SELECT api.atm_kiosk_health(%s)", (world["globex"]["atm"],))["kiosk_id"]
    atms = {k["kiosk_id"] for k in call_as(db, "admin", "SELECT api.atm_kiosks()")}
    assert {world["acme"]["atm"], world["globex"]["atm"]} <= atms
    refused = {r["kiosk_id"] for r in call_as(db, "admin", "SELECT api.checkout_refused_orders()")}
    assert {world["acme"]["shop"], world["globex"]["shop"]} <= refused


def test_a_kiosk_moved_to_a_company_brings_its_history(world, db):
    lone = "co_lone_" + secrets.token_hex(3)
    call_as(db, "admin", "SELECT api.checkout_kiosk_register(%s, 'Lone', NULL, %s)", (lone, rid()))
    assert lone not in {k["kiosk_id"] for k in as_operator(db, "acme", "SELECT api.dashboard_kiosks()")}
    moved = call_as(db, "admin", "SELECT api.kiosk_assign_company(%s, 'acme', %s)", (lone, rid()))
    assert moved["company_id"] == "acme"
    assert lone in {k["kiosk_id"] for k in as_operator(db, "acme", "SELECT api.dashboard_kiosks()")}
    with pytest.raises(psycopg.Error, match="COMPANY_NOT_FOUND"):
        call_as(db, "admin", "SELECT api.kiosk_assign_company(%s, 'nobody', %s)", (lone, rid()))


def test_the_http_api_scopes_by_the_tokens_company(world, client, token):
    b = world["globex"]
    acme = {"Authorization": "Bearer " + token("operator", sub="ops", company_id="acme")}
    resp = client.get("/rpc/atm_kiosk_health", params={"kiosk_id": b["atm"]}, headers=acme)
    assert resp.status_code == 404 and resp.json()["code"] == "KIOSK_NOT_FOUND"
    kiosks = {k["kiosk_id"] for k in client.get("/rpc/dashboard_kiosks", headers=acme).json()}
    assert world["acme"]["shop"] in kiosks and b["shop"] not in kiosks
