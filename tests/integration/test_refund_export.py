"""The SEPA credit-transfer file (pain.001.001.03) for pending refunds."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from tests.support.helpers import assert_ledger_invariants, call_as, issue_card, refund_code, rid
from tests.support.waiting import wait_for

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def test_export_lists_each_pending_refund_once(client, admin_headers, db):
    db.execute("UPDATE core.settings SET value = '\"Festival <Ops> & Co\"' WHERE key = 'cards.refund_debtor_name'")
    db.execute("UPDATE core.settings SET value = '\"DE02120300000000202051\"' WHERE key = 'cards.refund_debtor_iban'")
    # Whatever earlier tests left pending goes into a first file.
    client.post("/rpc/refund_export", headers=admin_headers, json={"request_id": rid()})
    cards = [issue_card(db, balance=b) for b in (1234, 5000)]
    for card, name in zip(cards, ["Zoë O'Brien", "A & B <Ltd>"], strict=True):
        call_as(
            db,
            "anon",
            "SELECT api.refund_request(%s, %s, 'x@example.com', 'FR1420041010050500013M02606', %s, %s)",
            (card, name, rid(), refund_code(card)),
            {},
        )
    key = rid()
    resp = client.post("/rpc/refund_export", headers=admin_headers, json={"request_id": key})
    body = resp.json()
    assert resp.status_code == 200 and body["count"] == 2 and body["total"] == 1034 + 4800
    root = ET.fromstring(body["xml"].encode())
    assert root.tag == f"{{{NS['p']}}}Document"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "58.34"
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:Dbtr/p:Nm", namespaces=NS) == "Festival <Ops> & Co"
    txs = root.findall("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", NS)
    assert [t.findtext("p:Amt/p:InstdAmt", namespaces=NS) for t in txs] == ["10.34", "48.00"]
    assert [t.find("p:Amt/p:InstdAmt", NS).get("Ccy") for t in txs] == ["EUR", "EUR"]
    assert [t.findtext("p:Cdtr/p:Nm", namespaces=NS) for t in txs] == ["Zoë O'Brien", "A & B <Ltd>"]
    assert {t.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) for t in txs} == {"FR1420041010050500013M02606"}
    assert len(root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS)) <= 35
    again = client.post("/rpc/refund_export", headers=admin_headers, json={"request_id": key})
    assert again.json() == body and again.headers["idempotent-replayed"] == "true"
    fresh = client.post("/rpc/refund_export", headers=admin_headers, json={"request_id": rid()})
    assert fresh.json()["count"] == 0, "exported refunds are not exported again"
    statuses = db.execute(
        "SELECT DISTINCT status FROM cards.refund_requests WHERE card_id = ANY(%s)", [cards]
    ).fetchall()
    assert statuses == [("exported",)]


# --- Exports running while refunds are filed ---------------------------------------------


def configure_debtor(db):
    db.execute("UPDATE core.settings SET value = '\"Festival Ops\"' WHERE key = 'cards.refund_debtor_name'")
    db.execute("UPDATE core.settings SET value = '\"DE02120300000000202051\"' WHERE key = 'cards.refund_debtor_iban'")


def desk_refund(conn, card: str) -> int:
    res = call_as(
        conn,
        "staff",
        "SELECT api.refund_request(%s, 'Desk Holder', 'h@example.com', 'DE89370400440532013000', %s)",
        (card, rid()),
    )
    assert "refund_id" in res, res
    return res["refund_id"]


def cents(amount: str) -> int:
    units, _, frac = amount.partition(".")
    return int(units) * 100 + int(frac)


def assert_exports_consistent(db) -> dict[int, int]:
    """Every exported refund is a line of exactly the file it is marked with and of no other,
    no pending refund is in any file, and each file's NbOfTxs/CtrlSum (header and payment
    block), its count/total columns and its rows all agree. Returns refund_id -> export_id."""
    in_file: dict[int, int] = {}
    for export_id, count, total, xml in db.execute(
        "SELECT export_id, count, total, xml FROM cards.refund_exports WHERE xml <> '' ORDER BY export_id"
    ).fetchall():
        root = ET.fromstring(xml.encode())
        txs = root.findall("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", NS)
        ids = [int(t.findtext("p:PmtId/p:EndToEndId", namespaces=NS).removeprefix("REFUND-")) for t in txs]
        amounts = [cents(t.findtext("p:Amt/p:InstdAmt", namespaces=NS)) for t in txs]
        for block in ("p:CstmrCdtTrfInitn/p:GrpHdr", "p:CstmrCdtTrfInitn/p:PmtInf"):
            assert root.findtext(f"{block}/p:NbOfTxs", namespaces=NS) == str(len(txs)) == str(count), export_id
            assert cents(root.findtext(f"{block}/p:CtrlSum", namespaces=NS)) == sum(amounts) == total, export_id
        rows = db.execute(
            "SELECT refund_id, amount FROM cards.refund_requests WHERE export_id = %s ORDER BY refund_id", [export_id]
        ).fetchall()
        assert rows == sorted(zip(ids, amounts, strict=True)), f"file {export_id} and its marked rows differ"
        for refund_id in ids:
            assert refund_id not in in_file, f"refund {refund_id} is in files {in_file[refund_id]} and {export_id}"
            in_file[refund_id] = export_id
    for refund_id, status, export_id in db.execute(
        "SELECT refund_id, status, export_id FROM cards.refund_requests WHERE currency = 'EUR'"
    ).fetchall():
        if status == "pending":
            assert refund_id not in in_file and export_id is None, refund_id
        else:
            assert in_file.get(refund_id) == export_id, f"refund {refund_id} is marked exported but is in no file"
    return in_file


def test_a_refund_filed_during_an_export_is_in_exactly_one_file(db, migrated):
    """Deterministic: an export is held after it wrote its file (another transaction holds its
    message id), a refund is committed and a second export starts meanwhile. The held export
    must mark only what its file holds; the second one takes the new refund."""
    configure_debtor(db)
    db.execute("SELECT cards.refund_export(%s)", [rid()])  # earlier tests' pending refunds
    first = desk_refund(db, issue_card(db, balance=1500))
    held_id, second_id = "HELD-" + rid()[-12:], "NEXT-" + rid()[-12:]
    results: dict[str, dict] = {}

    def export(message_id, conn):
        results[message_id] = conn.execute("SELECT cards.refund_export(%s)", [message_id]).fetchone()[0]

    with (
        psycopg.connect(migrated.url) as blocker,
        psycopg.connect(migrated.url, autocommit=True) as held,
        psycopg.connect(migrated.url, autocommit=True) as later,
    ):
        blocker.execute(
            "INSERT INTO cards.refund_exports (message_id, count, total, xml) VALUES (%s, 0, 0, '')", [held_id]
        )
        waiting = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s"
        t1 = threading.Thread(target=export, args=(held_id, held))
        t1.start()
        wait_for(lambda: db.execute(waiting, [held.info.backend_pid]).fetchone()[0], message="the held export")
        late = desk_refund(db, issue_card(db, balance=2500))  # committed while the export runs
        t2 = threading.Thread(target=export, args=(second_id, later))
        t2.start()
        wait_for(lambda: db.execute(waiting, [later.info.backend_pid]).fetchone()[0], message="the second export")
        blocker.rollback()
        t1.join(30)
        t2.join(30)
    assert results[held_id]["count"] == 1 and results[held_id]["total"] == 1300
    in_file = assert_exports_consistent(db)
    assert in_file[first] == results[held_id]["export_id"]
    assert in_file.get(late) == results[second_id]["export_id"], "the refund filed meanwhile was lost"
    assert results[second_id]["count"] == 1 and results[second_id]["total"] == 2300


def test_exports_under_load_pay_every_refund_exactly_once(server, db, admin_headers, token):
    """Refunds filed from several clients while exports run back to back: afterwards each
    refund is in exactly one file, and every file's totals are its lines."""
    configure_debtor(db)
    cards = [issue_card(db, balance=1000 + 37 * i) for i in range(24)]
    staff = {"Authorization": "Bearer " + token("staff", sub="desk-load")}
    filing_done = threading.Event()
    exported: list[dict] = []

    def file_refunds(chunk):
        with httpx.Client(base_url=server, timeout=60) as c:
            for card in chunk:
                body = {
                    "card_id": card,
                    "name": "Load Holder",
                    "email": "l@example.com",
                    "iban": "DE89370400440532013000",
                    "request_id": rid(),
                }
                resp = c.post("/rpc/refund_request", headers=staff, json=body)
                assert resp.status_code == 200, resp.text

    def export_repeatedly():
        with httpx.Client(base_url=server, timeout=60) as c:
            while not filing_done.is_set():
                resp = c.post("/rpc/refund_export", headers=admin_headers, json={"request_id": rid()})
                assert resp.status_code == 200, resp.text
                exported.append(resp.json())

    with ThreadPoolExecutor(5) as pool:
        exporters = [pool.submit(export_repeatedly) for _ in range(2)]
        filers = [pool.submit(file_refunds, cards[i::3]) for i in range(3)]
        for f in filers:
            f.result()
        filing_done.set()
        for f in exporters:
            f.result()
    final = call_as(db, "admin", "SELECT api.refund_export(%s)", (rid(),))
    in_file = assert_exports_consistent(db)
    ids = [r for (r,) in db.execute("SELECT refund_id FROM cards.refund_requests WHERE card_id = ANY(%s)", [cards])]
    assert len(ids) == len(cards) and all(r in in_file for r in ids), "a refund is in no file"
    assert sum(e["count"] for e in exported) + final["count"] >= len(cards)
    assert_ledger_invariants(db)
