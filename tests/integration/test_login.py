"""POST /auth/login, /auth/refresh, /auth/logout against the real server: the signed token
works on the api as any kioskledger token does and names the account in what it makes;
wrong passwords, lockout, rotation, reuse and bad bodies answer 4xx, never 500."""

from __future__ import annotations

import jsonschema
import jwt
import psycopg
import pytest

from tests.conftest import JWT_SECRET
from tests.support.accounts import PASSWORD, create_account, fast_hashing, login, new_email
from tests.support.answers import assert_error, bearer, ok
from tests.support.concurrency import at_once
from tests.support.helpers import call_as, ensure_product, issue_card, new_card_id, rid

SESSION_KEYS = {"access_token", "token_type", "expires_in", "refresh_token", "account"}
ACCOUNT_KEYS = {"id", "email", "display_name", "role", "company_id", "point_of_sale", "checkpoint"}


@pytest.fixture(scope="module", autouse=True)
def settings(migrated):
    with psycopg.connect(migrated.url, autocommit=True) as conn:
        fast_hashing(conn)


@pytest.fixture
def staff(db):
    return create_account(db, "staff", point_of_sale="bar-7", checkpoint="cp-7")


def session_of(resp) -> dict:
    body = ok(resp)
    assert set(body) == SESSION_KEYS and body["token_type"] == "bearer", body
    assert set(body["account"]) == ACCOUNT_KEYS, body
    assert resp.headers["cache-control"] == "no-store"
    return body


