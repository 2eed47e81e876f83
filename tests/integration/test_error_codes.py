"""core.error_codes is the one mapping from error code to HTTP status: every code the SQL
functions and the RPC server can answer with has its row, and a new decline needs only
SQL (a row, a function, the reload NOTIFY) - no Python change."""

from __future__ import annotations

import re
from pathlib import Path

from kioskledger.protocol import RELOAD_CHANNEL
from rpc.errors import BOOTSTRAP_STATUS
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
# Python that puts a code into an HTTP answer: the RPC, and the refusal parser it uses.
PYTHON_SOURCES = sorted((ROOT / "rpc").glob("*.py")) + [ROOT / "kioskledger" / "protocol.py"]

# The functions of ours (not pgTAP's, not the test helpers'), with their bodies.
OUR_FUNCTIONS = """
SELECT p.oid::regprocedure::text, p.prosrc
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public', 'tap') AND n.nspname !~ '^pg_'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                    AND d.objid = p.oid AND d.deptype = 'e')
"""
# core.raise_error(...) / core.decline(...): the code must be a literal to be checked.
SQL_CALL = re.compile(r"\b(?:raise_error|decline)\s*\(\s*(?:'([A-Z][A-Z0-9_]*)')?")
# The ledger's trigger raises KL000 itself: ERRCODE = 'KL000', MESSAGE = [format(]'CODE: ...
SQL_KL000 = re.compile(r"ERRCODE\s*=\s*'KL000'\s*,\s*MESSAGE\s*=\s*(?:format\s*\(\s*)?'([A-Z][A-Z0-9_]*):")
# The functions that take a code as an argument and pass it on; the callers are checked.
CODE_CARRIERS = {"core.raise_error(text,text,jsonb,text)", "core.decline(text,text,jsonb)"}

PY_CALL = re.compile(r'(?<!class )\b(?:ApiError|Refusal)\(\s*(?:"([A-Z][A-Z0-9_]*)")?')
# Where Python passes on a code the database chose (covered by the SQL scan).
PY_FORWARDS = ("ApiError(ours.code,", "Refusal(code,")


def sql_codes(db) -> tuple[set[str], list[str]]:
    """(codes our functions can raise or decline with, places whose code cannot be read)."""
    codes, unreadable = set(), []
    for fn, src in db.execute(OUR_FUNCTIONS).fetchall():
        if fn in CODE_CARRIERS:
            continue
        for m in SQL_CALL.finditer(src):
            if m.group(1):
                codes.add(m.group(1))
            else:
                unreadable.append(f"{fn}: {src[m.start() : m.start() + 60]!r}")
        literal = SQL_KL000.findall(src)
        codes.update(literal)
        if src.count("KL000") != len(literal):
            unreadable.append(f"{fn}: raises KL000 without a literal 'CODE: ...' message")
    return codes, unreadable


def python_codes() -> tuple[set[str], list[str]]:
    codes, unreadable = set(), []
    for path in PYTHON_SOURCES:
        text = path.read_text()
        for m in PY_CALL.finditer(text):
            if m.group(1):
                codes.add(m.group(1))
            elif not text.startswith(PY_FORWARDS, m.start()):
                unreadable.append(f"{path.relative_to(ROOT)}: {text[m.start() : m.start() + 60]!r}")
    return codes, unreadable


def produced_codes(db) -> set[str]:
    sql, sql_unreadable = sql_codes(db)
    py, py_unreadable = python_codes()
    assert not sql_unreadable + py_unreadable, "codes this test cannot read (use a literal code)"
    return sql | py


def missing_codes(db) -> set[str]:
    listed = {code for (code,) in db.execute("SELECT code FROM core.error_codes").fetchall()}
    return produced_codes(db) - listed


def test_the_scan_finds_codes_of_every_kind(db):
    sql, _ = sql_codes(db)
    py, _ = python_codes()
    assert {"INSUFFICIENT_FUNDS", "CARD_NOT_FOUND", "FORBIDDEN"} <= sql, "decline, raise_error, ledger trigger"
    assert {"DATABASE_UNAVAILABLE", "PAYMENT_PROVIDER_ERROR", "SERVER_ERROR"} <= py


def test_every_code_answered_has_its_row(db):
    assert missing_codes(db) == set(), "add them to sql/00_core/20_error_codes.sql"


def test_a_code_without_its_row_is_caught(db):
    with db.transaction(force_rollback=True):
        db.execute("DELETE FROM core.error_codes WHERE code IN ('CARD_NOT_FOUND', 'PAYMENT_PROVIDER_ERROR')")
        assert missing_codes(db) == {"CARD_NOT_FOUND", "PAYMENT_PROVIDER_ERROR"}


def test_a_code_the_scan_cannot_read_is_caught(db):
    with db.transaction(force_rollback=True):
        db.execute("""CREATE FUNCTION core.test_computed_code(c text) RETURNS void LANGUAGE plpgsql AS $$
                      BEGIN PERFORM core.raise_error(c || '_NOT_FOUND', 'computed'); END $$""")
        _, unreadable = sql_codes(db)
        assert [u.split(":")[0] for u in unreadable] == ["core.test_computed_code(text)"]


def test_every_row_is_a_code_answered(db):
    listed = {code for (code,) in db.execute("SELECT code FROM core.error_codes").fetchall()}
    assert listed - produced_codes(db) == set(), "rows for codes nothing answers with: remove them"


def test_the_bootstrap_agrees_with_the_table(db):
    table = dict(db.execute("SELECT code, http_status FROM core.error_codes").fetchall())
    assert {code: table.get(code) for code in BOOTSTRAP_STATUS} == BOOTSTRAP_STATUS


def test_a_new_decline_needs_only_sql(db, client, admin_headers):
    db.execute("""CREATE FUNCTION api.test_teapot() RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER AS $$
                  BEGIN RETURN core.decline('TEST_TEAPOT', 'short and stout'); END $$""")
    db.execute("COMMENT ON FUNCTION api.test_teapot() IS 'test only: declines with TEST_TEAPOT'")
    db.execute("GRANT EXECUTE ON FUNCTION api.test_teapot() TO admin")

    def answer_once(loaded_when):
        resp = client.post("/rpc/test_teapot", headers=admin_headers)
        return resp if loaded_when(resp.status_code) else None

    try:
        db.execute(f"NOTIFY {RELOAD_CHANNEL}")
        # Without its row the decline is a bug: 500, the body still naming the code.
        resp = wait_for(
            lambda: answer_once(lambda status: status != 404), timeout=10, message="the server to load api.test_teapot"
        )
        assert resp.status_code == 500 and resp.json()["code"] == "TEST_TEAPOT", resp.text

        db.execute("INSERT INTO core.error_codes VALUES ('TEST_TEAPOT', 418, 'test only: a teapot')")
        db.execute(f"NOTIFY {RELOAD_CHANNEL}")
        resp = wait_for(
            lambda: answer_once(lambda status: status != 500),
            timeout=10,
            message="the server to load the TEST_TEAPOT row",
        )
        assert resp.status_code == 418, resp.text
        assert resp.json() == {"code": "TEST_TEAPOT", "message": "short and stout", "details": None, "hint": None}
    finally:
        db.execute("DROP FUNCTION api.test_teapot()")
        db.execute("DELETE FROM core.error_codes WHERE code = 'TEST_TEAPOT'")
        db.execute(f"NOTIFY {RELOAD_CHANNEL}")
