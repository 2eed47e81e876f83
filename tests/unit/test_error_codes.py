"""The RPC's code -> status lookup before core.error_codes is loaded, and after."""

from __future__ import annotations

import logging

from rpc.errors import ErrorCodes


def test_before_the_table_is_loaded_the_transport_still_answers():
    codes = ErrorCodes()
    assert codes.status("DATABASE_UNAVAILABLE") == 503
    assert codes.status("UNAUTHENTICATED") == 401
    assert codes.status("NOT_FOUND") == 404


def test_the_table_decides_once_loaded():
    codes = ErrorCodes()
    codes.load({"CARD_NOT_FOUND": 404, "TEST_TEAPOT": 418})
    assert codes.status("TEST_TEAPOT") == 418
    assert codes.status("CARD_NOT_FOUND") == 404
    assert codes.status("DATABASE_UNAVAILABLE") == 503, "the bootstrap stays under the table"


def test_an_unknown_code_is_500_and_logged_once_per_load(caplog):
    codes = ErrorCodes()
    codes.load({"CARD_NOT_FOUND": 404})
    with caplog.at_level(logging.WARNING, logger="rpc.errors"):
        assert codes.status("NO_SUCH_CODE") == 500
        assert codes.status("NO_SUCH_CODE") == 500
    warnings = [r.getMessage() for r in caplog.records if "NO_SUCH_CODE" in r.getMessage()]
    assert len(warnings) == 1 and "sql/00_core/20_error_codes.sql" in warnings[0], warnings


def test_database_unavailable_says_the_work_may_have_committed_and_a_retry_is_safe():
    import asyncio

    import psycopg
    from psycopg_pool import PoolTimeout

    from rpc import database
    from rpc.errors import ApiError, from_database

    class NoConnection:
        async def getconn(self, timeout=None):
            raise PoolTimeout("no connection")

    lost = from_database(psycopg.OperationalError("server closed the connection unexpectedly"), "admin")
    try:
        asyncio.run(database.call(NoConnection(), "SELECT 1", [], "admin", "{}", 1000, False))
    except ApiError as err:
        waited = err
    for err in (lost, waited):
        assert err.code == "DATABASE_UNAVAILABLE" and err.status == 503
        hint = err.body()["hint"] or ""
        assert "may have committed" in hint and "same request_id" in hint, hint
