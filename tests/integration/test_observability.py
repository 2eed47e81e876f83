"""Metrics, request ids and access logs, for every route, with one worker and with several."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import httpx
import orjson
import psycopg

from tests.conftest import JWT_SECRET
from tests.support.database import server_env
from tests.support.helpers import rid
from tests.support.rpc_process import rpc_server
from tests.support.waiting import wait_for


def _samples(text: str, name: str) -> dict[frozenset, float]:
    """{labels: value} of one metric in a Prometheus text exposition."""
    out = {}
    for match in re.finditer(rf"^{name}\{{(.*?)\}} (\S+)$", text, re.M):
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        out[labels] = float(match.group(2))
    return out


def _count(text: str, **labels) -> float:
    want = {(k, str(v)) for k, v in labels.items()}
    return sum(v for k, v in _samples(text, "rpc_requests_total").items() if want <= k)


def test_every_route_is_counted_with_status_code_and_replay(client, admin_headers):
    before = client.get("/metrics").text
    args = {"kind": "card", "owner_ref": None, "currency": "EUR", "lower_bound": 0, "request_id": rid()}
    assert client.post("/rpc/ledger_account_open", json=args, headers=admin_headers).status_code == 200
    again = client.post("/rpc/ledger_account_open", json=args, headers=admin_headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert client.post("/webhooks/stripe", content=b"{}", headers={"stripe-signature": "t=1,v1=00"}).status_code == 400
    assert client.post("/atm/pay", content=b"[]").status_code == 400
    assert client.post("/recharge/checkout", json={}).status_code == 400
    assert client.get("/health").status_code == 200
    assert client.get("/no/such/route").status_code == 404
    assert client.post("/rpc/whoami", content=b"x" * (2 << 20)).status_code == 413
    assert client.post("/rest/v1/rpc/products").status_code == 200  # the Supabase base path
    after = client.get("/metrics").text

    def delta(**labels):
        return _count(after, **labels) - _count(before, **labels)

    assert delta(function="ledger_account_open", status=200, code="", replayed="false") == 1
    assert delta(function="ledger_account_open", status=200, replayed="true") == 1
    assert delta(function="/webhooks/stripe", status=400, code="INVALID_SIGNATURE") == 1
    assert delta(function="/atm/pay", status=400, code="INVALID_REQUEST") == 1
    assert delta(function="/recharge/checkout") == 1
    assert delta(function="/health", status=200) == 1
    assert delta(function="<unknown>", status=404) == 1
    assert delta(function="whoami", status=413, code="PAYLOAD_TOO_LARGE") == 1
    assert delta(function="products", status=200) == 1
    assert "process_cpu_seconds_total" in after and "rpc_pool_size" in after


def test_request_id_is_taken_from_the_client_or_traceparent_or_made(client):
    assert client.get("/health", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    resp = client.post("/rpc/whoami", headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
    assert resp.headers["x-request-id"] == trace
    made = {client.get("/health").headers["x-request-id"] for _ in range(2)}
    assert len(made) == 2 and all(re.fullmatch(r"[0-9a-f]{32}", m) for m in made)
    # Not an id to write into logs and Postgres: a new one instead.
    odd = client.get("/health", headers={"X-Request-Id": "a b\tc" + "x" * 100}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)


def test_postgres_sees_the_request_id_as_application_name(client, admin_headers, migrated):
    request_id = "slow-" + rid()[:20]
    args = {"kind": "card", "owner_ref": None, "currency": "EUR", "lower_bound": 0, "request_id": rid()}
    with psycopg.connect(migrated.url, autocommit=True) as locker, psycopg.connect(migrated.url) as watcher:
        watcher.autocommit = True
        with locker.transaction():
            # The call waits on this lock, so it can be seen in pg_stat_activity meanwhile.
            locker.execute("LOCK TABLE core.idempotency_keys IN EXCLUSIVE MODE")
            answer = {}
            call = threading.Thread(
                target=lambda: answer.update(
                    resp=client.post(
                        "/rpc/ledger_account_open", json=args, headers={**admin_headers, "X-Request-Id": request_id}
                    )
                )
            )
            call.start()
            wait_for(
                lambda: watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = %s", ("kioskledger-rpc " + request_id,)
                ).fetchone(),
                timeout=10,
                message="the request's backend named by its request id",
            )
        call.join(10)
    assert answer["resp"].status_code == 200
    assert answer["resp"].headers["x-request-id"] == request_id


def test_several_workers_count_every_request_and_log_json(migrated, tmp_path):
    env = server_env(migrated, JWT_SECRET, RPC_WORKERS="2", RPC_POOL_MIN="1", RPC_POOL_MAX="4")
    n = 40
    with open(tmp_path / "server.log", "w+") as log:
        with rpc_server(env, output=log) as running:
            for i in range(n):
                # A new connection each time, so the kernel spreads them over the workers.
                resp = httpx.post(running.base + "/rpc/whoami", headers={"X-Request-Id": f"many-{i}"})
                assert resp.status_code == 200
            text = httpx.get(running.base + "/metrics").text
            assert _count(text, function="whoami", status=200) == n
        log.seek(0)
        lines = log.read().splitlines()
    assert running.proc.returncode is not None
    records = []
    for line in lines:
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
    access = [r for r in records if r.get("logger") == "rpc.access" and r["request_id"].startswith("many-")]
    assert len(access) == n
    assert len({r["pid"] for r in access}) == 2, "both workers answered and both log JSON"
    first = next(r for r in access if r["request_id"] == "many-0")
    assert first["method"] == "POST" and first["function"] == "whoami" and first["status"] == 200
    assert first["role"] == "anon" and first["replayed"] is False and first["duration_ms"] > 0
    assert {"code", "sub"} <= set(first)


def test_the_access_log_names_the_caller(migrated, tmp_path, token):
    env = server_env(migrated, JWT_SECRET)
    with open(tmp_path / "server.log", "w+") as log:
        with rpc_server(env, output=log) as running:
            hdr = {"Authorization": "Bearer " + token("staff", sub="alice", pos="bar-1"), "X-Request-Id": "who-1"}
            assert httpx.post(running.base + "/rpc/no_such_function", headers=hdr).status_code == 404
            # Written while the server runs (batched, but within a fraction of a second).
            wait_for(lambda: "who-1" in Path(log.name).read_text(), timeout=5, message="the access-log line")
        log.seek(0)
        records = [orjson.loads(line) for line in log.read().splitlines()]
    (line,) = [r for r in records if r.get("request_id") == "who-1"]
    assert line["role"] == "staff" and line["sub"] == "alice"
    assert line["status"] == 404 and line["code"] == "NOT_FOUND" and line["function"] == "<unknown>"


def test_metrics_directory_is_fresh_for_each_start(migrated, tmp_path):
    shared = tmp_path / "metrics"
    env = server_env(migrated, JWT_SECRET, PROMETHEUS_MULTIPROC_DIR=str(shared))
    for _ in range(2):
        with rpc_server(env, output=subprocess.DEVNULL) as running:
            httpx.post(running.base + "/rpc/whoami")
            assert _count(httpx.get(running.base + "/metrics").text, function="whoami") == 1


def _gauge(text: str, name: str, **labels) -> float:
    want = {(k, str(v)) for k, v in labels.items()}
    (value,) = [v for k, v in _samples(text, name).items() if want <= k] or [None]
    if value is None:
        match = re.search(rf"^{name} (\S+)$", text, re.M)
        assert match, f"{name} is not in the scrape"
        value = float(match.group(1))
    return value


def test_business_gauges_come_from_sql_and_are_cached(client, db):
    first = client.get("/metrics").text
    assert _gauge(first, "kioskledger_ops_gauges_up") == 1
    expected = db.execute("SELECT core.ops_gauges()").fetchone()[0]
    for key in (
        "atm_open_alerts",
        "atm_jobs_needing_reconciliation",
        "ledger_balance_deltas_unfolded",
        "card_refunds_pending",
        "atm_refunds_due",
        "dex_machines_without_recent_data",
    ):
        assert _gauge(first, f"kioskledger_{key}") == expected[key], key
    assert _gauge(first, "kioskledger_kiosks_offline", kind="atm") == expected["kiosks_offline"]["atm"]
    assert _gauge(first, "kioskledger_kiosks_offline", kind="checkout") == expected["kiosks_offline"]["checkout"]
    for severity in ("critical", "warning", "info"):
        assert _gauge(first, "kioskledger_open_alerts", kind=severity) == expected["open_alerts"][severity]

    alerts = _gauge(first, "kioskledger_atm_open_alerts")
    offline = _gauge(first, "kioskledger_kiosks_offline", kind="atm")
    deltas = _gauge(first, "kioskledger_ledger_balance_deltas_unfolded")
    kiosk = "gauge_" + rid()[-10:]
    db.execute("INSERT INTO atm.alerts (kind, message) VALUES ('test', 'open')")
    db.execute("INSERT INTO kiosk.kiosks (kiosk_id, kind, name) VALUES (%s, 'atm', 'never seen')", (kiosk,))
    db.execute("INSERT INTO ledger.balance_deltas (account_id, amount) VALUES (0, 1)")
    try:
        # Within the cache's few seconds a scrape answers the numbers it read...
        assert _gauge(client.get("/metrics").text, "kioskledger_atm_open_alerts") == alerts

        # ... and after them, the database's new ones.
        def reread():
            text = client.get("/metrics").text
            return text if _gauge(text, "kioskledger_atm_open_alerts") > alerts else None

        fresh = wait_for(
            reread,
            timeout=15,
            interval=0.5,
            message="the gauges read again after the cache expired",
        )
        assert _gauge(fresh, "kioskledger_atm_open_alerts") == alerts + 1
        assert _gauge(fresh, "kioskledger_kiosks_offline", kind="atm") == offline + 1
        assert _gauge(fresh, "kioskledger_ledger_balance_deltas_unfolded") == deltas + 1
    finally:
        db.execute("DELETE FROM ledger.balance_deltas WHERE account_id = 0")
        db.execute("DELETE FROM kiosk.kiosks WHERE kiosk_id = %s", (kiosk,))
        db.execute("DELETE FROM atm.alerts WHERE kind = 'test'")


def test_a_scrape_without_the_database_gauges_still_answers(migrated, tmp_path):
    env = server_env(migrated, JWT_SECRET)
    with rpc_server(env, output=subprocess.DEVNULL) as running, psycopg.connect(migrated.url, autocommit=True) as conn:
        conn.execute("REVOKE EXECUTE ON FUNCTION core.ops_gauges(interval) FROM authenticator")
        try:
            resp = httpx.get(running.base + "/metrics")
        finally:
            conn.execute("GRANT EXECUTE ON FUNCTION core.ops_gauges(interval) TO authenticator")
    assert resp.status_code == 200
    assert _gauge(resp.text, "kioskledger_ops_gauges_up") == 0
    assert "kioskledger_atm_open_alerts" not in resp.text
    assert "rpc_requests_total" in resp.text
