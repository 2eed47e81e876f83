"""What stock PostgREST/Supabase clients need (rpc/compat.py): the /rest/v1 base path, the
apikey header, CORS, HEAD, Prefer, Idempotency-Key, and JSON errors on every path."""

from __future__ import annotations

import pytest

from tests.conftest import JWT_SECRET
from tests.support.answers import ERROR_KEYS, assert_error
from tests.support.database import server_env
from tests.support.helpers import issue_card, rid
from tests.support.rpc_process import rpc_server

ORIGIN = "https://pos.example"
PREFLIGHT_HEADERS = "authorization, apikey, content-type, prefer, x-client-info, idempotency-key, x-request-id"


@pytest.fixture(scope="module")
def server(migrated, tmp_path_factory):
    env = server_env(migrated, JWT_SECRET, RPC_CORS_ORIGINS=f"{ORIGIN}, https://other.example")
    with open(tmp_path_factory.mktemp("rpc") / "server.log", "w") as log, rpc_server(env, output=log) as running:
        yield running.base


@pytest.fixture
def staff(token):
    return {"Authorization": "Bearer " + token("staff", sub="compat-staff", pos="bar-1")}


def test_rpc_is_served_under_the_base_path(client, staff):
    for path in ("/rest/v1/rpc/whoami", "/rpc/whoami"):
        resp = client.post(path, headers=staff)
        assert resp.status_code == 200, resp.text
        assert resp.json()["role"] == "staff"
    assert_error(client.post("/rest/v1/rpc/no_such_function", json={}), 404, "NOT_FOUND")
    assert_error(client.get("/rest/v2/rpc/whoami"), 404, "NOT_FOUND")


def test_apikey_is_the_token_without_authorization(client, token):
    key = token("staff", sub="by-apikey")
    assert client.post("/rest/v1/rpc/whoami", headers={"apikey": key}).json()["claims"]["sub"] == "by-apikey"
    # Authorization wins over apikey (supabase-js sends the anon key as apikey, the user's token as Bearer).
    both = {"apikey": token("anon"), "Authorization": "Bearer " + key}
    assert client.post("/rest/v1/rpc/whoami", headers=both).json()["role"] == "staff"
    assert_error(client.post("/rpc/whoami", headers={"apikey": "not-a-jwt"}), 401, "UNAUTHENTICATED")


def test_cors_preflight_for_an_allowed_origin(client):
    resp = client.options(
        "/rest/v1/rpc/card_balance",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, apikey, content-type, x-client-info",
        },
    )
    assert resp.status_code == 204, resp.text
    assert resp.headers["access-control-allow-origin"] == ORIGIN
    assert set(resp.headers["access-control-allow-methods"].split(", ")) >= {"GET", "HEAD", "POST", "OPTIONS"}
    allowed = {h.strip() for h in resp.headers["access-control-allow-headers"].split(",")}
    assert allowed >= set(PREFLIGHT_HEADERS.split(", "))
    assert "Origin" in resp.headers["vary"]


def test_cors_headers_on_answers_to_an_allowed_origin_only(client, staff):
    resp = client.post("/rpc/whoami", headers={**staff, "Origin": ORIGIN})
    assert resp.headers["access-control-allow-origin"] == ORIGIN
    exposed = {h.strip().lower() for h in resp.headers["access-control-expose-headers"].split(",")}
    assert exposed >= {"idempotent-replayed", "etag", "x-request-id"}
    # Errors carry them too, or a browser could not read the error body.
    resp = client.post("/rpc/no_such_function", headers={"Origin": ORIGIN})
    assert resp.status_code == 404 and resp.headers["access-control-allow-origin"] == ORIGIN

    evil = "https://evil.example"
    resp = client.post("/rpc/whoami", headers={**staff, "Origin": evil})
    assert resp.status_code == 200 and not any(k.startswith("access-control-") for k in resp.headers)
    resp = client.options("/rpc/whoami", headers={"Origin": evil, "Access-Control-Request-Method": "POST"})
    assert not any(k.startswith("access-control-") for k in resp.headers)
    assert_error(resp, 403, "FORBIDDEN")


