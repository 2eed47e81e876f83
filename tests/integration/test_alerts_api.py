"""api.alerts, api.alert_acknowledge, api.alert_resolve over HTTP, and the live stream GET
/events: company scoping, idempotency, wrong roles and unknown ids, the stream's format,
its reconnect cursor, its authentication, and streams that end leaving nothing behind."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from kioskledger.ops.tokens import make_token
from tests.conftest import JWT_SECRET
from tests.support.alerts import new_company, raise_alert
from tests.support.answers import assert_error, bearer, ok
from tests.support.database import server_env
from tests.support.helpers import rid
from tests.support.rpc_process import rpc_server
from tests.support.sse import alerts_until, frames
from tests.support.waiting import wait_for

MAX_STREAMS = 4


@pytest.fixture(scope="module")
def server(migrated, tmp_path_factory):
    """This module's own server: keep-alives every second (a stream's reads never wait
    long) and a small stream limit to reach."""
    env = server_env(migrated, JWT_SECRET, RPC_EVENTS_KEEPALIVE_MS="1000", RPC_EVENTS_MAX_STREAMS=str(MAX_STREAMS))
    with open(tmp_path_factory.mktemp("rpc") / "server.log", "w") as log, rpc_server(env, output=log) as running:
        yield running.base


@pytest.fixture(scope="module")
def world(migrated):
    """Two companies and an alert each, plus one of no company."""
    import psycopg

    with psycopg.connect(migrated.url, autocommit=True) as db:
        a, b = new_company(db, "acme"), new_company(db, "bolt")
        return {
            "a": a,
            "b": b,
            "alert_a": raise_alert(db, a),
            "alert_b": raise_alert(db, b),
            "alert_none": raise_alert(db, None),
        }


def hdr(token, role, **claims):
    return bearer(token(role, sub=f"{role}-{claims.get('company_id', 'x')}", **claims))


def ids(resp) -> set[int]:
    return {a["id"] for a in ok(resp)["alerts"]}


def test_each_caller_sees_its_own_alerts(client, token, world):
    admin = ids(client.get("/rpc/alerts", params={"status": "all"}, headers=hdr(token, "admin")))
    assert {world["alert_a"], world["alert_b"], world["alert_none"]} <= admin
    op_a = ids(client.get("/rpc/alerts", headers=hdr(token, "operator", company_id=world["a"])))
    assert world["alert_a"] in op_a and not op_a & {world["alert_b"], world["alert_none"]}
    staff = ids(client.get("/rpc/alerts", headers=hdr(token, "staff")))
    assert world["alert_none"] in staff and not staff & {world["alert_a"], world["alert_b"]}
    assert_error(client.get("/rpc/alerts", headers=hdr(token, "kiosk", kiosk_id="k1")), 403, "FORBIDDEN")
    assert_error(client.get("/rpc/alerts"), 401, "UNAUTHENTICATED")


def test_alert_shape_filters_and_bad_arguments(client, token, world):
    (alert,) = [
        a for a in ok(client.get("/rpc/alerts", headers=hdr(token, "admin")))["alerts"] if a["id"] == world["alert_a"]
    ]
    assert set(alert) == {
        "id", "domain", "kind", "severity", "subject", "company_id", "status", "message", "details",
        "raised_at", "last_seen_at", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by",
    }  # fmt: skip
    assert alert["company_id"] == world["a"] and alert["status"] == "open" and alert["domain"] == "upkeep"
    assert ids(client.get("/rpc/alerts", params={"domain": "atm"}, headers=hdr(token, "admin"))).isdisjoint(
        {world["alert_a"]}
    )
    assert len(ok(client.get("/rpc/alerts", params={"limit": 1}, headers=hdr(token, "admin")))["alerts"]) == 1
    for params, argument in (({"status": "closed"}, "status"), ({"domain": "x"}, "domain"), ({"limit": 0}, "limit")):
        body = assert_error(
            client.get("/rpc/alerts", params=params, headers=hdr(token, "admin")), 400, "INVALID_REQUEST"
        )
        assert body["details"]["argument"] == argument


def test_acknowledge_is_idempotent_and_records_who(client, token, db, world):
    op = hdr(token, "operator", company_id=world["a"])
    key = rid()
    first = client.post("/rpc/alert_acknowledge", headers=op, json={"alert_id": world["alert_a"], "request_id": key})
    body = ok(first)
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == f"operator-{world['a']}"
    again = client.post("/rpc/alert_acknowledge", headers=op, json={"alert_id": world["alert_a"], "request_id": key})
    assert ok(again) == body and again.headers.get("idempotent-replayed") == "true"
    other = client.post("/rpc/alert_acknowledge", headers=op, json={"alert_id": world["alert_b"], "request_id": key})
    assert_error(other, 404, "ALERT_NOT_FOUND")  # another company's: as if unknown, before the key is looked at
    events = db.execute(
        "SELECT change FROM core.alert_events WHERE alert_id = %s ORDER BY id", [world["alert_a"]]
    ).fetchall()
    assert [e[0] for e in events] == ["raised", "acknowledged"]  # acknowledged once


def test_resolve_with_a_note_once(client, token, db, world):
    op = hdr(token, "operator", company_id=world["b"])
    key = rid()
    body = ok(
        client.post(
            "/rpc/alert_resolve", headers=op, json={"alert_id": world["alert_b"], "request_id": key, "note": "reset"}
        )
    )
    assert body["status"] == "resolved" and body["resolved_by"] == f"operator-{world['b']}"
    assert body["details"]["resolve_note"] == "reset" and body["resolved_at"]
    mismatch = client.post(
        "/rpc/alert_resolve", headers=op, json={"alert_id": world["alert_b"], "request_id": key, "note": "other"}
    )
    assert_error(mismatch, 422, "IDEMPOTENCY_MISMATCH")
    later = ok(client.post("/rpc/alert_resolve", headers=op, json={"alert_id": world["alert_b"], "request_id": rid()}))
    assert later == body  # already resolved: answered as it is, nothing changes
    assert db.execute("SELECT count(*) FROM core.alert_events WHERE alert_id = %s AND change = 'resolved'",
                      [world["alert_b"]]).fetchone()[0] == 1  # fmt: skip


@pytest.mark.parametrize(
    ("role", "claims", "alert", "status", "code"),
    [
        ("operator", {"company_id": "nobody"}, "alert_a", 404, "ALERT_NOT_FOUND"),
        ("admin", {}, None, 404, "ALERT_NOT_FOUND"),
        ("staff", {}, "alert_none", 403, "FORBIDDEN"),
        ("kiosk", {"kiosk_id": "k1"}, "alert_a", 403, "FORBIDDEN"),
        ("anon", {}, "alert_a", 401, "UNAUTHENTICATED"),
    ],
)
@pytest.mark.parametrize("fn", ["alert_acknowledge", "alert_resolve"])
def test_wrong_callers_and_unknown_alerts(client, token, db, world, fn, role, claims, alert, status, code):
    alert_id = world[alert] if alert else 10**12
    headers = {} if role == "anon" else hdr(token, role, **claims)
    key = rid()
    assert_error(
        client.post(f"/rpc/{fn}", headers=headers, json={"alert_id": alert_id, "request_id": key}), status, code
    )
    # Refused before anything was kept: the key is still free.
    assert db.execute("SELECT count(*) FROM core.idempotency_keys WHERE key = %s", [key]).fetchone()[0] == 0


def test_resolve_note_bounds(client, token, world):
    body = assert_error(
        client.post(
            "/rpc/alert_resolve",
            headers=hdr(token, "admin"),
            json={"alert_id": world["alert_none"], "request_id": rid(), "note": "x" * 2001},
        ),
        400,
        "INVALID_REQUEST",
    )
    assert body["details"]["argument"] == "note"


# --- GET /events -------------------------------------------------------------------------


def stream(server) -> httpx.Client:
    return httpx.Client(base_url=server, timeout=httpx.Timeout(10, read=5))


def head_event_id(db) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM core.alert_events").fetchone()[0]


def test_an_alert_raised_in_sql_arrives_on_the_stream(server, token, db):
    with stream(server) as c, c.stream("GET", "/events", headers=hdr(token, "admin")) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        alert_id = raise_alert(db, None)
        got = alerts_until(resp, lambda fs: any(f.alert["id"] == alert_id for f in fs))
    frame = next(f for f in got if f.alert["id"] == alert_id)
    assert frame.event == "alert" and re.fullmatch(r"\d+", frame.id)
    assert frame.alert["status"] == "open" and frame.alert["subject"].startswith("subject-")
    assert (
        int(frame.id)
        == db.execute(
            "SELECT id FROM core.alert_events WHERE alert_id = %s AND change = 'raised'", [alert_id]
        ).fetchone()[0]
    )


def test_the_token_may_come_in_the_query_and_keep_alives_flow(server, token, db):
    with stream(server) as c, c.stream("GET", "/events", params={"access_token": token("staff", sub="s")}) as resp:
        assert resp.status_code == 200
        comments = []
        for frame in frames(resp):
            comments += frame.comments
            if "keep-alive" in comments:
                break
    assert "keep-alive" in comments


def test_a_reconnect_replays_what_it_missed(server, token, db):
    with stream(server) as c, c.stream("GET", "/events", headers=hdr(token, "admin")) as resp:
        first = raise_alert(db, None)
        last_id = alerts_until(resp, lambda fs: any(f.alert["id"] == first for f in fs))[-1].id
    missed = [raise_alert(db, None), raise_alert(db, None)]
    db.execute("UPDATE core.alerts SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = 'x' "
               "WHERE id = %s", [missed[0]])  # fmt: skip
    with (
        stream(server) as c,
        c.stream("GET", "/events", headers={**hdr(token, "admin"), "Last-Event-ID": last_id}) as resp,
    ):
        got = alerts_until(resp, lambda fs: len(fs) >= 3)
    assert [(f.alert["id"], f.alert["status"]) for f in got[:3]] == [
        (missed[0], "open"), (missed[1], "open"), (missed[0], "acknowledged"),
    ]  # fmt: skip
    assert [int(f.id) for f in got] == sorted(int(f.id) for f in got) and int(got[0].id) > int(last_id)
    # ?after= is the same cursor.
    with (
        stream(server) as c,
        c.stream("GET", "/events", params={"after": last_id}, headers=hdr(token, "admin")) as resp,
    ):
        assert [f.id for f in alerts_until(resp, lambda fs: len(fs) >= 3)][:3] == [f.id for f in got[:3]]


def test_a_stream_shows_only_the_callers_company(server, token, db):
    a, b = new_company(db, "sa"), new_company(db, "sb")
    after = head_event_id(db)
    foreign, own = raise_alert(db, b), raise_alert(db, a)
    with (
        stream(server) as c,
        c.stream("GET", "/events", params={"after": after}, headers=hdr(token, "operator", company_id=a)) as resp,
    ):
        read = frames(resp)
        got = alerts_until(read, lambda fs: any(f.alert["id"] == own for f in fs))
        live = raise_alert(db, a)
        raise_alert(db, b)
        got += alerts_until(read, lambda fs: any(f.alert["id"] == live for f in fs))
    seen = {f.alert["id"] for f in got}
    assert {own, live} <= seen and foreign not in seen
    assert all(f.alert["company_id"] == a for f in got)


@pytest.mark.parametrize(
    ("headers", "params", "status", "code"),
    [
        ({}, {}, 401, "UNAUTHENTICATED"),
        ({"Authorization": "Bearer not-a-jwt"}, {}, 401, "UNAUTHENTICATED"),
        ({}, {"access_token": "not-a-jwt"}, 401, "UNAUTHENTICATED"),
        ("kiosk", {}, 403, "FORBIDDEN"),
        ("anon", {}, 401, "UNAUTHENTICATED"),
        ("admin", {"after": "-1"}, 400, "INVALID_REQUEST"),
        ("admin", {"after": "abc"}, 400, "INVALID_REQUEST"),
    ],
)
def test_stream_refusals(client, token, headers, params, status, code):
    if isinstance(headers, str):
        headers = hdr(token, headers, kiosk_id="k1") if headers == "kiosk" else hdr(token, headers)
    assert_error(client.get("/events", headers=headers, params=params), status, code)


def _streams(client) -> float:
    match = re.search(r"^rpc_event_streams (\S+)$", client.get("/metrics").text, re.M)
    return float(match.group(1))


def test_streams_are_bounded_and_a_gone_client_leaves_nothing(server, client, token):
    wait_for(lambda: _streams(client) == 0, timeout=10, message="no streams open")
    clients = [stream(server) for _ in range(MAX_STREAMS)]
    opened = []
    try:
        for c in clients:
            resp = c.send(c.build_request("GET", "/events", headers=hdr(token, "admin")), stream=True)
            assert resp.status_code == 200
            opened.append(resp)
        assert _streams(client) == MAX_STREAMS
        refused = client.get("/events", headers=hdr(token, "admin"))
        assert_error(refused, 503, "TOO_MANY_STREAMS")
        assert refused.headers["retry-after"]
    finally:
        for resp in opened:
            resp.close()
        for c in clients:
            c.close()
    # The server notices each disconnect and frees its slot (and its tasks).
    wait_for(lambda: _streams(client) == 0, timeout=10, message="streams freed after the clients left")
    with stream(server) as c, c.stream("GET", "/events", headers=hdr(token, "admin")) as resp:
        assert resp.status_code == 200


def test_a_stream_ends_when_its_token_expires(server):
    short = make_token(JWT_SECRET, "admin", {"sub": "brief"}, ttl=2)
    started = time.monotonic()
    with stream(server) as c, c.stream("GET", "/events", headers=bearer(short)) as resp:
        assert resp.status_code == 200
        for _ in frames(resp):
            pass  # until the server ends the stream
    assert time.monotonic() - started < 5
    # Reconnecting with it now is refused: the client must get a new token.
    assert_error(httpx.get(server + "/events", headers=bearer(short)), 401, "UNAUTHENTICATED")
