"""The public keys of an identity provider (a JWKS), for RS256 and ES256 tokens.

Two sources behind one interface, `key(kid, alg)`: a JSON file read once at start-up
(JWT_JWKS_FILE), or a URL (JWT_JWKS_URL) fetched with httpx and kept for a TTL. A token
naming a kid the cached set lacks makes the URL be fetched again - that is how a
provider's key rotation reaches us - but at most once per refetch interval, so a flood of
tokens with made-up kids costs the provider one request per interval, not one per token.

Only asymmetric signing keys are taken: a symmetric ("oct") key in a published key set
would be a secret anyone can read, and a key marked for encryption is not for signatures.
Each key is bound to one algorithm (its `alg`, else the one its type implies), so an RSA
key is never tried as an HMAC secret and an EC key never for RS256.

The fetch is synchronous (token checks are), bounded by a short timeout; with the refetch
interval that bounds how long a slow provider can hold requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import orjson

ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
FETCH_TIMEOUT_S = 2.0


class KeysUnavailable(Exception):
    """No key set could be read (yet): the provider is unreachable or answered garbage."""


@dataclass(frozen=True)
class SigningKey:
    kid: str | None
    alg: str
    key: object  # what PyJWT verifies with


def parse_jwks(body: bytes | str) -> list[SigningKey]:
    """The usable signing keys of a JWKS document; raises ValueError for a document that
    is not a JWKS at all (a key of a type we do not take is skipped, not an error)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError('not a JWKS: expected {"keys": [...]}')
    keys = []
    for entry in doc["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            jwk = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        if jwk.algorithm_name not in ASYMMETRIC_ALGORITHMS:
            continue
        kid = entry.get("kid")
        keys.append(SigningKey(kid if isinstance(kid, str) else None, jwk.algorithm_name, jwk.key))
    return keys


def _pick(keys: list[SigningKey], kid: str | None, alg: str) -> SigningKey | None:
    candidates = [k for k in keys if k.alg == alg and (kid is None or k.kid == kid)]
    # Without a kid the key must be unambiguous: trying each key in turn would make a
    # set of many keys a multiplier of the work a bad token costs.
    return candidates[0] if len(candidates) == 1 else None


class StaticJwks:
    """A key set from a file, read once: a file that is not a JWKS stops the start-up."""

    def __init__(self, path: str):
        try:
            self._keys = parse_jwks(Path(path).read_bytes())
        except (OSError, ValueError) as err:
            raise SystemExit(f"rpc: JWT_JWKS_FILE {path}: {err}") from None
        if not self._keys:
            raise SystemExit(f"rpc: JWT_JWKS_FILE {path} has no RS256 or ES256 signing key")

    def key(self, kid: str | None, alg: str) -> SigningKey | None:
        return _pick(self._keys, kid, alg)


class RemoteJwks:
    """A key set from a URL: cached for `ttl_s`, fetched again for an unknown kid at most
    once per `refetch_interval_s` (a failed fetch counts: a provider that is down is not
    asked once per request either)."""

    def __init__(self, url: str, *, ttl_s: float, refetch_interval_s: float, timeout_s: float = FETCH_TIMEOUT_S):
        self._url = url
        self._ttl_s = ttl_s
        self._refetch_interval_s = refetch_interval_s
        self._timeout_s = timeout_s
        self._keys: list[SigningKey] | None = None
        self._fetched_at = 0.0  # monotonic time of the last successful fetch
        self._attempted_at: float | None = None  # monotonic time of the last attempt
        self.fetches = 0  # attempts, for tests and logs

    def key(self, kid: str | None, alg: str) -> SigningKey | None:
        now = time.monotonic()
        if self._keys is None or now - self._fetched_at >= self._ttl_s:
            self._fetch_if_allowed(now)
        if self._keys is None:
            raise KeysUnavailable(f"the identity provider's keys could not be fetched from {self._url}")
        found = _pick(self._keys, kid, alg)
        if found is None and kid is not None and self._fetch_if_allowed(now):
            found = _pick(self._keys, kid, alg)
        return found

    def _fetch_if_allowed(self, now: float) -> bool:
        if self._attempted_at is not None and now - self._attempted_at < self._refetch_interval_s:
            return False
        self._attempted_at = now
        self.fetches += 1
        try:
            resp = httpx.get(self._url, timeout=self._timeout_s, follow_redirects=False)
            resp.raise_for_status()
            keys = parse_jwks(resp.content)
        except (httpx.HTTPError, ValueError):
            # Keep the last good set: a provider's outage should not log everyone out
            # while the keys we hold are still the ones it signs with.
            return False
        self._keys = keys
        self._fetched_at = now
        return True
