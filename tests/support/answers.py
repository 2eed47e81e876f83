"""Reading the RPC's answers in tests: the one error body shape, a 200's JSON, a bearer
header, and the committed DEX fixture files."""

from __future__ import annotations

from pathlib import Path

ERROR_KEYS = {"code", "message", "details", "hint"}
DEX_FIXTURES = Path(__file__).parents[1] / "fixtures" / "dex"


def bearer(token: str) -> dict:
    return {"Authorization": "Bearer " + token}


def assert_error(resp, status: int, code: str) -> dict:
    """The answer is `status` with the error body for `code` (and a message)."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == ERROR_KEYS and body["code"] == code, body
    assert body["message"], body
    return body


def ok(resp):
    assert resp.status_code == 200, resp.text
    return resp.json()


def dex_fixture(name: str) -> str:
    # Bytes as committed: CR, LF and CRLF survive (open() would translate them).
    return (DEX_FIXTURES / name).read_bytes().decode("ascii")
