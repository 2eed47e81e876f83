"""The HTTP contract of /rpc/{name}: status codes, error shape, GET vs POST, replay header."""

from __future__ import annotations

import pytest

from tests.support.answers import assert_error
from tests.support.helpers import rid


def open_account(client, headers, **overrides):
    args = {"kind": "card", "owner_ref": None, "currency": "EUR", "lower_bound": 0, "request_id": rid()}
    args.update(overrides)
    resp = client.post("/rpc/ledger_account_open", json=args, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["id"]


def test_whoami_post_and_get_reflect_the_token(client, token):
    hdr = {"Authorization": "Bearer " + token("staff", sub="alice", pos="bar-1")}
    for resp in (client.post("/rpc/whoami", headers=hdr), client.get("/rpc/whoami", headers=hdr)):
        assert resp.status_code == 200
        body = resp.json()
        assert body["role"] == "staff"
        assert body["claims"]["sub"] == "alice" and body["claims"]["pos"] == "bar-1"
        assert body["principal"] == "staff:alice"


def test_no_token_is_anon(client):
    assert client.post("/rpc/whoami").json()["role"] == "anon"


def test_unknown_function_is_404(client):
    assert_error(client.post("/rpc/no_such_function", json={}), 404, "NOT_FOUND")
    assert_error(client.get("/rpc/no_such_function"), 404, "NOT_FOUND")


def test_volatile_function_over_get_is_405(client, admin_headers):
    resp = client.get("/rpc/ledger_transfer", headers=admin_headers)
    assert_error(resp, 405, "METHOD_NOT_ALLOWED")
    assert resp.headers["allow"] == "POST"


def test_get_runs_in_a_read_only_transaction(client, admin_headers, db):
    # whoami is STABLE; a STABLE function that tried to write would fail in this transaction.
    db.execute("""CREATE OR REPLACE FUNCTION api.test_sneaky_write() RETURNS jsonb
                  LANGUAGE sql STABLE SECURITY DEFINER AS $$
                  INSERT INTO ledger.transfers (kind) VALUES ('sneaky') RETURNING to_jsonb(id) $$""")
    db.execute("COMMENT ON FUNCTION api.test_sneaky_write() IS 'test only'")
    db.execute("GRANT EXECUTE ON FUNCTION api.test_sneaky_write() TO admin")
    db.execute("NOTIFY kioskledger_reload")
    try:
        import time

        for _ in range(50):
            resp = client.get("/rpc/test_sneaky_write", headers=admin_headers)
            if resp.status_code != 404:
                break
            time.sleep(0.1)
        assert resp.status_code == 500, resp.text
        assert "sneaky" not in resp.text and "INSERT" not in resp.text, "no SQL leaks in a 500"
        assert db.execute("SELECT count(*) FROM ledger.transfers WHERE kind = 'sneaky'").fetchone()[0] == 0
    finally:
        db.execute("DROP FUNCTION api.test_sneaky_write()")
        db.execute("NOTIFY kioskledger_reload")


@pytest.mark.parametrize(
    "body,fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
    ],
)
def test_bad_json_is_400(client, admin_headers, body, fragment):
    resp = client.post(
        "/rpc/ledger_account_open", content=body, headers={**admin_headers, "Content-Type": "application/json"}
    )
    assert fragment in assert_error(resp, 400, "INVALID_REQUEST")["message"]


def test_missing_argument_is_400_naming_it(client, admin_headers):
    body = assert_error(
        client.post(
            "/rpc/ledger_account_open",
            headers=admin_headers,
            json={"kind": "card", "currency": "EUR", "lower_bound": 0, "request_id": rid()},
        ),
        400,
        "INVALID_REQUEST",
    )
    assert body["details"] == {"argument": "owner_ref"}


def test_unknown_argument_is_400_naming_it(client, admin_headers):
    body = assert_error(client.post("/rpc/whoami", headers=admin_headers, json={"sudo": True}), 400, "INVALID_REQUEST")
    assert body["details"] == {"argument": "sudo"}


