"""Tokens from an identity provider, end to end: Supabase Auth's access tokens, signed
RS256 and ES256 with keys made here and published by a local JWKS endpoint, reach SQL
with the mapped role; the forgeries and the provider's outage are a 401, never a 5xx."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import JWT_SECRET
from tests.support.database import server_env
from tests.support.fakes.jwks_fake import FakeJwks, SigningKey, supabase_claims
from tests.support.rpc_process import rpc_server


@pytest.fixture(scope="module")
def keys():
    return {"RS256": SigningKey("RS256"), "ES256": SigningKey("ES256")}


@pytest.fixture(scope="module")
def idp(keys):
    with FakeJwks(list(keys.values())) as fake:
        yield fake


@pytest.fixture(scope="module")
def idp_server(migrated, idp, tmp_path_factory):
    """An RPC server that takes Supabase's tokens as well as its own HS256 ones."""
    env = server_env(
        migrated,
        JWT_SECRET,
        JWT_JWKS_URL=idp.url,
        JWT_AUDIENCE="authenticated",
        JWT_ROLE_MAP="authenticated=staff,anon=anon",
        # Every unknown kid may fetch again, so the tests see rotation and outage at once;
        # the limit itself is tested in tests/unit/test_auth_idp.py.
        JWT_JWKS_REFETCH_INTERVAL="0",
    )
    with open(tmp_path_factory.mktemp("rpc") / "server.log", "w") as log, rpc_server(env, output=log) as running:
        yield running.base


@pytest.fixture
def idp_client(idp_server):
    with httpx.Client(base_url=idp_server, timeout=30) as c:
        yield c


def whoami(client, token: str) -> httpx.Response:
    return client.post("/rpc/whoami", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_supabase_token_reaches_sql_with_the_mapped_role(idp_client, keys, alg):
    claims = supabase_claims()
    resp = whoami(idp_client, keys[alg].sign(claims))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["role"] == "staff"
    seen = body["claims"]
    assert seen["role"] == "staff" and seen["token_role"] == "authenticated"
    assert seen["sub"] == claims["sub"] and seen["email"] == claims["email"]
    assert seen["session_id"] == claims["session_id"] and seen["app_metadata"]["provider"] == "email"
    assert claims["sub"] in body["principal"]


def test_own_hs256_token_needs_the_audience_too(idp_client):
    now = int(time.time())
    with_aud = jwt.encode({"role": "admin", "aud": "authenticated", "exp": now + 60}, JWT_SECRET, algorithm="HS256")
    assert whoami(idp_client, with_aud).json()["role"] == "admin"
    without = jwt.encode({"role": "admin", "exp": now + 60}, JWT_SECRET, algorithm="HS256")
    assert whoami(idp_client, without).status_code == 401


def test_token_for_another_audience_is_401(idp_client, keys):
    resp = whoami(idp_client, keys["RS256"].sign(supabase_claims(aud="some-other-app")))
    assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHENTICATED"


def test_service_role_is_403(idp_client, keys):
    resp = whoami(idp_client, keys["ES256"].sign(supabase_claims(role="service_role")))
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"


def test_alg_none_is_401(idp_client):
    claims = supabase_claims(role="admin")
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert whoami(idp_client, unsigned).status_code == 401


def test_public_key_as_hmac_secret_is_401(idp_client, keys):
    pem = (
        keys["RS256"]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "HS256", "typ": "JWT", "kid": keys["RS256"].kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(supabase_claims(role='admin')).encode())}"
    forged = f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"
    resp = whoami(idp_client, forged)
    assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHENTICATED"


def test_rotated_key_is_picked_up(idp_client, idp):
    new = SigningKey("ES256")
    idp.keys.append(new)
    resp = whoami(idp_client, new.sign(supabase_claims()))
    assert resp.status_code == 200 and resp.json()["role"] == "staff"


def test_provider_down_is_401_not_5xx(idp_client, idp, keys):
    idp.failing = True
    try:
        # A kid the server has never seen needs the provider, which does not answer.
        resp = whoami(idp_client, SigningKey("RS256").sign(supabase_claims()))
        assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHENTICATED"
        # The keys already held still verify.
        assert whoami(idp_client, keys["RS256"].sign(supabase_claims())).status_code == 200
    finally:
        idp.failing = False
