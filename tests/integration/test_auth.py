"""Bearer tokens: signature, expiry, role claim; the CLI that prints them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import jwt
import pytest

from kioskledger.ops.tokens import make_token
from tests.conftest import JWT_SECRET


def call(client, token):
    return client.post("/rpc/whoami", headers={"Authorization": f"Bearer {token}"})


def test_wrong_signature_is_401(client):
    bad = jwt.encode(
        {"role": "admin", "exp": time.time() + 60}, "not-the-secret-but-32-bytes-long!!", algorithm="HS256"
    )
    resp = call(client, bad)
    assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHENTICATED"


def test_expired_token_is_401(client):
    old = jwt.encode({"role": "admin", "exp": int(time.time()) - 5}, JWT_SECRET, algorithm="HS256")
    resp = call(client, old)
    assert resp.status_code == 401 and "expired" in resp.json()["message"]


def test_alg_none_is_refused(client):
    unsigned = jwt.encode({"role": "admin"}, None, algorithm="none")
    assert call(client, unsigned).status_code == 401


def test_token_without_role_is_401(client):
    tok = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, JWT_SECRET, algorithm="HS256")
    assert call(client, tok).status_code == 401


def test_token_with_unknown_role_is_403(client):
    # A signed token naming a database role that is not a request role (e.g. the owner).
    tok = jwt.encode({"role": "postgres", "exp": int(time.time()) + 60}, JWT_SECRET, algorithm="HS256")
    resp = call(client, tok)
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"


def test_malformed_authorization_header_is_401(client):
    resp = client.post("/rpc/whoami", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert resp.status_code == 401


def test_cli_token_is_accepted_by_the_server(client):
    env = dict(os.environ, JWT_SECRET=JWT_SECRET)
    out = subprocess.run(
        [sys.executable, "-m", "kioskledger", "token", "kiosk", "--claim", "kiosk_id=k-7"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    resp = call(client, out.stdout.strip())
    assert resp.status_code == 200
    body = resp.json()
    assert body["role"] == "kiosk" and body["claims"]["kiosk_id"] == "k-7"


def test_cli_token_refuses_unknown_role():
    env = dict(os.environ, JWT_SECRET=JWT_SECRET)
    out = subprocess.run(
        [sys.executable, "-m", "kioskledger", "token", "root"], capture_output=True, text=True, env=env
    )
    assert out.returncode != 0 and out.stdout == ""


def sign(claims: dict) -> str:
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def assert_401(resp):
    assert resp.status_code == 401, resp.text
    assert resp.json()["code"] == "UNAUTHENTICATED"


def test_token_without_exp_is_401(client):
    assert_401(call(client, sign({"sub": "x", "role": "admin"})))


@pytest.mark.parametrize(
    "claims",
    [
        {"role": ["admin"]},
        {"role": 4},
        {"role": "operator", "company_id": 7},
        {"role": "operator", "company_id": ["a"]},
        {"role": "operator", "company_id": "*"},
        {"role": "kiosk", "kiosk_id": {"id": "k"}},
        {"role": "staff", "exp": "99999999999"},
        {"role": "staff", "nbf": int(time.time()) + 3600},
        {"role": "staff", "iat": int(time.time()) + 3600},
    ],
    ids=[
        "role-list",
        "role-number",
        "company-number",
        "company-list",
        "company-wildcard",
        "kiosk-object",
        "exp-string",
        "nbf-future",
        "iat-future",
    ],
)
def test_ill_typed_or_premature_claims_are_401_not_500(client, claims):
    assert_401(call(client, sign({"sub": "x", "exp": int(time.time()) + 60, **claims})))


def test_token_lifetime_is_limited_but_a_provisioned_kiosk_token_passes(client):
    now = int(time.time())
    assert_401(call(client, sign({"sub": "x", "role": "admin", "exp": now + 400 * 86400})))
    kiosk = make_token(JWT_SECRET, "kiosk", {"sub": "kiosk:k1", "kiosk_id": "k1"}, ttl=365 * 86400)
    resp = call(client, kiosk)
    assert resp.status_code == 200 and resp.json()["role"] == "kiosk"


def test_cli_token_refuses_a_lifetime_the_server_would_refuse():
    env = dict(os.environ, JWT_SECRET=JWT_SECRET)
    out = subprocess.run(
        [sys.executable, "-m", "kioskledger", "token", "admin", "--ttl", str(90 * 86400)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode != 0 and out.stdout == "" and "JWT_MAX_TTL" in out.stderr
