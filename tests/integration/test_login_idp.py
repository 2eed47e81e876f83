"""Accounts next to an identity provider: on a server that also takes Supabase's tokens
(JWKS, JWT_AUDIENCE), a provider's staff token keeps working and names its user in what it
makes, and a login's token carries the audience the server demands."""

from __future__ import annotations

import httpx
import jwt
import pytest

from tests.conftest import JWT_SECRET
from tests.support.accounts import create_account, fast_hashing, login
from tests.support.answers import bearer, ok
from tests.support.database import server_env
from tests.support.fakes.jwks_fake import FakeJwks, SigningKey, supabase_claims
from tests.support.helpers import ensure_product, issue_card, rid
from tests.support.rpc_process import rpc_server


@pytest.fixture(scope="module")
def key():
    return SigningKey("RS256")


@pytest.fixture(scope="module")
def idp_client(migrated, key, tmp_path_factory):
    with FakeJwks([key]) as idp:
        env = server_env(
            migrated,
            JWT_SECRET,
            JWT_JWKS_URL=idp.url,
            JWT_AUDIENCE="authenticated",
            JWT_ROLE_MAP="authenticated=staff,anon=anon",
        )
        log_path = tmp_path_factory.mktemp("rpc") / "server.log"
        with (
            open(log_path, "w") as log,
            rpc_server(env, output=log) as running,
            httpx.Client(base_url=running.base, timeout=30) as client,
        ):
            yield client


def test_a_providers_staff_token_still_sells_and_is_named(idp_client, db, key):
    ensure_product(db, "idp-beer", 400)
    card = issue_card(db, balance=1000)
    claims = supabase_claims()
    order = ok(
        idp_client.post(
            "/rpc/bar_order",
            json={
                "card_id": card,
                "items": [{"product_id": "idp-beer", "quantity": 1}],
                "point_of_sale": "bar-idp",
                "request_id": rid(),
            },
            headers=bearer(key.sign(claims)),
        )
    )
    staff_id = db.execute("SELECT staff_id FROM cards.bar_orders WHERE order_id = %s", [order["order_id"]]).fetchone()[
        0
    ]
    assert staff_id == claims["sub"]


def test_a_login_token_carries_the_servers_audience(idp_client, db):
    fast_hashing(db)
    staff = create_account(db, "staff")
    session = ok(login(idp_client, staff["email"]))
    claims = jwt.decode(session["access_token"], JWT_SECRET, algorithms=["HS256"], audience="authenticated")
    assert claims["sub"] == staff["id"]
    seen = ok(idp_client.post("/rpc/whoami", headers=bearer(session["access_token"])))
    assert seen["role"] == "staff" and seen["claims"]["sub"] == staff["id"]
