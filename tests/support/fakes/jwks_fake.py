"""A local identity provider's key endpoint (a JWKS over HTTP, as Supabase Auth serves it
at /auth/v1/.well-known/jwks.json), with signing keys made in the test and tokens shaped
like Supabase Auth's access tokens."""

from __future__ import annotations

import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.fakes.http_fake import HttpFake, JsonHandler

JWKS_PATH = "/auth/v1/.well-known/jwks.json"
PROJECT_REF = "abcdefghijklmnopqrst"
ISSUER = f"https://{PROJECT_REF}.supabase.co/auth/v1"


class SigningKey:
    """A private key, its kid and algorithm; `public_jwk` is what the JWKS publishes."""

    def __init__(self, alg: str, kid: str | None = None):
        self.alg = alg
        self.kid = kid or uuid.uuid4().hex
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            algorithm = jwt.algorithms.RSAAlgorithm
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            algorithm = jwt.algorithms.ECAlgorithm
        self.public_jwk = {
            **json.loads(algorithm.to_jwk(self.private.public_key())),
            "kid": self.kid,
            "alg": alg,
            "use": "sig",
        }

    def sign(self, claims: dict, **header) -> str:
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **header})


def supabase_claims(role: str = "authenticated", ttl: int = 3600, **extra) -> dict:
    """The payload of a Supabase Auth access token for a signed-in user."""
    now = int(time.time())
    return {
        "iss": ISSUER,
        "sub": str(uuid.uuid4()),
        "aud": "authenticated",
        "exp": now + ttl,
        "iat": now,
        "email": "ana@example.com",
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"email_verified": True},
        "role": role,
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
        **extra,
    }


class _Handler(JsonHandler):
    def do_GET(self):
        self.fake.requests += 1
        if self.path != JWKS_PATH:
            self.send_json(404, {"message": "not found"})
        elif self.fake.failing:
            self.send_json(503, {"message": "unavailable"})
        else:
            self.send_json(200, {"keys": [k.public_jwk for k in self.fake.keys]})


class FakeJwks(HttpFake):
    handler = _Handler

    def __init__(self, keys: list[SigningKey] | None = None):
        super().__init__()
        self.keys = list(keys or [])
        self.requests = 0
        self.failing = False
        self.url = self.base + JWKS_PATH