def test_head_is_get_without_a_body(client, db):
    card = issue_card(db, balance=700)
    get = client.get("/rest/v1/rpc/card_balance", params={"card_id": card})
    head = client.head("/rest/v1/rpc/card_balance", params={"card_id": card})
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert int(head.headers["content-length"]) == len(get.content)
    assert client.head("/rpc/card_balance", params={"card_id": card, "nope": "1"}).status_code == 400


def test_prefer_tx_rollback_is_refused_not_ignored(client, staff, db):
    card = issue_card(db)
    args = {"card_id": card, "amount": 500, "payment_method": "cash", "checkpoint_id": "cp-1", "request_id": rid()}
    resp = client.post("/rest/v1/rpc/checkpoint_recharge", json=args, headers={**staff, "Prefer": "tx=rollback"})
    body = assert_error(resp, 400, "INVALID_REQUEST")
    assert "tx=rollback" in body["message"]
    assert client.get("/rpc/card_balance", params={"card_id": card}).json()["balance"] == 0, "nothing committed"


def test_prefer_handling_strict_refuses_what_is_not_honoured(client, staff):
    resp = client.post("/rpc/whoami", headers={**staff, "Prefer": "handling=strict, count=exact"})
    body = assert_error(resp, 400, "INVALID_REQUEST")
    assert "count=exact" in body["message"]
    honoured = {**staff, "Prefer": "handling=strict, return=representation, tx=commit"}
    assert client.post("/rpc/whoami", headers=honoured).status_code == 200
    # Lenient (PostgREST's default): a preference the server does not apply is left aside.
    assert client.post("/rpc/whoami", headers={**staff, "Prefer": "count=exact"}).status_code == 200


def test_a_query_string_on_post_is_refused(client, staff):
    body = assert_error(client.post("/rpc/whoami?select=role", headers=staff), 400, "INVALID_REQUEST")
    assert "query string" in body["message"]


def test_a_form_encoded_body_is_refused(client, staff, db):
    card = issue_card(db)
    resp = client.post("/rpc/card_issue", data={"card_id": card, "request_id": rid()}, headers=staff)
    body = assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "JSON" in body["message"]
    resp = client.post(
        "/rpc/whoami", content=b'{"a":1}', headers={**staff, "Content-Type": "application/json; charset=utf-8"}
    )
    assert resp.status_code != 415


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("GET", "/nope", 404, "NOT_FOUND"),
        ("POST", "/rest/v1/nope", 404, "NOT_FOUND"),
        ("POST", "/health", 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/webhooks/stripe", 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_json_errors_on_every_path(client, method, path, status, code):
    resp = client.request(method, path)
    assert resp.headers["content-type"].startswith("application/json")
    body = assert_error(resp, status, code)
    assert set(body) == ERROR_KEYS
    if status == 405:
        assert "allow" in resp.headers


def test_idempotency_key_is_the_request_id(client, staff, db):
    card = issue_card(db)
    args = {"card_id": card, "amount": 300, "payment_method": "cash", "checkpoint_id": "cp-1"}
    key = rid()
    first = client.post("/rpc/checkpoint_recharge", json=args, headers={**staff, "Idempotency-Key": key})
    assert first.status_code == 200, first.text
    again = client.post("/rpc/checkpoint_recharge", json=args, headers={**staff, "Idempotency-Key": key})
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    # The body's request_id and the header are the same request.
    same = client.post(
        "/rpc/checkpoint_recharge", json={**args, "request_id": key}, headers={**staff, "Idempotency-Key": key}
    )
    assert same.json() == first.json() and same.headers["idempotent-replayed"] == "true"
    assert client.get("/rpc/card_balance", params={"card_id": card}).json()["balance"] == 300


def test_idempotency_key_and_a_different_request_id_are_refused(client, staff, db):
    card = issue_card(db)
    args = {"card_id": card, "amount": 300, "payment_method": "cash", "checkpoint_id": "cp-1", "request_id": rid()}
    resp = client.post("/rpc/checkpoint_recharge", json=args, headers={**staff, "Idempotency-Key": rid()})
    body = assert_error(resp, 400, "INVALID_REQUEST")
    assert body["details"] == {"argument": "request_id"} and "request_id" in body["message"]
    assert client.get("/rpc/card_balance", params={"card_id": card}).json()["balance"] == 0
