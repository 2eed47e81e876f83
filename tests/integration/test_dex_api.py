"""The DEX API over HTTP against the real RPC server: contract (types, missing fields,
unknown ids, roles), idempotency and concurrent duplicates, ETag, error resolution,
daily sales, and row-level security between two operators of different companies."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.answers import assert_error, bearer, dex_fixture, ok
from tests.support.helpers import rid


@pytest.fixture(scope="module")
def world(server, token):
    """Two companies, each with an operator and a machine that has two reads."""
    import httpx

    admin = bearer(token("admin", sub="dex-api-admin"))
    w = {"admin": admin}
    with httpx.Client(base_url=server, timeout=30) as c:
        for key in ("a", "b"):
            cid = f"api-{key}-" + uuid.uuid4().hex[:6]
            ok(
                c.post(
                    "/rpc/company_create",
                    json={"company_id": cid, "name": f"Company {key}", "request_id": rid()},
                    headers=admin,
                )
            )
            op = bearer(token("operator", sub=f"op-{key}-{cid}", company_id=cid))
            serial = f"API-{key.upper()}-" + uuid.uuid4().hex[:8]
            ok(
                c.post(
                    "/rpc/machine_register",
                    headers=op,
                    json={
                        "case_serial": serial,
                        "company_id": cid,
                        "location": "Station",
                        "model": "Fixture Snack 1000",
                        "currency": "EUR",
                        "decimals": 2,
                        "request_id": rid(),
                    },
                )
            )
            for name in ("snack_read1.dex", "snack_read2.dex"):
                res = ok(
                    c.post(
                        "/rpc/dex_ingest",
                        headers=op,
                        json={"case_serial": serial, "raw": dex_fixture(name), "source": "test", "request_id": rid()},
                    )
                )
                assert res["status"] == "accepted", res
            w[key] = {"company": cid, "op": op, "serial": serial}
    return w


def new_machine(client, world, key="a") -> str:
    serial = f"API-{key.upper()}-" + uuid.uuid4().hex[:8]
    ok(
        client.post(
            "/rpc/machine_register",
            headers=world[key]["op"],
            json={
                "case_serial": serial,
                "company_id": world[key]["company"],
                "location": None,
                "model": "Fixture Snack 1000",
                "currency": "EUR",
                "decimals": 2,
                "request_id": rid(),
            },
        )
    )
    return serial


def ingest(client, headers, serial, raw, request_id=None, captured_at=None):
    body = {"case_serial": serial, "raw": raw, "source": "test", "request_id": request_id or rid()}
    if captured_at is not None:
        body["captured_at"] = captured_at
    return client.post("/rpc/dex_ingest", headers=headers, json=body)


# --- row-level security: two operators of different companies ---------------------------


def test_operator_sees_only_its_company(client, world):
    a, b = world["a"], world["b"]
    for me, other in ((a, b), (b, a)):
        serials = [m["case_serial"] for m in ok(client.get("/rpc/machines_summary", headers=me["op"]))["machines"]]
        assert me["serial"] in serials and other["serial"] not in serials
        assert all(
            m["company_id"] == me["company"]
            for m in ok(client.get("/rpc/machines_summary", headers=me["op"]))["machines"]
        )
        assert (
            ok(client.get("/rpc/machine_details", params={"case_serial": me["serial"]}, headers=me["op"]))["reads"] == 2
        )
    admin_serials = [
        m["case_serial"] for m in ok(client.get("/rpc/machines_summary", headers=world["admin"]))["machines"]
    ]
    assert a["serial"] in admin_serials and b["serial"] in admin_serials


def test_company_a_can_neither_read_nor_ingest_nor_register_for_b(client, world, token):
    a, b = world["a"], world["b"]
    today = date.today().isoformat()
    # Reads: another company's machine is "not found", exactly like a missing one.
    assert_error(
        client.get("/rpc/machine_details", params={"case_serial": b["serial"]}, headers=a["op"]),
        404,
        "MACHINE_NOT_FOUND",
    )
    assert_error(
        client.get(
            "/rpc/machine_sales", params={"case_serial": b["serial"], "from": today, "to": today}, headers=a["op"]
        ),
        404,
        "MACHINE_NOT_FOUND",
    )
    # Ingest: nothing is stored for B.
    before = ok(client.get("/rpc/machine_details", params={"case_serial": b["serial"]}, headers=b["op"]))
    assert_error(ingest(client, a["op"], b["serial"], dex_fixture("snack_read3.dex")), 404, "MACHINE_NOT_FOUND")
    after = ok(client.get("/rpc/machine_details", params={"case_serial": b["serial"]}, headers=b["op"]))
    assert after["recent_captures"] == before["recent_captures"]
    # Register: not for another company, and a company_id claim is no way around it.
    assert_error(
        client.post(
            "/rpc/machine_register",
            headers=a["op"],
            json={
                "case_serial": "API-X-" + uuid.uuid4().hex[:8],
                "company_id": b["company"],
                "location": None,
                "model": "M",
                "currency": "EUR",
                "decimals": 2,
                "request_id": rid(),
            },
        ),
        403,
        "FORBIDDEN",
    )
    # Errors: B's error ids are unknown to A.
    b_error = after["errors"][0]["error_id"]
    assert_error(
        client.post(
            "/rpc/machine_error_resolve",
            headers=a["op"],
            json={"error_id": b_error, "note": "not mine", "request_id": rid()},
        ),
        404,
        "ERROR_NOT_FOUND",
    )
    assert all(
        e["resolved_at"] is None
        for e in ok(client.get("/rpc/machine_details", params={"case_serial": b["serial"]}, headers=b["op"]))["errors"]
        if e["error_id"] == b_error
    )
    # An operator token without a company sees no machine at all.
    nobody = bearer(token("operator", sub="op-nobody"))
    assert ok(client.get("/rpc/machines_summary", headers=nobody))["machines"] == []
    assert_error(
        client.get("/rpc/machine_details", params={"case_serial": a["serial"]}, headers=nobody),
        404,
        "MACHINE_NOT_FOUND",
    )


def test_admin_reaches_every_company(client, world):
    for key in ("a", "b"):
        d = ok(client.get("/rpc/machine_details", params={"case_serial": world[key]["serial"]}, headers=world["admin"]))
        assert d["company_id"] == world[key]["company"]


# --- contract ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,status,code", [("anon", 401, "UNAUTHENTICATED"), ("kiosk", 403, "FORBIDDEN"), ("staff", 403, "FORBIDDEN")]
)
@pytest.mark.parametrize(
    "fn,args",
    [
        ("dex_ingest", {"case_serial": "X", "raw": "DXS*", "source": "t", "request_id": "r"}),
        (
            "machine_register",
            {
                "case_serial": "X",
                "company_id": "c",
                "location": None,
                "model": "m",
                "currency": "EUR",
                "decimals": 2,
                "request_id": "r",
            },
        ),
        ("machines_summary", {}),
        ("machine_details", {"case_serial": "X"}),
        ("machine_sales", {"case_serial": "X", "from": "2025-01-01", "to": "2025-01-02"}),
        ("machine_error_resolve", {"error_id": 1, "note": "n", "request_id": "r"}),
        ("company_create", {"company_id": "c", "name": "n", "request_id": "r"}),
    ],
)
def test_other_roles_are_refused(client, token, role, status, code, fn, args):
    headers = {} if role == "anon" else bearer(token(role, sub="someone", company_id="whatever"))
    assert_error(client.post(f"/rpc/{fn}", json=args, headers=headers), status, code)


def test_operators_cannot_create_companies(client, world):
    assert_error(
        client.post(
            "/rpc/company_create",
            headers=world["a"]["op"],
            json={"company_id": "x-" + uuid.uuid4().hex[:6], "name": "X", "request_id": rid()},
        ),
        403,
        "FORBIDDEN",
    )


REGISTER = {
    "case_serial": "API-T-1",
    "company_id": "x",
    "location": "L",
    "model": "M",
    "currency": "EUR",
    "decimals": 2,
    "request_id": "r1",
}


@pytest.mark.parametrize(
    "fn,base,field,value",
    [
        ("dex_ingest", {"case_serial": "S", "raw": "DXS*", "source": "t", "request_id": "r"}, "raw", 42),
        ("dex_ingest", {"case_serial": "S", "raw": "DXS*", "source": "t", "request_id": "r"}, "raw", None),
        ("dex_ingest", {"case_serial": "S", "raw": "DXS*", "source": "t", "request_id": "r"}, "case_serial", ["S"]),
        ("dex_ingest", {"case_serial": "S", "raw": "DXS*", "source": "t", "request_id": "r"}, "source", "has space"),
        ("dex_ingest", {"case_serial": "S", "raw": "DXS*", "source": "t", "request_id": "r"}, "request_id", None),
        ("dex_ingest", {"case_serial": "S", "raw": "DXS*", "source": "t", "request_id": "r"}, "raw", "nul\x00"),
        ("machine_register", REGISTER, "decimals", "2"),
        ("machine_register", REGISTER, "decimals", 9),
        ("machine_register", REGISTER, "decimals", 1.5),
        ("machine_register", REGISTER, "currency", "usd"),
        ("machine_register", REGISTER, "case_serial", "bad serial!"),
        ("machine_register", REGISTER, "model", ""),
        ("machine_register", REGISTER, "company_id", None),
        ("company_create", {"company_id": "ok-id", "name": "N", "request_id": "r"}, "company_id", "no spaces"),
        ("company_create", {"company_id": "ok-id", "name": "N", "request_id": "r"}, "name", "   "),
        ("machine_sales", {"case_serial": "S", "from": "2025-01-02", "to": "2025-01-01"}, "to", "2025-01-01"),
        ("machine_sales", {"case_serial": "S", "from": "2025-01-01", "to": "2026-06-01"}, "to", "2027-01-01"),
        ("machine_sales", {"case_serial": "S", "from": "2025-01-01", "to": "2025-01-02"}, "from", None),
        ("machine_error_resolve", {"error_id": 1, "note": "n", "request_id": "r"}, "error_id", "1"),
        ("machine_error_resolve", {"error_id": 1, "note": "n", "request_id": "r"}, "note", ""),
        ("machines_summary", {}, "recent_within", "-1 hour"),
    ],
)
def test_bad_arguments_are_400_naming_the_argument(client, world, fn, base, field, value):
    args = {**base, field: value}
    body = assert_error(client.post(f"/rpc/{fn}", json=args, headers=world["admin"]), 400, "INVALID_REQUEST")
    assert body["details"] == {"argument": field}, body


@pytest.mark.parametrize(
    "fn,args",
    [
        ("dex_ingest", {"case_serial": "S", "raw": "DXS*", "source": "t"}),
        ("machine_register", {k: v for k, v in REGISTER.items() if k != "model"}),
        ("machine_details", {}),
        ("machine_error_resolve", {"error_id": 1, "request_id": "r"}),
    ],
)
def test_missing_arguments_are_400(client, world, fn, args):
    assert_error(client.post(f"/rpc/{fn}", json=args, headers=world["admin"]), 400, "INVALID_REQUEST")


def test_unknown_ids_are_404(client, world):
    admin = world["admin"]
    assert_error(ingest(client, admin, "NO-SUCH-MACHINE", dex_fixture("snack_read1.dex")), 404, "MACHINE_NOT_FOUND")
    assert_error(
        client.get("/rpc/machine_details", params={"case_serial": "NO-SUCH-MACHINE"}, headers=admin),
        404,
        "MACHINE_NOT_FOUND",
    )
    assert_error(
        client.get(
            "/rpc/machine_sales",
            params={"case_serial": "NO-SUCH", "from": "2025-01-01", "to": "2025-01-01"},
            headers=admin,
        ),
        404,
        "MACHINE_NOT_FOUND",
    )
    assert_error(
        client.post(
            "/rpc/machine_error_resolve", headers=admin, json={"error_id": 987654321, "note": "x", "request_id": rid()}
        ),
        404,
        "ERROR_NOT_FOUND",
    )
    assert_error(
        client.post(
            "/rpc/machine_register", headers=admin, json={**REGISTER, "company_id": "no-such-co", "request_id": rid()}
        ),
        404,
        "COMPANY_NOT_FOUND",
    )


def test_conflicts_are_409(client, world):
    a = world["a"]
    assert_error(
        client.post(
            "/rpc/company_create",
            headers=world["admin"],
            json={"company_id": a["company"], "name": "again", "request_id": rid()},
        ),
        409,
        "CONFLICT",
    )
    assert_error(
        client.post(
            "/rpc/machine_register",
            headers=a["op"],
            json={
                "case_serial": a["serial"],
                "company_id": a["company"],
                "location": None,
                "model": "M",
                "currency": "EUR",
                "decimals": 2,
                "request_id": rid(),
            },
        ),
        409,
        "CONFLICT",
    )


def test_rejected_file_is_a_200_with_a_reason_never_a_500(client, world):
    serial = new_machine(client, world)
    for raw in ("", "\x01\x02 binary junk", "DXS*only a header", "ST*001*0001\nDXE*1*1\n" * 3, "*" * 5000):
        res = ok(ingest(client, world["a"]["op"], serial, raw))
        assert res["status"] == "rejected" and res["reject_reason"], res


# --- idempotency and concurrency ---------------------------------------------------------------


def test_replay_mismatch_and_invalid_requests_keep_no_key(client, world):
    serial = new_machine(client, world)
    key = rid()
    first = ingest(client, world["a"]["op"], serial, dex_fixture("snack_read1.dex"), key)
    again = ingest(client, world["a"]["op"], serial, dex_fixture("snack_read1.dex"), key)
    assert ok(first) == ok(again) and again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert_error(
        ingest(client, world["a"]["op"], serial, dex_fixture("snack_read2.dex"), key), 422, "IDEMPOTENCY_MISMATCH"
    )
    # An unknown machine is an invalid request: its key is not kept, a corrected request may reuse it.
    key2 = rid()
    assert_error(
        ingest(client, world["a"]["op"], "NO-SUCH-MACHINE", dex_fixture("snack_read2.dex"), key2),
        404,
        "MACHINE_NOT_FOUND",
    )
    assert ok(ingest(client, world["a"]["op"], serial, dex_fixture("snack_read2.dex"), key2))["status"] == "accepted"


def test_ten_concurrent_ingests_of_one_file_count_once(client, world, db):
    serial = new_machine(client, world)
    raw = dex_fixture("snack_read1.dex")
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: ingest(client, world["a"]["op"], serial, raw), range(10)))
    bodies = [ok(r) for r in responses]
    assert sorted(b["status"] for b in bodies) == ["accepted"] + ["duplicate"] * 9
    assert len({b["capture_id"] for b in bodies}) == 1
    assert (
        db.execute(
            "SELECT count(*) FROM dex.captures c JOIN dex.machines m ON m.id = c.machine_id WHERE m.case_serial = %s",
            [serial],
        ).fetchone()[0]
        == 1
    )
    assert db.execute(
        "SELECT count(*), sum(reads) FROM dex.reads r JOIN dex.machine_state s USING (machine_id) "
        "JOIN dex.machines m ON m.id = r.machine_id WHERE m.case_serial = %s",
        [serial],
    ).fetchone() == (1, 1)


def test_ten_concurrent_retries_of_one_request_replay_it(client, world, db):
    serial = new_machine(client, world)
    key = rid()
    with ThreadPoolExecutor(10) as pool:
        responses = list(
            pool.map(lambda _: ingest(client, world["a"]["op"], serial, dex_fixture("snack_read1.dex"), key), range(10))
        )
    bodies = [ok(r) for r in responses]
    assert all(b == bodies[0] for b in bodies) and bodies[0]["status"] == "accepted"
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 9
    assert (
        db.execute(
            "SELECT count(*) FROM dex.captures c JOIN dex.machines m ON m.id = c.machine_id WHERE m.case_serial = %s",
            [serial],
        ).fetchone()[0]
        == 1
    )


def test_concurrent_different_files_of_one_machine_are_serialised(client, world, db):
    serial = new_machine(client, world)
    ok(ingest(client, world["a"]["op"], serial, dex_fixture("snack_read1.dex")))
    files = [dex_fixture("snack_read2.dex"), dex_fixture("snack_read2_rereport.dex"), dex_fixture("snack_read3.dex")]
    with ThreadPoolExecutor(3) as pool:
        bodies = [ok(r) for r in pool.map(lambda raw: ingest(client, world["a"]["op"], serial, raw), files)]
    assert all(b["status"] == "accepted" for b in bodies)
    # Whatever order they were serialised in, sales add up to VA101's movement from read 1
    # to read 3 (1150): an older read arriving after a newer one is "late", not a reset.
    total = db.execute(
        "SELECT sum(d.revenue) FROM dex.sales_deltas d JOIN dex.machines m ON m.id = d.machine_id "
        "WHERE m.case_serial = %s",
        [serial],
    ).fetchone()[0]
    kinds = db.execute(
        "SELECT array_agg(delta_kind ORDER BY r.id) FROM dex.reads r JOIN dex.machines m "
        "ON m.id = r.machine_id WHERE m.case_serial = %s",
        [serial],
    ).fetchone()[0]
    assert total == 1150, kinds
    assert kinds[0] == "baseline" and "reset" not in kinds, kinds


# --- reads: ETag, summary freshness, errors, sales -------------------------------------------


def test_summary_has_an_etag_and_changes_when_an_ingest_commits(client, world):
    op = world["a"]["op"]
    first = client.get("/rpc/machines_summary", headers=op)
    etag = first.headers["etag"]
    not_modified = client.get("/rpc/machines_summary", headers={**op, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    serial = new_machine(client, world)
    # Captured just now (the fixture's own clock says 2025): a recent read.
    ok(ingest(client, op, serial, dex_fixture("snack_read1.dex"), captured_at=datetime.now(UTC).isoformat()))
    fresh = client.get("/rpc/machines_summary", headers={**op, "If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != etag
    entry = next(m for m in fresh.json()["machines"] if m["case_serial"] == serial)
    assert entry["reads"] == 1 and entry["has_recent_data"] is True and entry["product_count"] == 3
    assert entry["cash"]["tubes_value"] == 1200
    assert {(d["coin_value"], d["coins"]) for d in entry["cash"]["denominations"]} == {
        (10, 15),
        (20, 10),
        (50, 5),
        (100, 6),
    }
    assert entry["temperature"] == {"current_c": -0.5, "target_c": 4.0}
    assert entry["firmware"] == "FW 2.1.0" and entry["unresolved_errors"] == 2
    assert sorted(e["code"] for e in entry["errors"]) == ["CJ06", "EJJ"]
    details = client.get("/rpc/machine_details", params={"case_serial": serial}, headers=op)
    assert details.headers.get("etag")
    assert (
        client.get(
            "/rpc/machine_details",
            params={"case_serial": serial},
            headers={**op, "If-None-Match": details.headers["etag"]},
        ).status_code
        == 304
    )


def test_has_recent_data_follows_the_window(client, world, db):
    serial = new_machine(client, world)
    ok(ingest(client, world["a"]["op"], serial, dex_fixture("snack_read1.dex")))
    db.execute(
        "UPDATE dex.machine_state s SET last_read_at = now() - interval '5 hours' FROM dex.machines m "
        "WHERE m.id = s.machine_id AND m.case_serial = %s",
        [serial],
    )

    def recent(**params):
        res = ok(client.get("/rpc/machines_summary", params=params, headers=world["a"]["op"]))
        return next(m for m in res["machines"] if m["case_serial"] == serial)["has_recent_data"]

    assert recent() is False
    assert recent(recent_within="6 hours") is True


def test_error_resolution(client, world):
    op = world["a"]["op"]
    serial = new_machine(client, world)
    ok(ingest(client, op, serial, dex_fixture("snack_read1.dex")))
    errors = ok(client.get("/rpc/machine_details", params={"case_serial": serial}, headers=op))["errors"]
    cj06 = next(e for e in errors if e["code"] == "CJ06")
    key = rid()
    resolved = client.post(
        "/rpc/machine_error_resolve",
        headers=op,
        json={"error_id": cj06["error_id"], "note": "cleared the jam", "request_id": key},
    )
    body = ok(resolved)
    assert body["resolution_note"] == "cleared the jam" and body["resolved_by"].startswith("operator:")
    summary = next(
        m for m in ok(client.get("/rpc/machines_summary", headers=op))["machines"] if m["case_serial"] == serial
    )
    assert summary["unresolved_errors"] == 1 and [e["code"] for e in summary["errors"]] == ["EJJ"]
    # Resolving again is a state conflict, stored under its key; the first key replays its answer.
    key2 = rid()
    assert_error(
        client.post(
            "/rpc/machine_error_resolve",
            headers=op,
            json={"error_id": cj06["error_id"], "note": "again", "request_id": key2},
        ),
        409,
        "CONFLICT",
    )
    replay = client.post(
        "/rpc/machine_error_resolve",
        headers=op,
        json={"error_id": cj06["error_id"], "note": "again", "request_id": key2},
    )
    assert_error(replay, 409, "CONFLICT")
    assert replay.headers.get("idempotent-replayed") == "true"
    assert (
        ok(
            client.post(
                "/rpc/machine_error_resolve",
                headers=op,
                json={"error_id": cj06["error_id"], "note": "cleared the jam", "request_id": key},
            )
        )
        == body
    )
    # The next read without CJ06 and one with it again: a new, unresolved occurrence.
    ok(ingest(client, op, serial, dex_fixture("snack_read2.dex")))
    ok(ingest(client, op, serial, dex_fixture("snack_read3.dex")))
    errors = ok(client.get("/rpc/machine_details", params={"case_serial": serial}, headers=op))["errors"]
    assert sorted((e["code"], e["resolved_at"] is None) for e in errors) == [
        ("CJ06", False),
        ("CJ06", True),
        ("EJJ", True),
    ]


def test_daily_sales_from_the_deltas(client, world, db):
    op = world["a"]["op"]
    serial = new_machine(client, world)
    today = db.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()[0]
    yesterday = today - timedelta(days=1)
    # Reads 1 and 2 were captured yesterday noon (UTC), read 3 today at 00:00:01: sales go
    # by the capture time the source states, not by the receipt nor the fixtures' 2025 clock.
    noon = f"{yesterday.isoformat()}T12:00:00Z"
    for name in ("snack_read1.dex", "snack_read2.dex"):
        ok(ingest(client, op, serial, dex_fixture(name), captured_at=noon))
    ok(ingest(client, op, serial, dex_fixture("snack_read3.dex"), captured_at=f"{today.isoformat()}T00:00:01Z"))
    res = ok(
        client.get(
            "/rpc/machine_sales",
            headers=op,
            params={"case_serial": serial, "from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()},
        )
    )
    days = {d["date"]: d for d in res["days"]}
    assert list(days) == [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert (days[yesterday.isoformat()]["vends"], days[yesterday.isoformat()]["revenue"]) == (6, 950)
    assert days[yesterday.isoformat()]["paid_revenue_va1"] == 950
    assert {s["selection"]: (s["vends"], s["revenue"]) for s in days[yesterday.isoformat()]["selections"]} == {
        "10": (3, 450),
        "11": (2, 400),
        "12": (1, 100),
    }
    assert (days[today.isoformat()]["vends"], days[today.isoformat()]["revenue"]) == (1, 200)
    assert days[(today - timedelta(days=2)).isoformat()]["vends"] == 0
    assert res["currency"] == "EUR" and res["decimals"] == 2


@pytest.mark.parametrize("captured_at", ["infinity", "2999-01-01T00:00:00Z"])
def test_a_capture_time_in_the_future_or_not_finite_is_a_400(client, world, captured_at):
    serial = new_machine(client, world)
    body = assert_error(
        ingest(client, world["a"]["op"], serial, dex_fixture("snack_read1.dex"), captured_at=captured_at),
        400,
        "INVALID_REQUEST",
    )
    assert "captured_at" in body["message"]
    details = ok(client.get("/rpc/machine_details", params={"case_serial": serial}, headers=world["a"]["op"]))
    assert details["recent_captures"] == []


# --- idempotency keys are scoped by company ----------------------------------------------


def test_operators_of_two_companies_with_one_sub_do_not_share_request_ids(client, world, token):
    # Subjects are names an issuer picks per company: "ops" at A and "ops" at B are two people.
    # The key must not replay A's stored answer (its machine's reads) to B, nor refuse B's
    # own call as a mismatch of A's.
    a, b = world["a"], world["b"]
    op_a = bearer(token("operator", sub="ops", company_id=a["company"]))
    op_b = bearer(token("operator", sub="ops", company_id=b["company"]))
    key = rid()
    raw = dex_fixture("snack_read2.dex")
    first = ok(ingest(client, op_a, a["serial"], raw, key))
    assert first["status"] == "duplicate"
    # B, same sub and key, same arguments (A's machine): B may not see that machine.
    assert_error(ingest(client, op_b, a["serial"], raw, key), 404, "MACHINE_NOT_FOUND")
    # B, same sub and key, its own machine: its own answer.
    own = ingest(client, op_b, b["serial"], raw, key)
    assert own.headers.get("Idempotent-Replayed") != "true"
    assert ok(own)["status"] == "duplicate" and ok(own)["capture_id"] != first["capture_id"]
    # A's retry still replays A's answer.
    again = ingest(client, op_a, a["serial"], raw, key)
    assert again.headers.get("Idempotent-Replayed") == "true" and ok(again) == first


def test_company_id_star_is_no_wildcard(db, world):
    # Below the RPC (which refuses such a token anyway): a company_id claim is compared with
    # company_id and nothing else, so "*" names no company and reaches none of their rows.
    from tests.support.helpers import call_as

    star = {"sub": "op-star", "company_id": "*"}
    assert call_as(db, "operator", "SELECT api.machines_summary()", claims=star)["machines"] == []
    with pytest.raises(Exception, match="MACHINE_NOT_FOUND"):
        call_as(db, "operator", "SELECT api.machine_details(%s)", (world["a"]["serial"],), claims=star)
    # Admin is the role that sees every company.
    admin = call_as(db, "admin", "SELECT api.machines_summary()", claims={"sub": "dex-admin"})["machines"]
    assert {world["a"]["serial"], world["b"]["serial"]} <= {m["case_serial"] for m in admin}
