"""rpc/auth.py with an identity provider's keys (rpc/jwks.py): RS256 and ES256 tokens from
a JWKS file or URL (a local HTTP fake), the audience, the role's claim path and map, and
the tokens that must never pass: `alg: none`, an RSA public key used as an HMAC secret, a
key of the wrong type for the token's algorithm."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization

from rpc.auth import Authenticator
from rpc.config import jwks_url_checked, role_claim, role_map
from rpc.errors import ApiError
from rpc.jwks import RemoteJwks, StaticJwks
from tests.support.fakes.jwks_fake import FakeJwks, SigningKey, supabase_claims

SECRET = "unit-test-secret-of-at-least-32-bytes!"
SUPABASE_MAP = {"authenticated": "staff", "anon": "anon"}


@pytest.fixture(scope="module")
def rsa_key():
    return SigningKey("RS256")


@pytest.fixture(scope="module")
def ec_key():
    return SigningKey("ES256")


@pytest.fixture
def jwks_file(tmp_path, rsa_key, ec_key):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [rsa_key.public_jwk, ec_key.public_jwk]}))
    return str(path)


def auth(jwks_file=None, **options) -> Authenticator:
    jwks = StaticJwks(jwks_file) if jwks_file else None
    return Authenticator(options.pop("secret", SECRET), jwks=jwks, **options)


def refused(authenticator: Authenticator, token: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        authenticator.identify("Bearer " + token)
    return caught.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed_hs256(claims: dict, secret: bytes, kid: str | None = None) -> str:
    """HS256 signed by hand: PyJWT itself refuses a PEM public key as an HMAC secret."""
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_supabase_token_from_a_jwks_file_gets_the_mapped_role(jwks_file, rsa_key, ec_key, alg):
    key = rsa_key if alg == "RS256" else ec_key
    claims = supabase_claims()
    ident = auth(jwks_file, audience="authenticated", role_map=SUPABASE_MAP).identify("Bearer " + key.sign(claims))
    seen = orjson.loads(ident.claims_json)
    assert ident.role == "staff"
    assert seen["role"] == "staff" and seen["token_role"] == "authenticated"
    assert seen["sub"] == claims["sub"] and seen["app_metadata"] == {"provider": "email", "providers": ["email"]}


def test_unmapped_provider_role_is_403(jwks_file, rsa_key):
    # Supabase's service_role is not a request role, and no map makes it one.
    err = refused(auth(jwks_file, role_map=SUPABASE_MAP), rsa_key.sign(supabase_claims(role="service_role")))
    assert err.code == "FORBIDDEN"


def test_audience(jwks_file, rsa_key):
    token = rsa_key.sign(supabase_claims(role="staff"))
    # Unset: any aud (or none) passes, as in PostgREST.
    assert auth(jwks_file).identify("Bearer " + token).role == "staff"
    no_aud = supabase_claims(role="staff")
    del no_aud["aud"]
    assert auth(jwks_file).identify("Bearer " + rsa_key.sign(no_aud)).role == "staff"
    # Set: the token's aud must include it.
    assert auth(jwks_file, audience="authenticated").identify("Bearer " + token).role == "staff"
    listed = rsa_key.sign(supabase_claims(role="staff", aud=["other", "authenticated"]))
    assert auth(jwks_file, audience="authenticated").identify("Bearer " + listed).role == "staff"
    for bad in (token, rsa_key.sign(no_aud)):
        assert refused(auth(jwks_file, audience="kioskledger"), bad).code == "UNAUTHENTICATED"
    # HS256 tokens are held to it too.
    hs = jwt.encode({"role": "staff", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert refused(auth(jwks_file, audience="kioskledger"), hs).code == "UNAUTHENTICATED"


def test_ill_typed_aud_is_401(jwks_file, rsa_key):
    assert refused(auth(jwks_file), rsa_key.sign(supabase_claims(role="staff", aud=7))).code == "UNAUTHENTICATED"


def test_role_claim_path(jwks_file, rsa_key):
    a = auth(jwks_file, role_claim="app_metadata.role")
    claims = supabase_claims(app_metadata={"provider": "email", "role": "operator"}, company_id="acme")
    ident = a.identify("Bearer " + rsa_key.sign(claims))
    seen = orjson.loads(ident.claims_json)
    assert ident.role == "operator" and seen["role"] == "operator" and seen["token_role"] == "authenticated"
    for app_metadata in ({"provider": "email"}, {"role": ["admin"]}, "admin"):
        err = refused(a, rsa_key.sign(supabase_claims(app_metadata=app_metadata)))
        assert err.code == "UNAUTHENTICATED", app_metadata


def test_role_settings_are_parsed_or_refused():
    assert role_map(" authenticated=staff, anon=anon ,") == SUPABASE_MAP
    for bad in ("authenticated", "=staff", "authenticated="):
        with pytest.raises(SystemExit):
            role_map(bad)
    assert role_claim("app_metadata.role") == "app_metadata.role"
    for bad in ("app_metadata..role", "", "user_metadata.role"):
        with pytest.raises(SystemExit):
            role_claim(bad)

    assert jwks_url_checked("https://ref.supabase.co/auth/v1/.well-known/jwks.json")
    assert jwks_url_checked("http://127.0.0.1:9999/jwks.json")
    for bad in ("http://idp.example.com/jwks.json", "file:///etc/jwks.json", "idp.example.com"):
        with pytest.raises(SystemExit):
            jwks_url_checked(bad)


def test_provider_clock_a_little_ahead_is_tolerated(jwks_file, rsa_key):
    # The provider stamps iat with its clock; ours may be a few seconds behind.
    ahead = supabase_claims(role="staff", iat=int(time.time()) + 5)
    assert auth(jwks_file).identify("Bearer " + rsa_key.sign(ahead)).role == "staff"
    far = supabase_claims(role="staff", iat=int(time.time()) + 120)
    assert "not valid yet" in refused(auth(jwks_file), rsa_key.sign(far)).message
    late = supabase_claims(role="staff", exp=int(time.time()) - 2)
    assert "expired" in refused(auth(jwks_file), rsa_key.sign(late)).message


def test_exp_is_still_required_and_limited(jwks_file, rsa_key):
    no_exp = supabase_claims(role="staff")
    del no_exp["exp"]
    assert refused(auth(jwks_file), rsa_key.sign(no_exp)).code == "UNAUTHENTICATED"
    long = rsa_key.sign(supabase_claims(role="staff", ttl=400 * 86400))
    assert "too long" in refused(auth(jwks_file), long).message


def test_alg_none_is_refused(jwks_file):
    unsigned = jwt.encode({"role": "admin", "exp": int(time.time()) + 60}, None, algorithm="none")
    assert refused(auth(jwks_file), unsigned).code == "UNAUTHENTICATED"


def test_rsa_public_key_as_hmac_secret_is_refused(jwks_file, rsa_key):
    # The classic confusion: HS256 "signed" with the provider's public key, which anyone
    # can read from the JWKS, in every form a verifier might turn the key into a secret.
    public = rsa_key.private.public_key()
    forms = [
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        json.dumps(rsa_key.public_jwk).encode(),
    ]
    claims = {"role": "admin", "exp": int(time.time()) + 60}
    for secret in forms:
        for a in (auth(jwks_file), auth(jwks_file, secret=None)):
            token = hand_signed_hs256(claims, secret, kid=rsa_key.kid)
            assert refused(a, token).code == "UNAUTHENTICATED"


def test_a_key_is_used_only_for_its_algorithm(jwks_file, rsa_key, ec_key):
    # The header says ES256 but names the RSA key's kid (and the reverse): no key found.
    claims = supabase_claims(role="staff")
    rs_as_es = jwt.encode(claims, ec_key.private, algorithm="ES256", headers={"kid": rsa_key.kid})
    assert refused(auth(jwks_file), rs_as_es).code == "UNAUTHENTICATED"
    es_as_rs = jwt.encode(claims, rsa_key.private, algorithm="RS256", headers={"kid": ec_key.kid})
    assert refused(auth(jwks_file), es_as_rs).code == "UNAUTHENTICATED"


def test_unknown_kid_and_foreign_key_are_401(jwks_file, rsa_key):
    stranger = SigningKey("RS256", kid=rsa_key.kid)  # same kid, another key
    assert refused(auth(jwks_file), stranger.sign(supabase_claims(role="staff"))).code == "UNAUTHENTICATED"
    unknown = SigningKey("RS256")
    assert refused(auth(jwks_file), unknown.sign(supabase_claims(role="staff"))).code == "UNAUTHENTICATED"


def test_rs_token_without_a_jwks_is_401(rsa_key):
    assert refused(auth(), rsa_key.sign(supabase_claims(role="staff"))).code == "UNAUTHENTICATED"


def test_hs256_without_secret_is_401_when_only_a_jwks_is_set(jwks_file):
    hs = jwt.encode({"role": "staff", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert refused(auth(jwks_file, secret=None), hs).code == "UNAUTHENTICATED"


def test_symmetric_keys_in_a_jwks_are_ignored(tmp_path, rsa_key):
    # An "oct" key in a published set would be a secret anyone can read.
    path = tmp_path / "jwks.json"
    oct_key = {"kty": "oct", "kid": "shared", "k": b64(b"published-secret-32-bytes-long!!"), "alg": "HS256"}
    path.write_text(json.dumps({"keys": [oct_key, rsa_key.public_jwk]}))
    token = hand_signed_hs256({"role": "admin", "exp": int(time.time()) + 60}, b"published-secret-32-bytes-long!!")
    assert refused(auth(str(path), secret=None), token).code == "UNAUTHENTICATED"


def test_a_file_that_is_not_a_jwks_stops_the_start(tmp_path):
    for text in ("not json", '{"keys": 1}', '{"keys": [{"kty": "oct", "k": "AAAA"}]}'):
        path = tmp_path / "jwks.json"
        path.write_text(text)
        with pytest.raises(SystemExit):
            StaticJwks(str(path))


def remote(url: str, **timing) -> Authenticator:
    jwks = RemoteJwks(url, ttl_s=timing.get("ttl_s", 300), refetch_interval_s=timing.get("refetch_s", 30))
    return Authenticator(None, jwks=jwks, role_map=SUPABASE_MAP)


def test_remote_jwks_is_cached(rsa_key):
    with FakeJwks([rsa_key]) as idp:
        a = remote(idp.url)
        for _ in range(5):
            assert a.identify("Bearer " + rsa_key.sign(supabase_claims())).role == "staff"
        assert idp.requests == 1


def test_rotation_is_picked_up_on_an_unknown_kid(rsa_key, ec_key):
    with FakeJwks([rsa_key]) as idp:
        a = remote(idp.url, refetch_s=0)
        assert a.identify("Bearer " + rsa_key.sign(supabase_claims())).role == "staff"
        idp.keys.append(ec_key)
        assert a.identify("Bearer " + ec_key.sign(supabase_claims())).role == "staff"
        assert idp.requests == 2


def test_a_flood_of_unknown_kids_fetches_at_most_once_per_interval(rsa_key):
    with FakeJwks([rsa_key]) as idp:
        a = remote(idp.url, refetch_s=60)
        assert a.identify("Bearer " + rsa_key.sign(supabase_claims())).role == "staff"
        for n in range(50):
            token = jwt.encode(supabase_claims(), rsa_key.private, algorithm="RS256", headers={"kid": f"made-up-{n}"})
            assert refused(a, token).code == "UNAUTHENTICATED"
        assert idp.requests == 1  # the first fetch; the interval had not passed since


def test_unknown_kid_refetch_waits_for_the_interval(rsa_key, ec_key, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("rpc.jwks.time.monotonic", lambda: now[0])
    with FakeJwks([rsa_key]) as idp:
        a = remote(idp.url, refetch_s=30)
        assert a.identify("Bearer " + rsa_key.sign(supabase_claims())).role == "staff"
        idp.keys.append(ec_key)
        token = ec_key.sign(supabase_claims())
        now[0] += 10
        assert refused(a, token).code == "UNAUTHENTICATED"
        assert idp.requests == 1
        now[0] += 25
        assert a.identify("Bearer " + token).role == "staff"
        assert idp.requests == 2


def test_unreachable_jwks_is_401_and_not_asked_per_request(rsa_key):
    with FakeJwks([rsa_key]) as idp:
        idp.failing = True
        a = remote(idp.url, refetch_s=60)
        for _ in range(5):
            err = refused(a, rsa_key.sign(supabase_claims()))
            assert err.code == "UNAUTHENTICATED" and "could not be fetched" in err.message
        assert idp.requests == 1
    down = remote(idp.url)  # the fake is closed: connection refused
    assert refused(down, rsa_key.sign(supabase_claims())).code == "UNAUTHENTICATED"


def test_last_good_keys_outlive_a_failed_refresh(rsa_key, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("rpc.jwks.time.monotonic", lambda: now[0])
    with FakeJwks([rsa_key]) as idp:
        a = remote(idp.url, ttl_s=60, refetch_s=30)
        assert a.identify("Bearer " + rsa_key.sign(supabase_claims())).role == "staff"
        idp.failing = True
        now[0] += 120
        assert a.identify("Bearer " + rsa_key.sign(supabase_claims())).role == "staff"
        assert idp.requests == 2