@pytest.mark.parametrize(
    "field,value",
    [
        ("lower_bound", "0"),  # string for bigint
        ("lower_bound", 1.5),  # float for bigint
        ("lower_bound", True),  # bool is not an integer
        ("lower_bound", 2**63),  # beyond bigint
        ("currency", 978),  # number for text
        ("request_id", ["a"]),  # array for text
        ("kind", "nul\x00byte"),  # NUL cannot be stored in text
    ],
)
def test_wrong_type_is_400_naming_the_argument(client, admin_headers, field, value):
    args = {"kind": "card", "owner_ref": None, "currency": "EUR", "lower_bound": 0, "request_id": rid()}
    args[field] = value
    body = assert_error(
        client.post("/rpc/ledger_account_open", headers=admin_headers, json=args), 400, "INVALID_REQUEST"
    )
    assert body["details"] == {"argument": field}


def test_business_validation_error_comes_from_sql(client, admin_headers):
    body = assert_error(
        client.post(
            "/rpc/ledger_account_open",
            headers=admin_headers,
            json={"kind": "card", "owner_ref": None, "currency": "euro", "lower_bound": 0, "request_id": rid()},
        ),
        400,
        "INVALID_REQUEST",
    )
    assert "ISO-4217" in body["message"] and body["details"] == {"argument": "currency"}


def test_anon_calling_admin_function_is_401(client):
    assert_error(client.post("/rpc/ledger_account", json={"id": 1}), 401, "UNAUTHENTICATED")


def test_wrong_role_is_403(client, token):
    hdr = {"Authorization": "Bearer " + token("staff")}
    assert_error(client.post("/rpc/ledger_account", json={"id": 1}, headers=hdr), 403, "FORBIDDEN")


BAD_ARGUMENTS = [  # each one a 400 describing the arguments, for a caller allowed to call
    ("POST", {"kind": "card", "bogus": 1}),  # unknown argument: the 400 would list them all
    ("POST", {"kind": 12}),  # wrong type
    ("POST", {}),  # missing arguments
    ("POST", b"{not json"),
]


@pytest.mark.parametrize(("method", "body"), BAD_ARGUMENTS)
def test_who_may_not_call_learns_nothing_about_the_arguments(client, token, method, body):
    def call(headers):
        if method == "GET":
            return client.get("/rpc/ledger_account_open", params=body, headers=headers)
        if isinstance(body, bytes):
            return client.post("/rpc/ledger_account_open", content=body, headers=headers)
        return client.post("/rpc/ledger_account_open", json=body, headers=headers)

    assert_error(call({}), 401, "UNAUTHENTICATED")
    for role in ("staff", "kiosk", "operator"):
        assert_error(call({"Authorization": "Bearer " + token(role)}), 403, "FORBIDDEN")
    admin = call({"Authorization": "Bearer " + token("admin")})
    assert admin.status_code == 400, admin.text


def test_get_on_a_function_that_changes_data_is_405_for_every_caller(client, token):
    # The method is no argument: /openapi.json shows every caller that the function has no
    # GET, so its 405 tells a caller who may not call it nothing new.
    for headers in ({}, *({"Authorization": "Bearer " + token(r)} for r in ("staff", "kiosk", "operator", "admin"))):
        resp = client.get("/rpc/ledger_account_open", params={"kind": "card"}, headers=headers)
        assert_error(resp, 405, "METHOD_NOT_ALLOWED")
        assert resp.headers["allow"] == "POST"


def test_who_may_not_recharge_online_learns_nothing_about_the_arguments(client, token):
    # recharge_intent_create is for anon, staff and admin: a kiosk token is refused first.
    resp = client.post(
        "/recharge/checkout", content=b"{not json", headers={"Authorization": "Bearer " + token("kiosk")}
    )
    assert_error(resp, 403, "FORBIDDEN")


