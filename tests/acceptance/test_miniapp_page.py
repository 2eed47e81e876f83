"""The ATM customer's page in headless Chromium, inside a fake World App host that speaks
MiniKit's bridge protocol (tests/support/fakes/world_app_host.js): the real page, the real
/atm/pay behind it (World ID and payment lookups answered by the World fake, which accepts
only the proof made for this transaction and the payment the host submitted), and for the
happy path a real dispenser agent paying out on a simulated hopper."""

from __future__ import annotations

import re

import psycopg
import pytest

from rpc.worldid import hash_to_field
from tests.support.atm_pay import atm_kiosk, create_tx, job_count, pay_body
from tests.support.browser import screenshot
from tests.support.dispenser_rig import Rig
from tests.support.fakes import world_fake as world
from tests.support.fakes.world_app import WorldAppHost
from tests.support.helpers import assert_ledger_invariants

PHONE = {"width": 390, "height": 844}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def phone(browser_page):
    browser_page.set_viewport_size(PHONE)
    return browser_page


@pytest.fixture(scope="module")
def kiosk(migrated, server, token):
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        return atm_kiosk(conn, token, "miniapp_")


def open_page(page, server: str, tx: dict) -> None:
    # The pay_url the kiosk shows is this server's page (the default atm.pay_url_base);
    # only the port differs from `make run`'s.
    assert tx["pay_url"].endswith("/miniapp/pay/" + tx["id"])
    page.goto(server + "/miniapp/pay/" + tx["id"])


def wait_state(page, state: str, timeout: float = 15_000) -> None:
    page.wait_for_selector(f'body[data-state="{state}"]', timeout=timeout)


def expect_http_errors(page, status: int) -> None:
    """Chromium logs every non-2xx fetch to the console; an answer the page expects and
    handles (a 404 for an unknown id, a 402 "not mined yet") is no error of the page."""
    log = page.log.console_errors
    log[:] = [e for e in log if f"status of {status} " not in e]


def commands(page) -> list[dict]:
    return [m for m in WorldAppHost.messages(page) if m["command"] != "init"]


def test_verify_pay_dispense_completed(phone, server, client, db, token, world_fake, migrated, tmp_path):
    with Rig(migrated.url, tmp_path) as rig:
        kiosk = rig.kiosk()
        sim = rig.sim(coin_seconds=0.1)  # 2 s of coins: the page shows the payout in progress
        agent = rig.agent(kiosk, sim)
        agent.wait_log("listening on atm_kiosk_" + kiosk.kiosk_id)
        headers = {"Authorization": "Bearer " + token("kiosk", kiosk_id=kiosk.kiosk_id, sub="kiosk:" + kiosk.kiosk_id)}
        tx = create_tx(client, (kiosk.kiosk_id, headers), amount=500)
        host = WorldAppHost(world_fake).install(phone)

        open_page(phone, server, tx)
        wait_state(phone, "ready")
        assert phone.text_content("#quarters") == "20"
        assert phone.text_content("#total") == "$5.50" and phone.text_content("#fee") == "$0.50"
        assert re.fullmatch(r"1[45]:\d\d", phone.text_content("#remaining")), "15 minutes to pay"
        screenshot(phone, "miniapp-ready")

        phone.click("#action")
        wait_state(phone, "dispensing")
        phone.wait_for_function("() => document.querySelector('#progress').value > 0", timeout=10_000)
        screenshot(phone, "miniapp-dispensing")
        wait_state(phone, "completed", timeout=20_000)
        assert "All 20 quarters were dispensed" in phone.text_content("#message")
        screenshot(phone, "miniapp-completed")

        verify, pay = commands(phone)
        assert verify["command"] == "verify" and verify["version"] == 1
        assert verify["payload"]["action"] == world.ACTION
        assert verify["payload"]["signal"] == hash_to_field(tx["id"]), "signal = the transaction id, hashed"
        assert re.fullmatch(r"0x[0-9a-f]{64}", verify["payload"]["signal"])
        assert verify["payload"]["verification_level"] == "orb"
        assert pay["command"] == "pay" and pay["version"] == 1
        assert pay["payload"]["reference"] == tx["payment_reference"]
        assert pay["payload"]["to"] == world.RECIPIENT
        assert pay["payload"]["tokens"] == [{"symbol": "USDCE", "token_amount": "5500000"}], "550 cents, 6 decimals"
        assert pay["payload"]["network"] == "worldchain"

        # The server verified the host's proof for this transaction and booked the payment
        # the host submitted, for the nullifier the host gave.
        [payment] = host.submitted
        checked = [c for c in world_fake.verify_calls if c["nullifier_hash"] == host.nullifier_hash]
        assert [c["signal_hash"] for c in checked] == [hash_to_field(tx["id"])]
        # The person is stored in the nullifier's canonical spelling (no leading zero digits).
        row = db.execute(
            "SELECT status, world_payment_id, nullifier_hash = atm.canonical_nullifier(%s), paid_amount "
            "FROM atm.transactions WHERE id = %s",
            [host.nullifier_hash, tx["id"]],
        ).fetchone()
        assert row == ("completed", payment["transaction_id"], True, 550)
        assert sim.total_paid == 20
        assert_ledger_invariants(db)

        # A second visit: paid and dispensed, nothing to pay.
        phone.reload()
        wait_state(phone, "already-paid")
        assert "all 20 quarters were dispensed" in phone.text_content("#message")
        assert commands(phone) == []
        screenshot(phone, "miniapp-second-visit")
        phone.log.assert_clean()