def test_a_login_token_works_on_the_api_and_names_the_account(client, db, staff):
    session = session_of(login(client, staff["email"].upper()))
    assert session["expires_in"] == 900
    assert session["account"] == {k: staff[k] for k in ACCOUNT_KEYS}
    claims = jwt.decode(session["access_token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 900
    assert {k: claims.get(k) for k in ("role", "sub", "email", "point_of_sale", "checkpoint")} == {
        "role": "staff",
        "sub": staff["id"],
        "email": staff["email"],
        "point_of_sale": "bar-7",
        "checkpoint": "cp-7",
    }
    auth = bearer(session["access_token"])
    seen = ok(client.post("/rpc/whoami", headers=auth))
    assert seen["role"] == "staff" and seen["principal"] == "staff:" + staff["id"]

    # What the staff member makes carries their account id.
    ensure_product(db, "login-beer", 450)
    card = new_card_id()
    ok(client.post("/rpc/card_issue", json={"card_id": card, "request_id": rid()}, headers=auth))
    ok(
        client.post(
            "/rpc/checkpoint_recharge",
            json={
                "card_id": card,
                "amount": 1000,
                "payment_method": "cash",
                "checkpoint_id": "cp-7",
                "request_id": rid(),
            },
            headers=auth,
        )
    )
    order = ok(
        client.post(
            "/rpc/bar_order",
            json={
                "card_id": card,
                "items": [{"product_id": "login-beer", "quantity": 1}],
                "point_of_sale": "bar-7",
                "request_id": rid(),
            },
            headers=auth,
        )
    )
    made_by = db.execute(
        "SELECT (SELECT issued_by FROM cards.cards WHERE card_id = %(c)s),"
        " (SELECT staff_id FROM cards.recharges WHERE card_id = %(c)s),"
        " (SELECT staff_id FROM cards.bar_orders WHERE order_id = %(o)s)",
        {"c": card, "o": order["order_id"]},
    ).fetchone()
    assert made_by == (staff["id"],) * 3


def test_an_operator_token_carries_its_company(client, db):
    call_as(db, "admin", "SELECT api.company_create(%s, %s, %s)", ("login-co", "Login Co", rid()))
    operator = create_account(db, "operator", company_id="login-co")
    session = session_of(login(client, operator["email"]))
    seen = ok(client.post("/rpc/whoami", headers=bearer(session["access_token"])))
    assert seen["claims"]["company_id"] == "login-co" and seen["role"] == "operator"
    assert "point_of_sale" not in seen["claims"]
    ok(client.get("/rpc/machines_summary", headers=bearer(session["access_token"])))


def test_records_made_by_admins_and_operators_name_their_accounts(client, db):
    admin = create_account(db, "admin")
    admin_auth = bearer(session_of(login(client, admin["email"]))["access_token"])
    ok(
        client.post(
            "/rpc/company_create",
            json={"company_id": "made-co", "name": "Made", "request_id": rid()},
            headers=admin_auth,
        )
    )
    product = {"product_id": "made-cola", "name": "Cola", "category": "drinks", "price": 300, "is_deposit": False}
    ok(client.post("/rpc/product_upsert", json={**product, "request_id": rid()}, headers=admin_auth))
    assert "updated_by" not in ok(client.get("/rpc/products"))[0], "the menu does not show who changed it"
    db.execute("UPDATE core.settings SET value = '\"Festival Ops\"' WHERE key = 'cards.refund_debtor_name'")
    db.execute("UPDATE core.settings SET value = '\"DE02120300000000202051\"' WHERE key = 'cards.refund_debtor_iban'")
    card = issue_card(db, balance=1000)
    call_as(
        db,
        "staff",
        "SELECT api.refund_request(%s, 'Ana', 'ana@example.org', 'DE02120300000000202051', %s)",
        (card, rid()),
    )
    ok(client.post("/rpc/refund_export", json={"request_id": rid()}, headers=admin_auth))

    operator = create_account(db, "operator", company_id="made-co")
    op_auth = bearer(session_of(login(client, operator["email"]))["access_token"])
    ok(
        client.post(
            "/rpc/vending_product_upsert",
            json={"company_id": "made-co", "product_code": "C1", "name": "Cola", "category": None, "request_id": rid()},
            headers=op_auth,
        )
    )
    ok(
        client.post(
            "/rpc/location_create",
            json={"company_id": "made-co", "name": "Hall", "address": None, "request_id": rid()},
            headers=op_auth,
        )
    )
    made = db.execute(
        "SELECT (SELECT created_by FROM dex.companies WHERE company_id = 'made-co'),"
        " (SELECT updated_by FROM cards.products WHERE product_id = 'made-cola'),"
        " (SELECT created_by FROM cards.refund_exports ORDER BY export_id DESC LIMIT 1),"
        " (SELECT updated_by FROM dex.products WHERE company_id = 'made-co'),"
        " (SELECT created_by FROM dex.locations WHERE company_id = 'made-co')"
    ).fetchone()
    # The dex domain records the principal (role, sub and company), the others the sub.
    assert made[1:3] == (admin["id"],) * 2
    assert made[0] == f"admin:{admin['id']}"
    assert made[3:] == (f"operator:{operator['id']}|company=made-co",) * 2


def test_wrong_password_and_unknown_email_answer_alike(client, staff):
    wrong = login(client, staff["email"], "not the password")
    unknown = login(client, new_email("ghost"), "not the password")
    malformed = login(client, "no-at-sign", "not the password")
    for resp in (wrong, unknown, malformed):
        assert_error(resp, 401, "INVALID_LOGIN")
    assert wrong.json() == unknown.json() == malformed.json()


def test_the_lockout_after_repeated_failures_and_the_unlock(client, db, staff, admin_headers):
    for _ in range(4):
        assert_error(login(client, staff["email"], "wrong password"), 401, "INVALID_LOGIN")
    assert_error(login(client, staff["email"], "wrong password"), 401, "INVALID_LOGIN")  # the fifth locks
    locked = login(client, staff["email"])
    body = assert_error(locked, 429, "ACCOUNT_LOCKED")
    assert body["details"]["locked_until"] and 890 <= int(locked.headers["retry-after"]) <= 900
    listed = ok(client.get("/rpc/accounts", params={"role": "staff"}, headers=admin_headers))
    assert next(a for a in listed if a["id"] == staff["id"])["locked_until"] is not None

    unlocked = ok(
        client.post("/rpc/account_unlock", json={"account_id": staff["id"], "request_id": rid()}, headers=admin_headers)
    )
    assert unlocked["was_locked"] is True
    session_of(login(client, staff["email"]))


def test_concurrent_wrong_logins_are_all_counted(server, staff):
    results = at_once(
        server, range(12), lambda c, _: c.post("/auth/login", json={"email": staff["email"], "password": "bad guess!"})
    )
    codes = sorted((r.status_code, r.json()["code"]) for r in results)
    # accounts.max_failed_logins is 5: five wrong answers (the fifth locks), then locked.
    assert codes == [(401, "INVALID_LOGIN")] * 5 + [(429, "ACCOUNT_LOCKED")] * 7


def test_a_disabled_account_cannot_log_in_or_refresh(client, db, staff, admin_headers):
    session = session_of(login(client, staff["email"]))
    ok(
        client.post(
            "/rpc/account_update",
            json={"account_id": staff["id"], "changes": {"disabled": True}, "request_id": rid()},
            headers=admin_headers,
        )
    )
    assert_error(login(client, staff["email"]), 401, "INVALID_LOGIN")
    assert_error(
        client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]}), 401, "INVALID_REFRESH_TOKEN"
    )


