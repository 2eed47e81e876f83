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
