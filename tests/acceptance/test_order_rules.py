"""The edge and the central judged against one table of orders (tests/support/order_cases.py),
so their order rules cannot drift apart: one real edge process and one real RPC server on
this module's database. Each case goes to the edge's local API (an order it acknowledges
must then be accepted by the central when the edge syncs it) and, as the order the edge
would send, straight to api.checkout_sync as another checkout kiosk. Then the batches: the
edge's sync calls stay within the central's checkout.max_batch and its request size limit."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from checkout_edge import central as edge_central
from checkout_edge.app import EdgeError, sale_time
from rpc.dispatch import MAX_BODY
from tests.support.edge_process import FAST, EdgeProcess, FlakyLink
from tests.support.helpers import rpc_ok
from tests.support.order_cases import (
    CASES,
    CATALOG,
    LONG_SKU,
    MAX_LINES,
    MAX_QTY,
    accepted,
    central_order,
    line,
    order_total,
    sale,
    table_problems,
)
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CASE_IDS = [c.id for c in CASES]


def _register(client: httpx.Client, admin: dict, prefix: str) -> str:
    kiosk_id = f"{prefix}_{secrets.token_hex(4)}"
    rpc_ok(client, admin, "checkout_kiosk_register", kiosk_id=kiosk_id, name=kiosk_id, location=None)
    return kiosk_id


@pytest.fixture(scope="module")
def shop(server, token):
    """The cases' catalog, an edge kiosk and a kiosk that syncs the cases' orders directly."""
    admin = {"Authorization": "Bearer " + token("admin", sub="test-admin")}
    with httpx.Client(base_url=server, timeout=30) as c:
        for sku, name, price, currency, active in CATALOG:
            rpc_ok(c, admin, "catalog_upsert", sku=sku, name=name, price=price, currency=currency, active=active)
        version = c.get("/rpc/catalog").json()["version"]
        edge_kiosk, direct_kiosk = _register(c, admin, "oc_edge"), _register(c, admin, "oc_direct")
    return {
        "version": version,
        "edge_kiosk": edge_kiosk,
        "direct_kiosk": direct_kiosk,
        "direct": {"Authorization": "Bearer " + token("kiosk", sub=f"kiosk:{direct_kiosk}", kiosk_id=direct_kiosk)},
    }


@pytest.fixture(scope="module")
def edge(server, token, shop, tmp_path_factory):
    """One edge process for the module, its link to the central behind a proxy."""
    link = FlakyLink(urlsplit(server).hostname, urlsplit(server).port)
    kiosk_id = shop["edge_kiosk"]
    proc = EdgeProcess(
        link.url,
        token("kiosk", sub=f"kiosk:{kiosk_id}", kiosk_id=kiosk_id),
        str(tmp_path_factory.mktemp("edge") / "edge.db"),
        **FAST,
    )
    proc.start()
    try:
        with proc.client() as c:
            wait_for(
                lambda: c.get("/edge/status").json()["catalog"]["version"] == shop["version"],
                message="the cases' catalog at the edge",
            )
        yield proc, link, kiosk_id
    finally:
        proc.kill()
        link.close()


def _post(c: httpx.Client, path: str, body) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return c.post(path, content=content, headers={"Content-Type": "application/json"})


def _keys(c: httpx.Client) -> set[str]:
    return {o["idempotency_key"] for o in c.get("/edge/orders", params={"limit": 1000}).json()["orders"]}


def _assert_refusal(verdict: str, status: int, body: dict) -> None:
    want_status, _, fragment = verdict.partition(" ")
    assert status == int(want_status), (verdict, status, body)
    text = " ".join(str(body.get(k) or "") for k in ("code", "message", "hint"))
    assert fragment in text, (verdict, body)


# -- the table itself -------------------------------------------------------------------


def test_the_table_never_has_the_edge_acknowledge_what_the_central_refuses():
    assert table_problems() == []


def test_the_table_covers_every_refusal_of_the_central():
    sql = (ROOT / "sql" / "50_checkout" / "10_checkout.sql").read_text()
    reasons = set(re.findall(r"'((?:bad|invalid|unknown)_[a-z_]+|currency_mismatch)'", sql))
    covered = {c.central.split()[1] for c in CASES if c.central.startswith("rejected ")}
    assert reasons and reasons - covered == set(), "a refusal of checkout.sync that no case exercises"


# -- the edge: its local API, and the central's answer for what it acknowledged ----------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_edge(case, edge, db):
    proc, _, kiosk_id = edge
    if case.clock is not None:
        # The kiosk clock cannot be set from outside the edge process: judge the time
        # stamp its checkout takes (the central's side of these cases sends that stamp).
        try:
            sale_time(case.clock)
        except EdgeError as err:
            _assert_refusal(case.edge, err.status, {"code": err.code, "message": err.message, "hint": err.hint})
        else:
            assert accepted(case.edge), f"the edge stamps a sale at {case.clock}"
        return
    with proc.client() as c:
        before = _keys(c)
        r = _post(c, "/edge/checkout", case.ui_request())
        if not accepted(case.edge):
            _assert_refusal(case.edge, r.status_code, r.json())
            assert _keys(c) == before, "a refused checkout stores nothing"
            return
        assert r.status_code == 201, r.text
        key = r.json()["idempotency_key"]
        synced = c.post("/edge/sync")
        assert synced.status_code == 200, synced.text
        mine = [
            o for o in c.get("/edge/orders", params={"limit": 1000}).json()["orders"] if o["idempotency_key"] == key
        ]
        assert [(o["sync_state"], o["central_status"]) for o in mine] == [("synced", "accepted")], mine
    stored = db.execute("SELECT total FROM checkout.orders WHERE order_id = %s", [f"{kiosk_id}:{key}"]).fetchone()
    assert stored == (r.json()["total"],), "the central booked what the edge charged"


# -- the central: the order the edge would send, straight to api.checkout_sync ----------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_central(case, client, shop, db):
    order = central_order(case, shop["version"])
    body = b'{"orders": [' + order + b"]}" if isinstance(order, bytes) else json.dumps({"orders": [order]}).encode()
    r = client.post("/rpc/checkout_sync", content=body, headers={**shop["direct"], "Content-Type": "application/json"})
    kind, _, detail = case.central.partition(" ")
    if kind not in ("accepted", "rejected"):
        assert (r.status_code, r.json()["code"]) == (int(kind), detail), r.text
        return
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    if kind == "rejected":
        assert (result["status"], result.get("reason")) == ("rejected", detail), result
        return
    assert (result["status"], result["total"]) == ("accepted", order_total(order)), result
    flags = db.execute(
        "SELECT coalesce(array_agg(DISTINCT price_flag) FILTER (WHERE price_flag IS NOT NULL), '{}') "
        "FROM checkout.order_lines WHERE order_id = %s",
        [result["order_id"]],
    ).fetchone()[0]
    assert flags == ([detail] if detail else []), f"price flags {flags}"


# -- batches ------------------------------------------------------------------------------


def _sell_offline_then_sync(proc, link, bodies: list[dict]) -> None:
    link.down()
    try:
        with proc.client() as c:
            for body in bodies:
                r = _post(c, "/edge/checkout", body)
                assert r.status_code == 201, r.text
    finally:
        link.up()
    with proc.client() as c:
        wait_for(lambda: c.get("/edge/status").json()["link_up"], message="the link observed up")
        r = c.post("/edge/sync")
        assert r.status_code == 200 and r.json()["pending"] == 0, r.text


def _batches_since(db, kiosk_id: str, after_id: int) -> list[int]:
    return [
        n
        for (n,) in db.execute(
            "SELECT orders FROM checkout.sync_batches WHERE kiosk_id = %s AND id > %s ORDER BY id", [kiosk_id, after_id]
        ).fetchall()
    ]


def _last_batch_id(db) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM checkout.sync_batches").fetchone()[0]


def test_edge_batches_stay_within_the_centrals_max_batch(edge, db):
    proc, link, kiosk_id = edge
    mark = _last_batch_id(db)
    db.execute("UPDATE core.settings SET value = '7' WHERE key = 'checkout.max_batch'")
    try:
        with proc.client() as c:
            wait_for(
                lambda: c.get("/edge/status").json()["catalog"].get("max_batch") == 7,
                message="the central's max_batch at the edge",
            )
        _sell_offline_then_sync(proc, link, [sale(key=f"batch-max-{i:03d}") for i in range(20)])
    finally:
        db.execute("UPDATE core.settings SET value = '500' WHERE key = 'checkout.max_batch'")
        with proc.client() as c:
            wait_for(
                lambda: c.get("/edge/status").json()["catalog"].get("max_batch") == 500,
                message="max_batch back to 500 at the edge",
            )
    batches = _batches_since(db, kiosk_id, mark)
    assert sum(batches) == 20 and max(batches) <= 7, batches


def test_edge_batches_fit_the_centrals_request_size_limit(edge, db):
    # The biggest orders the rules allow, as many as one default batch (100) holds: their
    # payloads add up to more than the central takes in one request.
    proc, link, kiosk_id = edge
    with proc.client() as c:
        assert c.get("/edge/status").json()["batch_size"] == 100
    mark = _last_batch_id(db)
    keys = [f"batch-body-{i:03d}-" + "x" * 113 for i in range(100)]
    _sell_offline_then_sync(proc, link, [sale(*[line(LONG_SKU, MAX_QTY)] * MAX_LINES, key=k) for k in keys])
    with sqlite3.connect(proc.db_path) as conn:
        size = conn.execute(
            "SELECT sum(length(payload)) FROM orders WHERE idempotency_key LIKE 'batch-body-%'"
        ).fetchone()[0]
    assert size > MAX_BODY, "the orders must not fit one request, or this test proves nothing"
    batches = _batches_since(db, kiosk_id, mark)
    assert sum(batches) == len(keys) and len(batches) == 2, batches


def test_the_edge_knows_the_centrals_request_size_limit():
    assert edge_central.MAX_SYNC_BODY == MAX_BODY
