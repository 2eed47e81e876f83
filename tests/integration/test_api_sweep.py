"""A sweep over every api function in the catalogue: odd but well-typed values, wrong
types and missing arguments, for every request role. Whatever a function thinks of the
input, the answer is a clear 4xx (or a success) - never a 500.

Named to run last: it calls every mutating function too (issuing a card, registering a
kiosk...), so it must not leave state behind for tests that expect an id to be unknown."""

from __future__ import annotations

import secrets
import uuid

import pytest

from tests.support.helpers import call_as, rid

ODD = {  # per JSON type: values a client could send that the function must refuse or handle
    "integer": [0, -1, 2**53, 7],
    "number": [0, -1.5, 1e308],
    "string": ["", "x", "SW" + secrets.token_hex(3).upper(), "' OR 1=1 --", "é" * 300],
    "boolean": [True, False],
    "array": [[], ["x"]],
    "any": [None, {}, [], "x", {"unexpected": [1, 2]}],
}
WRONG = {"integer": "12", "number": "1.5", "string": 12345, "boolean": "yes", "array": {"a": 1}}


def _nested(depth: int):
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


# Per Postgres type: values no function can use, each sent to every argument of that type
# in turn (the other arguments as in the first variant). A NUL, text longer than the limit
# and longer than an index row holds, JSON nested too deep, infinite timestamps, an
# overflowing interval, integers out of range.
_TEXT = ["a\u0000b", "x" * 20_000, secrets.token_hex(1500)]
HOSTILE = {
    "text": _TEXT,
    "timestamp with time zone": ["infinity", "-infinity", "99999-12-31", "x" * 200],
    "date": ["infinity", "-infinity", "x" * 200],
    "interval": ["999999999999 years", "-178000000 years", "x" * 200],
    "jsonb": [{"k\u0000": "v"}, [{"k": "\u0000"}], _nested(300), _nested(33)],
    "uuid": ["\u0000", "x" * 200],
    "integer": [2**31, -(2**31) - 1],
    "bigint": [2**63, -(2**63) - 1],
    "boolean": [],
    "text[]": [["\u0000"], ["x" * 20_000]],
}


def variants(schema: dict) -> list[dict]:
    props = schema.get("properties", {})
    out = []
    for k in range(4):
        body = {}
        for name, prop in props.items():
            kind = prop.get("type", "any")
            kind = next((t for t in kind if t != "null"), "any") if isinstance(kind, list) else kind
            if name == "request_id":
                body[name] = rid()
            elif "uuid" in prop.get("description", ""):
                body[name] = str(uuid.uuid4())
            else:
                values = ODD.get(kind, ODD["any"])
                body[name] = values[k % len(values)]
        out.append(body)
    return out


@pytest.fixture(scope="module")
def identities(migrated, token):
    import psycopg

    kiosk_id = "sweep" + secrets.token_hex(3)
    with psycopg.connect(migrated.url, autocommit=True) as db:
        call_as(db, "admin", "SELECT api.atm_kiosk_register(%s, 'Sweep', NULL, NULL, 1000, %s)", (kiosk_id, rid()))
    return {
        "anon": {},
        "staff": {"Authorization": "Bearer " + token("staff")},
        "operator": {"Authorization": "Bearer " + token("operator", company_id="sweep-co")},
        "kiosk": {"Authorization": "Bearer " + token("kiosk", kiosk_id=kiosk_id)},
        "admin": {"Authorization": "Bearer " + token("admin")},
    }


def test_no_input_makes_a_server_error(client, identities):
    doc = client.get("/openapi.json").json()
    failures = []
    for path, item in sorted(doc["paths"].items()):
        if not path.startswith("/rpc/"):
            continue
        schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        bodies = variants(schema)
        bodies.append({})  # missing arguments
        bodies.append({name: WRONG.get(_kind(p), 12345) for name, p in schema.get("properties", {}).items()})
        for role, headers in identities.items():
            for body in bodies:
                resp = client.post(path, json=body, headers=headers)
                if resp.status_code >= 500 and resp.status_code != 503:
                    failures.append((path, role, body, resp.status_code, resp.text[:200]))
                elif resp.status_code >= 400:
                    assert {"code", "message"} <= set(resp.json()), (path, role, resp.text)
    assert failures == [], failures[:5]


def _kind(prop: dict) -> str:
    kind = prop.get("type", "any")
    return next((t for t in kind if t != "null"), "any") if isinstance(kind, list) else kind


def test_hostile_values_make_no_server_error(client, identities):
    doc = client.get("/openapi.json").json()
    failures, untested = [], set()
    for path, item in sorted(doc["paths"].items()):
        if not path.startswith("/rpc/"):
            continue
        op = item["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        # One role that may call the function (its checks reach the database), and anon
        # (refused first, whatever the values).
        allowed = [r for r in ("admin", "operator", "staff", "kiosk", "anon") if r in op["x-roles"]]
        roles = {"anon", *allowed[:1]}
        base = variants(schema)[0]
        for name, prop in schema.get("properties", {}).items():
            pgtype = prop["description"].removeprefix("Postgres type ")
            if pgtype not in HOSTILE:
                untested.add(pgtype)
            for value in HOSTILE.get(pgtype, []):
                body = {**base, name: value}
                for role in roles:
                    resp = client.post(path, json=body, headers=identities[role])
                    if resp.status_code >= 500 and resp.status_code != 503:
                        failures.append((path, role, name, str(value)[:40], resp.status_code, resp.text[:200]))
                    elif resp.status_code >= 400:
                        assert {"code", "message"} <= set(resp.json()), (path, role, resp.text)
    assert untested == set(), "argument types without hostile values: add them to HOSTILE"
    assert failures == [], failures[:5]