def test_refresh_rotates_and_a_reused_token_revokes_the_session(client, staff):
    first = session_of(login(client, staff["email"]))
    second = session_of(client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}))
    assert second["refresh_token"] != first["refresh_token"]
    assert second["account"]["id"] == staff["id"]
    ok(client.post("/rpc/whoami", headers=bearer(second["access_token"])))

    reused = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert assert_error(reused, 401, "INVALID_REFRESH_TOKEN")["details"]["reason"] == "reused"
    # The copy revoked the whole family: the token it was exchanged for is dead too.
    later = client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert assert_error(later, 401, "INVALID_REFRESH_TOKEN")["details"]["reason"] == "revoked"
    # Another session of the same account is untouched.
    session_of(
        client.post("/auth/refresh", json={"refresh_token": session_of(login(client, staff["email"]))["refresh_token"]})
    )


def test_two_refreshes_racing_with_one_token_are_a_reuse(server, client, staff):
    token = session_of(login(client, staff["email"]))["refresh_token"]
    results = at_once(server, range(2), lambda c, _: c.post("/auth/refresh", json={"refresh_token": token}))
    assert sorted(r.status_code for r in results) == [200, 401]
    winner = next(r for r in results if r.status_code == 200).json()
    # The loser revoked the family, so the winner's new token is dead as well.
    again = client.post("/auth/refresh", json={"refresh_token": winner["refresh_token"]})
    assert assert_error(again, 401, "INVALID_REFRESH_TOKEN")["details"]["reason"] == "revoked"


def test_logout_revokes_the_refresh_token(client, staff):
    session = session_of(login(client, staff["email"]))
    out = client.post("/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert out.status_code == 204 and out.content == b""
    assert client.post("/auth/logout", json={"refresh_token": session["refresh_token"]}).status_code == 204
    assert_error(
        client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]}), 401, "INVALID_REFRESH_TOKEN"
    )


def test_the_access_lifetime_is_a_setting(client, db, staff):
    db.execute("UPDATE core.settings SET value = '60' WHERE key = 'accounts.access_token_seconds'")
    try:
        session = session_of(login(client, staff["email"]))
    finally:
        db.execute("UPDATE core.settings SET value = '900' WHERE key = 'accounts.access_token_seconds'")
    claims = jwt.decode(session["access_token"], JWT_SECRET, algorithms=["HS256"])
    assert session["expires_in"] == 60 and claims["exp"] - claims["iat"] == 60


