"""The SEPA credit-transfer file (pain.001.001.03) for pending refunds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.support.helpers import call_as, issue_card, refund_code, rid

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