def test_not_found_code_maps_to_404(client, admin_headers):
    body = assert_error(
        client.get("/rpc/ledger_account", params={"id": 987654321}, headers=admin_headers), 404, "ACCOUNT_NOT_FOUND"
    )
    assert body["details"] == {"account_id": 987654321}


def test_get_arguments_are_typed_from_the_query_string(client, admin_headers):
    acct = open_account(client, admin_headers)
    resp = client.get("/rpc/ledger_account", params={"id": str(acct)}, headers=admin_headers)
    assert resp.status_code == 200 and resp.json()["id"] == acct
    assert_error(client.get("/rpc/ledger_account", params={"id": "abc"}, headers=admin_headers), 400, "INVALID_REQUEST")


def test_replay_returns_the_stored_response_with_header(client, admin_headers):
    args = {"kind": "card", "owner_ref": None, "currency": "EUR", "lower_bound": 0, "request_id": rid()}
    first = client.post("/rpc/ledger_account_open", json=args, headers=admin_headers)
    again = client.post("/rpc/ledger_account_open", json=args, headers=admin_headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"


def test_same_key_other_payload_is_422(client, admin_headers):
    args = {"kind": "card", "owner_ref": None, "currency": "EUR", "lower_bound": 0, "request_id": rid()}
    assert client.post("/rpc/ledger_account_open", json=args, headers=admin_headers).status_code == 200
    args["currency"] = "USD"
    assert_error(client.post("/rpc/ledger_account_open", json=args, headers=admin_headers), 422, "IDEMPOTENCY_MISMATCH")


def test_decline_is_402_and_replayed(client, admin_headers):
    card = open_account(client, admin_headers)
    other = open_account(client, admin_headers)
    body = {
        "postings": [{"account_id": card, "amount": -100}, {"account_id": other, "amount": 100}],
        "kind": "spend",
        "request_id": rid(),
    }
    first = client.post("/rpc/ledger_transfer", json=body, headers=admin_headers)
    details = assert_error(first, 402, "INSUFFICIENT_FUNDS")["details"]
    assert details == {"account_id": card, "balance": 0}
    again = client.post("/rpc/ledger_transfer", json=body, headers=admin_headers)
    assert again.status_code == 402 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_openapi_lists_functions_with_roles_and_comments(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    transfer = paths["/rpc/ledger_transfer"]
    assert "get" not in transfer, "volatile functions are POST only"
    assert transfer["post"]["x-roles"] == ["admin"]
    assert "double-entry" in transfer["post"]["description"]
    schema = transfer["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"postings", "kind", "request_id"}
    assert "metadata" in schema["properties"]
    assert "get" in paths["/rpc/whoami"] and "get" in paths["/rpc/ledger_account"]


def test_health_and_metrics(client):
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert set(health["catalogue"]) == {"sql_sha256", "sql_applied_at", "migration", "functions"}
    client.post("/rpc/whoami")
    text = client.get("/metrics").text
    assert 'rpc_requests_total{code="",function="whoami",replayed="false",status="200"}' in text
    assert "rpc_request_seconds_bucket" in text
    assert "rpc_pool_size" in text


def test_get_has_etag_and_if_none_match_gives_304(client, admin_headers):
    acct = open_account(client, admin_headers)
    first = client.get("/rpc/ledger_account", params={"id": acct}, headers=admin_headers)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('"')
    same = client.get("/rpc/ledger_account", params={"id": acct}, headers={**admin_headers, "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    house = open_account(client, admin_headers, lower_bound=None, kind="house")
    moved = client.post(
        "/rpc/ledger_transfer",
        headers=admin_headers,
        json={
            "postings": [{"account_id": acct, "amount": 5}, {"account_id": house, "amount": -5}],
            "kind": "etag_test",
            "request_id": rid(),
        },
    )
    assert moved.status_code == 200
    changed = client.get("/rpc/ledger_account", params={"id": acct}, headers={**admin_headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "etag" not in client.post("/rpc/whoami", headers=admin_headers).headers, "POST answers carry no ETag"