def test_changing_ones_own_password_ends_the_other_sessions(client, staff):
    session = session_of(login(client, staff["email"]))
    auth = bearer(session["access_token"])
    wrong = client.post(
        "/rpc/account_set_password",
        json={
            "account_id": staff["id"],
            "current_password": "not it at all",
            "new_password": "a new password",
            "request_id": rid(),
        },
        headers=auth,
    )
    assert_error(wrong, 403, "CURRENT_PASSWORD_INVALID")
    changed = ok(
        client.post(
            "/rpc/account_set_password",
            json={
                "account_id": staff["id"],
                "current_password": PASSWORD,
                "new_password": "a new password",
                "request_id": rid(),
            },
            headers=auth,
        )
    )
    assert changed["sessions_revoked"] == 1
    assert_error(
        client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]}), 401, "INVALID_REFRESH_TOKEN"
    )
    assert_error(login(client, staff["email"]), 401, "INVALID_LOGIN")
    session_of(login(client, staff["email"], "a new password"))


def test_staff_cannot_manage_accounts(client, staff):
    auth = bearer(session_of(login(client, staff["email"]))["access_token"])
    made = client.post(
        "/rpc/account_create",
        json={"email": new_email(), "password": PASSWORD, "role": "admin", "display_name": "Me", "request_id": rid()},
        headers=auth,
    )
    assert_error(made, 403, "FORBIDDEN")
    other = client.post(
        "/rpc/account_set_password",
        json={
            "account_id": "00000000-0000-0000-0000-000000000000",
            "new_password": "a new password",
            "request_id": rid(),
        },
        headers=auth,
    )
    assert_error(other, 403, "FORBIDDEN")
    assert_error(client.get("/rpc/accounts", headers=auth), 403, "FORBIDDEN")


def test_the_login_functions_are_not_callable_over_rpc(client, token):
    for auth in ({}, bearer(token("admin", sub="x"))):
        resp = client.post("/rpc/auth_login", json={"email": "a@b.c", "password": "x"}, headers=auth)
        assert resp.status_code in (401, 403), resp.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/login", b"{}"),
        ("/auth/login", b'{"email": "a@example.org"}'),
        ("/auth/login", b'{"password": "x"}'),
        ("/auth/login", b'{"email": 5, "password": "x"}'),
        ("/auth/login", b'{"email": "a@example.org", "password": null}'),
        ("/auth/login", b'{"email": "a@example.org", "password": ["x"]}'),
        ("/auth/login", b'{"email": "a@example.org", "password": "x\\u0000y"}'),
        ("/auth/login", b'{"email": "a@example.org", "password": "x", "role": "admin"}'),
        ("/auth/login", ('{"email": "a@example.org", "password": "' + "x" * 5000 + '"}').encode()),
        ("/auth/login", ('{"email": "' + "e" * 5000 + '@example.org", "password": "x"}').encode()),
        ("/auth/login", b"[1, 2]"),
        ("/auth/login", b"not json"),
        ("/auth/refresh", b"{}"),
        ("/auth/refresh", b'{"refresh_token": 42}'),
        ("/auth/refresh", ('{"refresh_token": "' + "k" * 5000 + '"}').encode()),
        ("/auth/logout", b'{"refresh_token": {"a": 1}}'),
        ("/auth/logout", b'{"refresh_token": "klr_\\u0000"}'),
    ],
)
def test_bad_bodies_are_a_400(client, path, body):
    resp = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "INVALID_REQUEST")


def test_odd_but_wellformed_values_are_a_401(client):
    for email, password in [("", ""), ("a@example.org", ""), ("é@ü.example", "ü" * 100), (" @ ", "x" * 4096)]:
        assert_error(login(client, email, password), 401, "INVALID_LOGIN")
    for refresh_token in ["", "klr_", "klr_" + "g" * 64, "x" * 4096]:
        assert_error(client.post("/auth/refresh", json={"refresh_token": refresh_token}), 401, "INVALID_REFRESH_TOKEN")


def test_the_routes_are_in_the_openapi_document(client, staff):
    doc = ok(client.get("/openapi.json"))
    login_op = doc["paths"]["/auth/login"]["post"]
    assert set(login_op["responses"]) >= {"200", "401", "429"}
    schema = login_op["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(session_of(login(client, staff["email"])), schema)
    assert {"/auth/refresh", "/auth/logout"} <= set(doc["paths"])
