"""plpgsql_check over every PL/pgSQL function in our schemas: CREATE FUNCTION checks only
the syntax, so a wrong column, a bad cast or a typo in a rarely taken branch would
otherwise surface in production. Trigger functions are checked once per table that
fires them (their NEW/OLD rows depend on it). Errors always fail; a warning fails
unless ALLOWED lists it with its reason, and an ALLOWED entry that no longer matches
fails too, so the list cannot outlive its warnings."""

from __future__ import annotations

import pytest

SCHEMAS = ["api", "core", "ledger", "cards", "kiosk", "atm", "checkout", "dex", "upkeep"]

# (function, message) -> why the warning is intended.
ALLOWED = {
    (
        "core.decline(text,text,jsonb)",
        'never read variable "flag"',
    ): "set_config() as an assignment: cheaper than PERFORM, the value is not needed",
    (
        "core.idem_begin(text,text,jsonb)",
        'never read variable "flag"',
    ): "set_config() as an assignment: cheaper than PERFORM on the hot path, the value is not needed",
    (
        "core.raise_error(text,text,jsonb,text)",
        "routine is marked as VOLATILE, should be IMMUTABLE",
    ): "it raises: IMMUTABLE would let the planner call it while folding constants, raising in untaken branches",
    (
        "upkeep.run_job(text,text,boolean)",
        "text type variable is not sanitized",
    ): "it runs a job's SQL from upkeep.jobs, a table only the database owner can write",
    (
        "api.alerts(text,text,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.alert_events(bigint,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.card_history(text,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.checkout_orders(text,timestamp with time zone,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.machine_sales(text,date,date)",
        'name of parameter "from" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.machine_sales(text,date,date)",
        'name of parameter "to" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.atm_jobs(text,text,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.atm_transactions(date,text,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.checkout_refused_orders(text,boolean,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.festival_cards_attention(integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.festival_top_products(timestamp with time zone,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.refund_exports_list(integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
    (
        "api.refunds_list(text,integer)",
        'name of parameter "limit" is reserved keyword',
    ): "an API argument: its name is the JSON key clients send",
}

# Each target: a function, and the table a trigger function is checked against (0 for
# other functions), with the trigger's transition tables. Extension members are skipped.
TARGETS = """
WITH fns AS (
  SELECT p.oid, p.prorettype = 'trigger'::regtype AS is_trigger
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_language l ON l.oid = p.prolang
   WHERE l.lanname = 'plpgsql' AND n.nspname = ANY (%(schemas)s)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
)
SELECT f.oid, 0::oid AS relid, NULL::name AS oldtable, NULL::name AS newtable
  FROM fns f WHERE NOT f.is_trigger
UNION ALL
SELECT f.oid, t.tgrelid, t.tgoldtable, t.tgnewtable
  FROM fns f LEFT JOIN pg_trigger t ON t.tgfoid = f.oid AND NOT t.tgisinternal
 WHERE f.is_trigger
"""

CHECK = """
SELECT %(oid)s::oid::regprocedure::text, nullif(%(relid)s::oid, 0)::regclass::text, r.lineno, r.level, r.message, r.detail
  FROM plpgsql_check_function_tb(%(oid)s::oid::regprocedure, %(relid)s::oid::regclass,
                                 fatal_errors => false, all_warnings => true,
                                 oldtable => %(oldtable)s, newtable => %(newtable)s) r
"""


def check_all(conn) -> tuple[int, list[tuple]]:
    """(functions checked, every finding as (function, table, line, level, message, detail))."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
    targets = conn.execute(TARGETS, {"schemas": SCHEMAS}).fetchall()
    findings = []
    for oid, relid, oldtable, newtable in targets:
        if relid is None:  # a trigger function no table fires: nothing to check it against
            name = conn.execute("SELECT %s::oid::regprocedure::text", [oid]).fetchone()[0]
            findings.append((name, None, None, "error", "trigger function is not attached to any table", None))
            continue
        params = {"oid": oid, "relid": relid, "oldtable": oldtable, "newtable": newtable}
        findings += conn.execute(CHECK, params).fetchall()
    return len({t[0] for t in targets}), findings


def describe(finding) -> str:
    fn, table, line, level, message, detail = finding
    where = fn + (f" on {table}" if table else "") + (f" line {line}" if line else "")
    return f"{where}: {level}: {message}" + (f" ({detail})" if detail else "")


def test_every_plpgsql_function_passes_plpgsql_check(db):
    checked, findings = check_all(db)
    assert checked > 0, "no PL/pgSQL function found: the query, not the code, is wrong"
    findings.sort(key=lambda f: (f[0], f[1] or "", f[2] or 0, f[4]))

    errors = [f for f in findings if f[3] == "error"]
    if errors:
        pytest.fail("plpgsql_check errors:\n" + "\n".join(map(describe, errors)), pytrace=False)

    warnings = [f for f in findings if f[3] != "error"]
    unexpected = [f for f in warnings if (f[0], f[4]) not in ALLOWED]
    if unexpected:
        pytest.fail(
            "new plpgsql_check warnings (fix them, or add an intended one to ALLOWED with its reason):\n"
            + "\n".join(map(describe, unexpected)),
            pytrace=False,
        )

    stale = sorted(set(ALLOWED) - {(f[0], f[4]) for f in warnings})
    if stale:
        pytest.fail(
            "ALLOWED entries that match no warning any more (remove them):\n"
            + "\n".join(f"{fn}: {message}" for fn, message in stale),
            pytrace=False,
        )
