"""rpc/auth.py on its own: which signed tokens are an identity, and which are a 401 (or
403 for a role that is not a request role) - never an exception of another kind."""

from __future__ import annotations

import time

import jwt
import pytest

from kioskledger.ops.tokens import make_token
from kioskledger.protocol import KIOSK_TOKEN_MAX_TTL_DEFAULT, TOKEN_MAX_TTL_DEFAULT
from rpc.auth import Authenticator
from rpc.errors import ApiError

SECRET = "unit-test-secret-of-at-least-32-bytes!"
DAY = 86400


def sign(claims: dict) -> str:
    return jwt.encode(claims, SECRET, algorithm="HS256")


def identify(token: str, **limits):
    return Authenticator(SECRET, **limits).identify("Bearer " + token)


def refused(token: str, **limits) -> ApiError:
    with pytest.raises(ApiError) as caught:
        identify(token, **limits)
    return caught.value


def soon() -> int:
    return int(time.time()) + 600


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"role": ["admin"]}, id="role-list"),
        pytest.param({"role": 1}, id="role-number"),
        pytest.param({"role": None}, id="role-null"),
        pytest.param({"role": {"admin": True}}, id="role-object"),
        pytest.param({"role": "operator", "company_id": 7}, id="company-number"),
        pytest.param({"role": "operator", "company_id": ["a", "b"]}, id="company-list"),
        pytest.param({"role": "operator", "company_id": "*"}, id="company-wildcard"),
        pytest.param({"role": "operator", "company_id": ""}, id="company-empty"),
        pytest.param({"role": "kiosk", "kiosk_id": 3}, id="kiosk-number"),
        pytest.param({"role": "kiosk", "kiosk_id": ""}, id="kiosk-empty"),
        pytest.param({"role": "staff", "sub": 5}, id="sub-number"),
        pytest.param({"role": "staff", "exp": "99999999999"}, id="exp-string"),
        pytest.param({"role": "staff", "exp": [1]}, id="exp-list"),
        pytest.param({"role": "staff", "exp": True}, id="exp-bool"),
        pytest.param({"role": "staff", "nbf": "0"}, id="nbf-string"),
        pytest.param({"role": "staff", "iat": "0"}, id="iat-string"),
        pytest.param({"role": "staff", "nbf": True}, id="nbf-bool"),
        pytest.param({"role": "staff", "nbf": time.time() + 3600}, id="nbf-future"),
        pytest.param({"role": "staff", "iat": time.time() + 3600}, id="iat-future"),
    ],
)
def test_ill_typed_or_premature_claims_are_401(claims):
    err = refused(sign({"sub": "u", "exp": soon(), **claims}))
    assert err.code == "UNAUTHENTICATED", err


def test_exp_is_required():
    assert refused(sign({"sub": "u", "role": "admin"})).code == "UNAUTHENTICATED"


def test_unknown_role_string_stays_403():
    assert refused(sign({"role": "postgres", "exp": soon()})).code == "FORBIDDEN"


def test_lifetime_is_limited_per_role():
    now = int(time.time())
    # Defaults: 30 days for people, 366 for kiosks (provisioning signs kiosks for 365).
    assert identify(sign({"role": "admin", "exp": now + 29 * DAY})).role == "admin"
    assert "too long" in refused(sign({"role": "admin", "exp": now + 31 * DAY})).message
    assert identify(sign({"role": "kiosk", "kiosk_id": "k1", "exp": now + 365 * DAY})).role == "kiosk"
    assert refused(sign({"role": "kiosk", "exp": now + 367 * DAY})).code == "UNAUTHENTICATED"
    # Configurable.
    assert refused(sign({"role": "staff", "exp": now + 7200}), max_ttl=3600).code == "UNAUTHENTICATED"
    assert identify(sign({"role": "staff", "exp": now + 60 * DAY}), max_ttl=90 * DAY).role == "staff"


def test_valid_token_is_an_identity_with_its_claims():
    ident = identify(sign({"sub": "ops", "role": "operator", "company_id": "acme-1", "exp": soon(), "iat": 0}))
    assert ident.role == "operator" and '"company_id":"acme-1"' in ident.claims_json
    assert ident.expires_at is not None


def test_minted_tokens_pass_and_the_minter_refuses_what_the_server_would():
    # What `kioskledger token` and kiosk-provision sign (365 days for a kiosk) is accepted.
    assert identify(make_token(SECRET, "kiosk", {"sub": "kiosk:k1", "kiosk_id": "k1"}, ttl=365 * DAY)).role == "kiosk"
    assert identify(make_token(SECRET, "admin", ttl=7 * DAY)).role == "admin"
    with pytest.raises(ValueError, match="JWT_MAX_TTL"):
        make_token(SECRET, "admin", ttl=TOKEN_MAX_TTL_DEFAULT + 1)
    with pytest.raises(ValueError, match="JWT_KIOSK_MAX_TTL"):
        make_token(SECRET, "kiosk", ttl=KIOSK_TOKEN_MAX_TTL_DEFAULT + 1)
