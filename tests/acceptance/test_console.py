"""The operator console in a real browser (Debian's Chromium, tests/support/browser.py):
every page renders the seeded database's numbers (tests/support/console_seed.py), the
reconcile form settles a job, the SEPA file downloads, alerts arrive live; each page runs
without a console error or a request off this machine, and leaves a screenshot."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest

from tests.conftest import JWT_SECRET
from tests.support.accounts import PASSWORD, create_account, fast_hashing
from tests.support.answers import ok
from tests.support.browser import screenshot
from tests.support.console_seed import EXPORTED_IBAN, PENDING_IBAN, Seed, checkout_heartbeat, seed_all
from tests.support.helpers import rid

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
SESSION_KEY = "kioskledger.console.session"


def console_session(page, server: str, email: str, password: str = PASSWORD) -> None:
    """Sign the browser tab in through the login page, as a person would."""
    page.goto(server + "/console/login.html")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()
    expect(page).not_to_have_url(server + "/console/login.html")


@pytest.fixture(scope="module")
def seed(server, migrated, token, world_fake) -> Seed:
    import psycopg

    with psycopg.connect(migrated.url, autocommit=True) as conn:
        fast_hashing(conn)
        return seed_all(server, conn, token, world_fake)


@pytest.fixture(scope="module")
def console_admin(migrated, seed) -> dict:
    import psycopg

    with psycopg.connect(migrated.url, autocommit=True) as conn:
        return create_account(conn, "admin", display_name="Ada Admin")


@pytest.fixture
def admin_page(browser_page, server, console_admin):
    console_session(browser_page, server, console_admin["email"])
    return browser_page


def row(page, testid: str, text: str):
    return page.locator(f"[data-testid={testid}] tbody tr", has_text=text)


def settle(page, name: str) -> None:
    """The page finished its calls; it logged nothing wrong; its picture is kept."""
    page.wait_for_load_state("networkidle")
    screenshot(page, f"console-{name}")
    page.log.assert_clean()


def test_console_is_served_with_a_strict_policy(client):
    resp = client.get("/console", follow_redirects=True)
    assert resp.status_code == 200 and str(resp.url).endswith("/console/")
    policy = resp.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    assert resp.headers["x-frame-options"] == "DENY"
    vendored = client.get("/console/vendor/uplot/uPlot.esm.js")
    assert vendored.status_code == 200 and "javascript" in vendored.headers["content-type"]
    assert client.get("/console/vendor/uplot/LICENSE").status_code == 200


def test_without_a_session_the_console_asks_to_sign_in(browser_page, server):
    browser_page.goto(server + "/console/atm.html")
    expect(browser_page).to_have_url(server + "/console/login.html?next=atm.html")
    expect(browser_page.locator("#login-form")).to_be_visible()
    settle(browser_page, "login")


def stored_session(page) -> dict | None:
    return page.evaluate("key => JSON.parse(sessionStorage.getItem(key))", SESSION_KEY)


def test_login_keeps_the_session_refreshes_it_and_logs_out(browser_page, server, db, console_admin):
    """The real /auth/login, /auth/refresh and /auth/logout behind the login page: a
    61-second access token is refreshed a minute ahead (so at once), and logging out ends
    the session in SQL."""
    page = browser_page
    db.execute("UPDATE core.settings SET value = '61' WHERE key = 'accounts.access_token_seconds'")
    try:
        page.goto(server + "/console/vending.html")
        expect(page).to_have_url(server + "/console/login.html?next=vending.html")
        page.locator("#email").fill(console_admin["email"])
        page.locator("#password").fill(PASSWORD)
        page.locator("#login-submit").click()
        expect(page).to_have_url(server + "/console/vending.html")
        expect(page.get_by_test_id("who")).to_have_text("Ada Admin · admin")
        expect(row(page, "fleet-table", "SNACK-1")).to_contain_text("Central Station")
        first = stored_session(page)["refresh_token"]
        page.wait_for_function(
            "([key, first]) => JSON.parse(sessionStorage.getItem(key)).refresh_token !== first",
            arg=[SESSION_KEY, first],
            timeout=8000,
        )
    finally:
        db.execute("UPDATE core.settings SET value = '900' WHERE key = 'accounts.access_token_seconds'")
    current = stored_session(page)["refresh_token"]
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(server + "/console/login.html")
    assert stored_session(page) is None
    spent = httpx.post(server + "/auth/refresh", json={"refresh_token": current}, timeout=10)
    assert spent.status_code == 401 and spent.json()["code"] == "INVALID_REFRESH_TOKEN", spent.text
    page.log.assert_clean()


def test_a_refused_token_is_refreshed_and_the_call_retried(browser_page, server, console_admin):
    """A tab back from sleep: its access token has expired (401), the page refreshes it with
    its refresh token once (one refresh for the page's parallel calls) and repeats the call."""
    page = browser_page
    session = ok(httpx.post(server + "/auth/login", json={"email": console_admin["email"], "password": PASSWORD}))
    refreshes: list[dict] = []
    page.on("request", lambda r: r.url.endswith("/auth/refresh") and refreshes.append(r.post_data_json))
    page.goto(server + "/console/login.html")
    now = int(time.time())
    expired = jwt.encode(
        {"sub": console_admin["id"], "role": "admin", "iat": now - 120, "exp": now - 60}, JWT_SECRET, algorithm="HS256"
    )
    page.evaluate(
        "([key, token, refresh]) => sessionStorage.setItem(key, JSON.stringify({access_token: token,"
        " refresh_token: refresh, expires_at: Date.now() + 3600000, account: null}))",
        [SESSION_KEY, expired, session["refresh_token"]],
    )
    page.goto(server + "/console/checkout.html")
    expect(row(page, "fleet-table", "Back checkout")).to_contain_text("offline")
    assert refreshes == [{"refresh_token": session["refresh_token"]}]
    assert stored_session(page)["refresh_token"] != session["refresh_token"]
    assert page.log.page_errors == []  # the browser logs the refused 401s itself: no assert_clean


def test_a_refused_login_says_why(browser_page, server, db):
    """A wrong password in words; repeated, the lockout in minutes to wait."""
    page = browser_page
    account = create_account(db, "staff")
    page.goto(server + "/console/login.html")
    message = page.locator("#login-message")
    page.locator("#email").fill(account["email"])
    page.locator("#password").fill("not the password")
    page.locator("#login-submit").click()
    expect(message).to_have_text("Wrong email or password.")
    for _ in range(6):
        message.evaluate("node => { node.textContent = '' }")
        page.locator("#login-submit").click()
        expect(message).not_to_have_text("")
        if "locked" in message.text_content():
            break
    expect(message).to_have_text(re.compile(r"locked\. Try again in 1[45] minutes\."))
    expect(page).to_have_url(server + "/console/login.html")
    assert page.log.page_errors == []  # the browser logs the refused answers itself: no assert_clean


def test_an_operator_signed_in_with_a_token_sees_its_own_company(browser_page, server, token, seed):
    """The login page's token form (for a server without accounts): an operator of acme gets
    the kiosk and vending pages, not the festival's, and only acme's machines and kiosks."""
    page = browser_page
    page.goto(server + "/console/login.html")
    page.locator("summary", has_text="Sign in with a token").click()
    page.locator("#token").fill(token("operator", sub="olga", company_id="acme"))
    page.get_by_role("button", name="Use this token").click()
    expect(page).to_have_url(server + "/console/atm.html")
    expect(page.get_by_test_id("who")).to_have_text("olga · operator · acme")
    expect(page.locator("header nav a")).to_have_text(["ATM", "Self-checkout", "Vending", "Alerts"])
    expect(page.get_by_test_id("kiosk-health-table")).to_have_text("No ATM kiosk registered.")  # lobby has no company
    page.goto(server + "/console/vending.html")
    expect(row(page, "fleet-table", "SNACK-1")).to_contain_text("Central Station")
    settle(page, "vending-operator")
    page.goto(server + "/console/festival.html")
    expect(page.locator("main")).to_contain_text("This page is for admin accounts")
    page.log.assert_clean()


def test_festival_page_and_the_sepa_files(admin_page, server, seed, db, tmp_path):
    page = admin_page
    page.goto(server + "/console/festival.html")
    expect(row(page, "sales-totals", "bar-1")).to_contain_text("€12.00")
    expect(row(page, "sales-totals", "bar-2")).to_contain_text("€13.50")
    expect(page.locator("[data-testid=sales-chart] canvas").first).to_be_attached()
    beer = row(page, "top-products-table", "Beer")
    expect(beer).to_contain_text("22.50")
    expect(beer.locator("td").nth(2)).to_have_text("5")
    expect(row(page, "recharges-table", "cp-south")).to_contain_text("€60.00")
    expect(row(page, "recharges-table", "online")).to_contain_text("stripe")
    debt = row(page, "cards-attention-table", "FESTF006")
    expect(debt).to_contain_text("blocked")
    expect(debt).to_contain_text("€9.00")
    expect(page.locator("[data-testid=refunds]")).to_contain_text("1 pending · €23.00")
    expect(page.locator("[data-testid=refunds]")).to_contain_text("1 exported · €13.00")
    expect(row(page, "refund-list", "FESTE005")).to_contain_text("pending")
    settle(page, "festival")

    # The file exported before: downloaded again from the list.
    export_id = seed.first_export["export_id"]
    with page.expect_download() as first:
        page.locator(f"button[data-export-id='{export_id}']").click()
    earlier = Path(first.value.path()).read_text()
    assert first.value.suggested_filename.endswith(".xml")
    assert "<NbOfTxs>1</NbOfTxs>" in earlier and EXPORTED_IBAN in earlier and '<InstdAmt Ccy="EUR">13.00' in earlier

    # The pending refund: exported now, its file downloaded at once.
    with page.expect_download() as fresh:
        page.get_by_test_id("refund-export").click()
    sepa = Path(fresh.value.path()).read_text()
    assert PENDING_IBAN in sepa and "<CtrlSum>23.00</CtrlSum>" in sepa and EXPORTED_IBAN not in sepa
    expect(page.locator("[data-testid=refunds]")).to_contain_text("0 pending")
    assert db.execute("SELECT status FROM cards.refund_requests WHERE card_id = 'FESTE005'").fetchone() == ("exported",)
    assert db.execute("SELECT count(*) FROM cards.refund_exports").fetchone() == (2,)
    page.log.assert_clean()


def test_atm_page_and_a_reconciliation(admin_page, server, seed, db):
    page = admin_page
    page.goto(server + "/console/atm.html")
    lobby = row(page, "kiosk-health-table", "Lobby ATM")
    expect(lobby).to_contain_text("attention")
    expect(lobby.locator("td").nth(6)).to_have_text("1")  # to reconcile
    expect(row(page, "queue-table", f"#{seed.atm_jobs['queued']}")).to_contain_text("pending")
    expect(row(page, "queue-table", f"#{seed.atm_jobs['unknown']}")).to_contain_text("needs reconciliation")
    summary = page.get_by_test_id("transactions-summary")
    for text in ("4 transactions", "3 paid", "1 completed", "sold $17.50", "fees $1.50"):
        expect(summary).to_contain_text(text)
    expect(page.locator("[data-testid=transactions-table] tbody tr")).to_have_count(4)
    settle(page, "atm")

    job = seed.atm_jobs["unknown"]
    form = page.locator(f"form[data-job-id='{job}']")
    form.locator("input[name=coins_paid]").fill("40")
    form.locator("input[name=note]").fill("hopper counter read: 40 paid")
    form.get_by_role("button", name="Reconcile").click()
    expect(page.get_by_test_id("reconcile-message")).to_contain_text(f"Job {job} is now completed")
    expect(page.get_by_test_id("reconciliation-list")).to_have_text("No job needs reconciliation.")
    assert db.execute("SELECT status, coins_paid FROM atm.dispense_jobs WHERE id = %s", [job]).fetchone() == (
        "completed",
        40,
    )
    expect(row(page, "kiosk-health-table", "Lobby ATM")).to_contain_text("healthy")
    page.log.assert_clean()


def test_self_checkout_page(admin_page, server, seed):
    with httpx.Client(base_url=server, timeout=30) as c:
        checkout_heartbeat(c, seed)
    page = admin_page
    page.goto(server + "/console/checkout.html")
    tiles = page.get_by_test_id("overview-tiles")
    for key, value in [
        ("kiosks", "2"),
        ("online", "1"),
        ("offline", "1"),
        ("orders_today", "2"),
        ("revenue_today", "€9.90"),
        ("pending_orders", "3"),
        ("refused_orders", "1"),
    ]:
        expect(tiles.locator(f"[data-tile={key}] .value")).to_have_text(value)
    expect(tiles.locator("[data-tile=oldest_unsynced] .value")).to_have_text("10 min")
    front = row(page, "fleet-table", "Front checkout")
    expect(front).to_contain_text("online")
    expect(front).to_contain_text("1.4.2")
    expect(row(page, "fleet-table", "Back checkout")).to_contain_text("offline")
    expect(row(page, "refused-table", "co_front")).to_contain_text("bad_unit_price")
    settle(page, "checkout")


def test_vending_fleet_pick_list_and_machine(admin_page, server, seed, db):
    page = admin_page
    page.goto(server + "/console/vending.html")
    machine = row(page, "fleet-table", "SNACK-1")
    expect(machine).to_contain_text("Central Station")
    expect(machine).to_contain_text("-0.5 °C (target 4.0 °C)")
    expect(machine).to_contain_text("€12.00")  # in the coin tubes
    expect(machine).to_contain_text("EJJ")
    expect(machine).to_contain_text("recent")
    expect(row(page, "van-load", "Cola 33cl")).to_contain_text("3")
    expect(row(page, "pick-slots", "P-CHIPS").locator("td").last).to_have_text("2")
    settle(page, "vending")

    machine.get_by_role("link", name="SNACK-1").click()
    expect(page).to_have_url(server + "/console/machine.html?serial=SNACK-1")
    expect(row(page, "slots-table", "Cola 33cl")).to_contain_text("€1.50")
    expect(row(page, "slots-table", "P-CHIPS")).to_contain_text("€34.00")
    today = datetime.now(UTC).date().isoformat()
    sold = row(page, "machine-sales-table", today)
    expect(sold).to_contain_text("€9.50")
    expect(sold.locator("td").nth(1)).to_have_text("6")
    expect(page.locator("[data-testid=machine-sales-chart] canvas").first).to_be_attached()
    expect(row(page, "faults-table", "CJ06")).to_contain_text("open")
    settle(page, "vending-machine")

    fault = row(page, "faults-table", "EJJ")
    fault.locator("input[name=note]").fill("jam cleared on site")
    fault.get_by_role("button", name="Resolve").click()
    expect(row(page, "faults-table", "EJJ")).to_contain_text("resolved")
    expect(row(page, "faults-table", "EJJ")).to_contain_text("jam cleared on site")
    assert db.execute("SELECT resolution_note FROM dex.machine_errors WHERE code = 'EJJ'").fetchone() == (
        "jam cleared on site",
    )
    page.log.assert_clean()


def test_alerts_arrive_live_and_are_acknowledged_and_resolved(admin_page, server, seed, db, world_fake, console_admin):
    from tests.support.atm_pay import pay_body

    admin = seed.admin
    page = admin_page
    page.goto(server + "/console/alerts.html")
    expect(page.get_by_test_id("live")).to_have_text("live")
    with httpx.Client(base_url=server, timeout=30) as c:
        before = {a["id"] for a in ok(c.get("/rpc/alerts", params={"status": "open"}, headers=admin))["alerts"]}
        # A payout whose result is unknown: an ATM alert, raised while the page is open.
        kiosk = seed.kiosk["lobby"]
        tx = ok(c.post("/rpc/atm_transaction_create", headers=kiosk, json={"amount": 100, "request_id": rid()}))
        body = pay_body(tx)
        world_fake.add_payment(body["payment"]["transaction_id"], tx["payment_reference"], tx["total"])
        ok(c.post("/atm/pay", json=body))
        job = ok(c.post("/rpc/dispense_claim", json={}, headers=kiosk))
        ok(
            c.post(
                "/rpc/dispense_begin", headers=kiosk, json={"job_id": job["job_id"], "claim_token": job["claim_token"]}
            )
        )
        ok(
            c.post(
                "/rpc/dispense_unknown",
                headers=kiosk,
                json={"job_id": job["job_id"], "claim_token": job["claim_token"], "evidence": {"reason": "test"}},
            )
        )
        # The schedule's sweep (each minute), run now.
        db.execute("SELECT core.alert_sweep()")
        after = ok(c.get("/rpc/alerts", params={"status": "open", "domain": "atm"}, headers=admin))["alerts"]
        new = [a for a in after if a["id"] not in before and a["subject"] == f"job:{job['job_id']}"]
        assert len(new) == 1, after
        alert = new[0]
        assert alert["kind"] == "reconciliation_needed" and alert["severity"] == "critical"
        shown = page.locator(f"[data-testid=alerts-table] tr[data-alert-id='{alert['id']}']")
        expect(shown).to_contain_text(alert["message"])  # pushed: the page was not reloaded
        shown.get_by_role("button", name="Acknowledge").click()
        expect(shown).to_have_count(0)  # no longer open
        page.locator("select[name=status]").select_option("acknowledged")
        expect(shown).to_contain_text(f"acknowledged by {console_admin['id']}")  # the signed-in account
        shown.locator("input[name=note]").fill("counted by hand")
        shown.get_by_role("button", name="Resolve").click()
        expect(shown).to_have_count(0)
        resolved = ok(c.get("/rpc/alerts", params={"status": "resolved", "domain": "atm"}, headers=admin))["alerts"]
        assert alert["id"] in {a["id"] for a in resolved}
    settle(page, "alerts")