def test_already_paid_on_a_second_visit(phone, server, client, db, kiosk, world_fake):
    tx = create_tx(client, kiosk, amount=250)
    world_fake.add_payment("wp_miniapp_" + tx["id"], tx["payment_reference"], tx["total"])
    paid = client.post("/atm/pay", json=pay_body(tx, payment_id="wp_miniapp_" + tx["id"]))
    assert paid.status_code == 200, paid.text
    WorldAppHost(world_fake).install(phone)

    open_page(phone, server, tx)
    wait_state(phone, "already-paid")
    assert phone.text_content("#title") == "Already paid"
    assert "dispensing" in phone.text_content("#message")
    assert phone.is_hidden("#action") and phone.is_hidden("#countdown")
    assert commands(phone) == [], "nothing was asked of World App"
    screenshot(phone, "miniapp-already-paid")
    phone.log.assert_clean()


def test_expired(phone, server, client, db, kiosk, world_fake):
    tx = create_tx(client, kiosk)
    db.execute("UPDATE atm.transactions SET expires_at = now() - interval '1 minute' WHERE id = %s", [tx["id"]])
    WorldAppHost(world_fake).install(phone)

    open_page(phone, server, tx)
    wait_state(phone, "expired")
    assert phone.text_content("#title") == "This purchase has expired"
    assert phone.is_hidden("#action")
    assert WorldAppHost.messages(phone) == [], "an expired purchase does not even start MiniKit"
    screenshot(phone, "miniapp-expired")
    phone.log.assert_clean()


def test_expiry_during_the_visit(phone, server, client, db, kiosk, world_fake):
    tx = create_tx(client, kiosk)
    db.execute("UPDATE atm.transactions SET expires_at = now() + interval '1 minute' WHERE id = %s", [tx["id"]])
    WorldAppHost(world_fake).install(phone)
    phone.clock.install()

    open_page(phone, server, tx)
    wait_state(phone, "ready")
    assert re.fullmatch(r"0:[45]\d|1:00", phone.text_content("#remaining"))  # a minute, rounded up
    phone.clock.fast_forward("01:01")
    wait_state(phone, "expired", timeout=5_000)
    assert commands(phone) == []
    phone.log.assert_clean()


