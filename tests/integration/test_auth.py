"""Bearer tokens: signature, expiry, role claim; the CLI that prints them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import jwt

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