def test_declined_when_the_customer_rejects_the_payment(phone, server, client, db, kiosk, world_fake):
    tx = create_tx(client, kiosk)
    host = WorldAppHost(world_fake, pay="user_rejected").install(phone)

    open_page(phone, server, tx)
    wait_state(phone, "ready")
    phone.click("#action")
    wait_state(phone, "declined")
    assert phone.text_content("#title") == "Payment declined"
    assert "cancelled the payment" in phone.text_content("#message")
    assert phone.text_content("#action") == "Try again"
    screenshot(phone, "miniapp-declined")

    assert [m["command"] for m in commands(phone)] == ["verify", "pay"]
    assert host.submitted == []
    assert db.execute("SELECT status FROM atm.transactions WHERE id = %s", [tx["id"]]).fetchone()[0] == "pending"
    assert job_count(db, tx) == 0

    phone.click("#action")  # still payable: back to the start
    wait_state(phone, "ready")
    phone.log.assert_clean()


def test_declined_when_world_id_is_cancelled(phone, server, client, kiosk, world_fake):
    tx = create_tx(client, kiosk)
    WorldAppHost(world_fake, verify="user_rejected").install(phone)

    open_page(phone, server, tx)
    wait_state(phone, "ready")
    phone.click("#action")
    wait_state(phone, "declined")
    assert phone.text_content("#title") == "Not verified"
    assert "cancelled the World ID check" in phone.text_content("#message")
    assert [m["command"] for m in commands(phone)] == ["verify"], "no payment without World ID"
    screenshot(phone, "miniapp-not-verified")
    phone.log.assert_clean()


def test_unanswered_pay_times_out_and_a_late_payment_still_counts(phone, server, client, db, kiosk, world_fake):
    tx = create_tx(client, kiosk)
    host = WorldAppHost(world_fake, pay="silent").install(phone)
    phone.clock.install()  # runs at the real pace until fast-forwarded past the page's wait

    open_page(phone, server, tx)
    wait_state(phone, "ready")
    phone.click("#action")
    wait_state(phone, "paying")
    phone.clock.fast_forward("02:01")
    wait_state(phone, "declined")
    assert phone.text_content("#title") == "No answer from World App"
    screenshot(phone, "miniapp-no-answer")
    assert job_count(db, tx) == 0

    host.answer_pay_late(phone)  # the customer did approve it: the page books it after all
    wait_state(phone, "dispensing")
    assert db.execute("SELECT status FROM atm.transactions WHERE id = %s", [tx["id"]]).fetchone()[0] == "paid"
    assert job_count(db, tx) == 1
    phone.log.assert_clean()


def test_a_payment_not_yet_mined_is_asked_again(phone, server, client, db, kiosk, world_fake):
    tx = create_tx(client, kiosk)
    host = WorldAppHost(world_fake, mined_after_s=1.0).install(phone)

    open_page(phone, server, tx)
    wait_state(phone, "ready")
    phone.click("#action")
    wait_state(phone, "confirming")
    wait_state(phone, "dispensing", timeout=10_000)
    declines = db.execute(
        "SELECT count(*) FROM core.idempotency_responses WHERE scope = %s AND decline_code = 'PAYMENT_NOT_CONFIRMED'",
        ["atm_pay:" + tx["id"]],
    ).fetchone()[0]
    assert declines >= 1, "the first answer was 'not mined yet'; a new request (new key) paid"
    assert (
        db.execute("SELECT world_payment_id FROM atm.transactions WHERE id = %s", [tx["id"]]).fetchone()[0]
        == (host.submitted[0]["transaction_id"])
    )
    expect_http_errors(phone, 402)
    phone.log.assert_clean()


def test_outside_world_app(phone, server, client, kiosk):
    tx = create_tx(client, kiosk)

    open_page(phone, server, tx)
    wait_state(phone, "open-in-world-app")
    assert phone.text_content("#title") == "Open this in World App"
    link = phone.get_attribute("#open-link", "href")
    assert link.startswith("https://world.org/mini-app?app_id=" + world.APP_ID), link
    assert phone.text_content("#total") == "$5.50"
    assert phone.is_visible("#countdown")
    screenshot(phone, "miniapp-outside-world-app")
    phone.log.assert_clean()


def test_unknown_transaction(phone, server):
    phone.goto(server + "/miniapp/pay/00000000-0000-4000-8000-000000000000")
    wait_state(phone, "not-found")
    assert phone.text_content("#title") == "Purchase not found"
    screenshot(phone, "miniapp-not-found")
    expect_http_errors(phone, 404)
    phone.log.assert_clean()
